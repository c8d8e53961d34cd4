//! Observability: each flow step and rejection is a `tracing` event, and no event ever holds a
//! secret, a token, a code or a cookie value.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::app;
use common::browser::Browser;
use http::header::LOCATION;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn query_value(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn flow_steps_are_logged_without_any_secret() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("socialauth", tracing::Level::TRACE),
            ),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = app::start().await;
    let browser = Browser::new();
    // A Facebook login, step by step, keeping every secret value it involves.
    let start = browser.get(&app.url("/auth/facebook?login=start")).await;
    let dialog = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let flow_cookie = browser
        .cookie_header_for(&app.url("/auth/facebook"))
        .unwrap();
    let back = browser.get(&dialog).await;
    let callback = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let (code, state) = (
        query_value(&callback, "code"),
        query_value(&callback, "state"),
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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for step in ["login started", "login completed", "provider answered"] {
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
