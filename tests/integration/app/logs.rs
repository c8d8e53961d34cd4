//! Observability: each flow step and rejection is a `tracing` event, and no event ever holds a
//! secret, a token, a code or a cookie value.

use crate::common::app;
use crate::common::browser::{query_param, Browser};
use crate::common::captured_logs;

#[tokio::test(flavor = "current_thread")]
async fn flow_steps_are_logged_without_any_secret() {
    let captured = captured_logs::capture();

    let app = app::start().await;
    let browser = Browser::new();
    // A Facebook login, step by step, keeping every secret value it involves.
    let callback = browser
        .callback_from(&app.url("/auth/facebook?login=start"))
        .await;
    let flow_cookie = browser
        .cookie_header_for(&app.url("/auth/facebook"))
        .unwrap();
    let (code, state) = (
        query_param(&callback, "code").unwrap(),
        query_param(&callback, "state").unwrap(),
    );
    assert_eq!(browser.follow(&callback).await.status, 200);
    let identity = browser.cookie("__Host-socialauth").unwrap();
    // A Twitter login, and a rejected callback with a forged state.
    assert_eq!(
        browser
            .follow(&app.url("/auth/twitter?login=start"))
            .await
            .status,
        200
    );
    browser
        .get(&callback.replace("state=", "state=forged"))
        .await;

    let logs = captured.text();
    for step in ["login started", "login succeeded", "provider answered"] {
        assert!(logs.contains(step), "no {step:?} event in:\n{logs}");
    }
    let flow_value = flow_cookie.split_once('=').unwrap().1.to_owned();
    for (what, secret) in [
        ("app secret", "fb-app-secret".to_owned()),
        ("consumer secret", "cs-test-secret".to_owned()),
        ("code", code),
        ("state", state),
        ("identity token", identity),
        ("flow cookie", flow_value),
    ] {
        assert!(!logs.contains(&secret), "the logs hold the {what}:\n{logs}");
    }
}
