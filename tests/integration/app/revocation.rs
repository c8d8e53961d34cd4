//! Revocation in one process ([`InMemoryStore`]): logout ends the session for every copy of
//! its cookie, "sign out everywhere" ends all of a user's sessions, the app's handle revokes
//! from its own code, and bearer tokens and sliding renewal go through the same check.

use std::time::Duration;

use crate::common::app::{self, json_of, App, Stack, IDENTITY_COOKIE};
use crate::common::browser::Browser;
use crate::common::forge;
use socialauth::revocation::{InMemoryStore, Revocations};

async fn revocations() -> Revocations {
    Revocations::builder(InMemoryStore::new())
        .start()
        .await
        .expect("an in-memory store always starts")
}

async fn app_with(revocations: &Revocations) -> App {
    let revocations = revocations.clone();
    app::start_with(Stack::Axum, move |b| {
        b.revocation(revocations).token_endpoint(true)
    })
    .await
}

#[tokio::test]
async fn logout_ends_the_session_for_a_copy_of_its_cookie_and_no_other_session() {
    let revocations = revocations().await;
    let app = app_with(&revocations).await;
    let (browser, stolen) = app.signed_in().await;
    let (_, other_device) = app.signed_in().await;
    assert_eq!(app.who(&stolen).await, "10001");

    let visit = browser.post_follow(&app.url("/auth/logout"), &[]).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert!(browser.cookie(IDENTITY_COOKIE).is_none());
    assert_eq!(app.who(&stolen).await, "anonymous");
    assert_eq!(app.who(&other_device).await, "10001");
    assert_eq!(revocations.len(), 1);

    // Without revocation, the same copy outlives the logout (the gap revocation closes).
    let plain = app::start().await;
    let (browser, copy) = plain.signed_in().await;
    browser.post_follow(&plain.url("/auth/logout"), &[]).await;
    assert_eq!(plain.who(&copy).await, "10001");
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_user_and_later_logins_work() {
    let revocations = revocations().await;
    let app = app_with(&revocations).await;
    let (browser, first) = app.signed_in().await;
    let (_, second) = app.signed_in().await;

    let visit = browser
        .post_follow(&app.url("/auth/logout?everywhere=1"), &[])
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert_eq!(app.who(&first).await, "anonymous");
    assert_eq!(app.who(&second).await, "anonymous");

    let (_, after) = app.signed_in().await;
    assert_eq!(app.who(&after).await, "10001");

    // Without revocation configured, "everywhere" cannot be honoured: said, not ignored.
    let plain = app::start().await;
    let (browser, _) = plain.signed_in().await;
    let refused = browser
        .post(&plain.url("/auth/logout?everywhere=1"), &[])
        .await;
    crate::common::app::assert_error(refused, 400, "invalid_request").await;
}

#[tokio::test]
async fn the_apps_handle_revokes_one_session_or_a_user() {
    let revocations = revocations().await;
    let app = app_with(&revocations).await;
    let (browser, first) = app.signed_in().await;
    let (_, second) = app.signed_in().await;

    let session = browser.follow(&app.url("/session")).await.body;
    assert_eq!(session.len(), 22, "{session}");
    revocations
        .revoke_session(session.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(app.who(&first).await, "anonymous");
    assert_eq!(app.who(&second).await, "10001");

    revocations.revoke_user("facebook", "10001").await.unwrap();
    assert_eq!(app.who(&second).await, "anonymous");
    // Another user's id at another provider is not touched.
    revocations.revoke_user("twitter", "10001").await.unwrap();
    let (_, third) = app.signed_in().await;
    assert_eq!(app.who(&third).await, "10001");
}

#[tokio::test]
async fn a_bearer_token_dies_with_its_session() {
    let revocations = revocations().await;
    let app = app_with(&revocations).await;
    let (browser, _) = app.signed_in().await;
    let answer = browser.follow(&app.url("/auth/token")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let bearer = format!(
        "Bearer {}",
        json_of(&answer.body)["token"].as_str().unwrap()
    );
    let api = Browser::new();
    let url = app.url("/maybe");
    let headers = [("authorization", bearer.as_str())];
    let answer = api.get_with_headers(&url, &headers).await;
    assert_eq!(answer.text().await.unwrap(), "10001");

    browser.post_follow(&app.url("/auth/logout"), &[]).await;
    let answer = api.get_with_headers(&url, &headers).await;
    assert_eq!(answer.text().await.unwrap(), "anonymous");
}

#[tokio::test]
async fn sliding_renewal_never_revives_a_revoked_session() {
    let revocations = revocations().await;
    let handle = revocations.clone();
    let app = app::start_with(Stack::Axum, move |b| {
        b.revocation(handle)
            .identity_lifetime(Duration::from_secs(4))
            .sliding_renewal(true)
    })
    .await;
    let (browser, first) = app.signed_in().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Past half its life: renewed, in the same session.
    let renewed = browser.get(&app.url("/maybe")).await;
    assert!(renewed.headers().get("set-cookie").is_some());
    let second = browser.cookie(IDENTITY_COOKIE).unwrap();
    assert_ne!(first, second);
    let session = browser.follow(&app.url("/session")).await.body;
    revocations
        .revoke_session(session.parse().unwrap())
        .await
        .unwrap();
    for cookie in [&first, &second] {
        let header = format!("{IDENTITY_COOKIE}={cookie}");
        let answer = Browser::new()
            .get_with_headers(&app.url("/maybe"), &[("cookie", &header)])
            .await;
        assert!(
            answer.headers().get("set-cookie").is_none(),
            "a revoked session was renewed"
        );
        assert_eq!(answer.text().await.unwrap(), "anonymous");
    }
}

#[tokio::test]
async fn with_revocation_a_token_without_a_session_id_is_refused() {
    // Signed with the layer's key, but not by the layer: no `sid`.
    let forged = forge::forge(&forge::claims_for("10001")).await;
    let plain = app::start().await;
    assert_eq!(plain.who(&forged).await, "10001");
    let revocations = revocations().await;
    let app = app_with(&revocations).await;
    assert_eq!(app.who(&forged).await, "anonymous");
}
