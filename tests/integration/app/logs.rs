//! Observability: each flow step and rejection is a `tracing` event, and no event ever holds a
//! secret, a token, a code or a cookie value.

use crate::common::app;
use crate::common::browser::Browser;
use crate::common::captured_logs;

#[tokio::test(flavor = "current_thread")]
async fn flow_steps_are_logged_without_any_secret() {
    let captured = captured_logs::capture();

    let app = app::start().await;
    let browser = Browser::new();
    let (callback, secrets) = app.facebook_login_secrets(&browser).await;
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
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the logs hold the {what}:\n{logs}");
    }
}
