//! Back-channel logout against panva's `oidc-provider` (its `backchannelLogout` feature):
//! two replicas of the app share a real Redis; a user signs out at oidc-provider itself (its
//! end-session page, as an administrator ending the session would), oidc-provider POSTs a
//! logout token to one replica, and a copy of the identity cookie stops working on both.

use std::time::{Duration, Instant};

use socialauth::revocation::{RedisStore, Revocations};
use socialauth::{Oidc, SocialAuthLayer};

use super::interop_oidc_provider::{
    serve_later, sign_in_and_consent, Form, Setup, CLIENT_ID, CLIENT_SECRET,
};
use crate::common::app::{self, json_of, IDENTITY_COOKIE};
use crate::common::browser::Browser;
use crate::common::redis::RedisServer;

/// A replica's layer: the same secret as the other, its own connection to Redis.
async fn replica_layer(issuer: &str, redis_url: &str) -> SocialAuthLayer {
    let store = RedisStore::connect(redis_url)
        .await
        .expect("redis reachable");
    let revocations = Revocations::builder(store)
        .start()
        .await
        .expect("first load");
    SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(Oidc::new(issuer, CLIENT_ID, CLIENT_SECRET).backchannel_logout(true))
        .revocation(revocations)
        .build()
        .expect("valid layer configuration")
}

/// Who `cookie` signs in as on the app at `base`: the user id, or `anonymous`.
async fn who(base: &str, cookie: &str) -> String {
    let response = reqwest::Client::new()
        .get(format!("{base}/whoami"))
        .header("cookie", format!("{IDENTITY_COOKIE}={cookie}"))
        .send()
        .await
        .expect("whoami answers");
    match response.status().as_u16() {
        200 => json_of(&response.text().await.expect("body"))["user_id"]
            .as_str()
            .expect("a user id")
            .to_owned(),
        401 => "anonymous".to_owned(),
        other => panic!("whoami answered {other}"),
    }
}

/// Signs `login` in at oidc-provider through replica `a`, in a browser of its own: the
/// browser (holding oidc-provider's session cookie) and the identity cookie.
async fn signed_in(setup: &Setup, login: &str) -> (Browser, String) {
    let browser = Browser::new();
    let done = sign_in_and_consent(setup, &browser, login).await;
    assert_eq!(done.final_url, setup.url("/"), "{:?}", done.hops);
    let cookie = browser.cookie(IDENTITY_COOKIE).expect("identity cookie");
    (browser, cookie)
}

#[tokio::test]
async fn signing_out_at_oidc_provider_signs_that_session_out_of_every_replica() {
    let redis = RedisServer::start().await;
    let (a, slot_a) = serve_later().await;
    let (b, slot_b) = serve_later().await;
    let provider = super::interop_oidc_provider::start_with_backchannel(
        &format!("{a}/auth/oidc"),
        &format!("{a}/"),
        None,
        Some(&format!("{a}/auth/oidc/backchannel-logout")),
    )
    .await;
    let issuer = provider.issuer.clone();
    for (slot, _) in [(&slot_a, &a), (&slot_b, &b)] {
        let layer = replica_layer(&issuer, &redis.url()).await;
        assert!(slot.set(app::axum_app().layer(layer)).is_ok());
    }
    let setup = Setup {
        base_url: a.clone(),
        provider,
    };

    // Erin signs in twice, from two browsers: two sessions at oidc-provider.
    let (first, ended) = signed_in(&setup, "erin").await;
    let (_second, kept) = signed_in(&setup, "erin").await;
    for replica in [&a, &b] {
        for cookie in [&ended, &kept] {
            assert_eq!(who(replica, cookie).await, "erin");
        }
    }

    // In the first browser, Erin signs out at oidc-provider itself: its end-session page,
    // then "Yes, sign me out" (which ends the session for every client of it).
    let confirm = first
        .follow(&format!(
            "{issuer}/session/end?client_id={}",
            url::form_urlencoded::byte_serialize(CLIENT_ID.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(confirm.status, 200, "{:?}\n{}", confirm.hops, confirm.body);
    assert!(
        confirm.body.contains("Do you want to sign-out"),
        "{}",
        confirm.body
    );
    let form = Form::first_in(&confirm.body);
    let started = Instant::now();
    let done = first
        .post_follow(
            &form.action_url(&confirm.final_url),
            &form.submission(&[("logout", "yes")]),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}\n{}", done.hops, done.body);

    // Anonymous on both replicas within 2 s (oidc-provider called replica a; b heard of it
    // through Redis).
    let mut took = Vec::new();
    for replica in [&a, &b] {
        loop {
            if who(replica, &ended).await == "anonymous" {
                took.push(started.elapsed());
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "the ended session still works on {replica} after 2 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    eprintln!("provider logout -> anonymous on both replicas: {took:?}");

    // The second browser's sign-in came from another oidc-provider session: the logout
    // token's sid does not reach it, on either replica.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for replica in [&a, &b] {
        assert_eq!(who(replica, &kept).await, "erin", "on {replica}");
    }
}
