//! Item 17: key rotation. Identity tokens signed under a previous secret are accepted while
//! that secret is listed in `previous_secrets`, and are anonymous once it is removed;
//! nothing about a rotation is ever a 500.
//! Rotation is the builder call `.previous_secrets([old_secret])`.

use crate::common::app::{self, SECRET};
use crate::common::browser::Browser;
use crate::common::forge::{claims_for, forge, issued_identity_token, sign_raw};
use crate::security::support::{call, direct, request, who_with_cookie};
use socialauth::{SocialAuthLayer, SocialAuthLayerBuilder, Twitter};

const NEW_SECRET: &[u8] = b"the-new-secret-the-new-secret-32";
const OTHER_SECRET: &[u8] = b"an-unrelated-secret-unrelated-32";

fn with_secrets(current: &[u8], previous: &[&[u8]]) -> SocialAuthLayerBuilder {
    SocialAuthLayer::builder()
        .secret(current)
        .previous_secrets(previous.iter().copied())
        .provider(Twitter::new("k", "s"))
}

#[tokio::test]
async fn item_17_old_key_tokens_work_during_the_overlap_and_are_anonymous_after_it() {
    // Issued by a real login under the old secret (the test apps' SECRET).
    let old_token = issued_identity_token().await;
    let forged_old = forge(&claims_for("victim")).await;
    let cookie = |token: &str| format!("__Host-socialauth={token}");

    let before = direct(with_secrets(SECRET, &[]));
    let overlap = direct(with_secrets(NEW_SECRET, &[SECRET]));
    let after = direct(with_secrets(NEW_SECRET, &[]));
    let unrelated = direct(with_secrets(NEW_SECRET, &[OTHER_SECRET]));

    for token in [&old_token, &forged_old] {
        assert_ne!(who_with_cookie(&before, &cookie(token)).await, "anonymous");
        assert_ne!(
            who_with_cookie(&overlap, &cookie(token)).await,
            "anonymous",
            "an old-key token must be accepted while the old secret is listed"
        );
        assert_eq!(who_with_cookie(&after, &cookie(token)).await, "anonymous");
        assert_eq!(
            who_with_cookie(&unrelated, &cookie(token)).await,
            "anonymous"
        );
        // As a bearer token too.
        let bearer = format!("Bearer {token}");
        let response = call(
            &after,
            request("/maybe", &[("authorization", bearer.as_bytes())]),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), "anonymous");
    }

    // A token signed with the new key but naming the old key's id, and the reverse: the
    // key named is the key that must verify.
    let old_header = crate::common::forge::genuine_header().await;
    let swapped = sign_raw(&old_header, claims_for("victim"), NEW_SECRET);
    assert_eq!(
        who_with_cookie(&overlap, &cookie(&swapped)).await,
        "anonymous"
    );
    assert_eq!(
        who_with_cookie(&after, &cookie(&swapped)).await,
        "anonymous"
    );
}

#[tokio::test]
async fn item_17_a_rotation_is_never_a_500() {
    let old_token = issued_identity_token().await;
    let twitter = crate::common::fake_twitter::start(Default::default()).await;
    let facebook = crate::common::fake_facebook::start(Default::default()).await;
    for previous in [vec![SECRET], vec![], vec![OTHER_SECRET, SECRET]] {
        let layer = app::builder(&twitter, &facebook)
            .secret(NEW_SECRET)
            .previous_secrets(previous.iter().copied())
            .build()
            .unwrap();
        let base = app::serve_layer(layer).await;
        let accepted = previous.contains(&SECRET);
        let browser = Browser::new();
        let cookie = format!("__Host-socialauth={old_token}");
        let maybe = browser
            .get_with_headers(&format!("{base}/maybe"), &[("cookie", &cookie)])
            .await;
        assert_eq!(maybe.status(), 200);
        assert_eq!(
            maybe.text().await.unwrap() != "anonymous",
            accepted,
            "{previous:?}"
        );
        let whoami = browser
            .get_with_headers(&format!("{base}/whoami"), &[("cookie", &cookie)])
            .await;
        assert_eq!(whoami.status(), if accepted { 200 } else { 401 });
        // A whole login under the new secret works in every configuration.
        let visit = browser
            .follow(&format!("{base}/auth/facebook?login=start"))
            .await;
        assert_eq!(visit.status, 200, "{}", visit.body);
        let who = browser.follow(&format!("{base}/maybe")).await.body;
        assert_eq!(who, "10001");
        // A login started before the rotation (its flow cookie sealed under the old
        // secret) and finished after it: completed during the overlap or refused with a
        // 400, never a 500.
        let old_app = app::start().await;
        let old_browser = Browser::new();
        let started = old_browser
            .get(&old_app.url("/auth/facebook?login=start"))
            .await;
        let flow = crate::security::support::set_cookies(started.headers())
            .into_iter()
            .next()
            .unwrap();
        assert!(flow.contains("socialauth-flow"));
        let callback = base.clone() + "/auth/facebook?code=x&state=y";
        let reply = Browser::new()
            .get_with_headers(&callback, &[("cookie", flow.split(';').next().unwrap())])
            .await;
        assert_ne!(reply.status(), 500);
    }
}
