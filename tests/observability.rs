//! What operators see: the `on_event` hook, `tracing` spans and events, and the metrics
//! (through `examples/metrics.rs`'s Prometheus recorder), for whole logins and failed ones,
//! and that none of it holds a secret, a code, a token or a cookie value.

// The tests' harness; this binary uses a part of it, `tests/integration/` shows its dead
// code.
#[allow(dead_code)]
mod common;

#[allow(dead_code)]
#[path = "../examples/metrics.rs"]
mod metrics_example;

use std::sync::{Arc, Mutex, OnceLock};

use common::app::{self, Stack};
use common::browser::Browser;
use common::captured_logs;
use common::forge;
use metrics_exporter_prometheus::PrometheusHandle;
use socialauth::dev_provider::DevProvider;
use socialauth::{AuthErrorKind, AuthEvent};

/// The process's one `metrics` recorder, installed by the example's code before any layer
/// of this binary is built.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| metrics_example::install_recorder().unwrap())
}

/// The value of the metric line that starts with `series` (name and labels), if any.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// The metrics example's app behind a layer with the dev provider, served on a free port
/// with `recorder()`: the provider (keep it alive) and the base URL.
async fn serve_metrics_example() -> (DevProvider, String) {
    let (dev, auth) = app::dev_layer().await;
    let (listener, base) = app::listen().await;
    let metrics = recorder().clone();
    tokio::spawn(async move {
        axum::serve(listener, metrics_example::app(auth, metrics))
            .await
            .unwrap()
    });
    (dev, base)
}

#[tokio::test]
async fn the_metrics_example_counts_logins_failures_and_provider_calls() {
    let (_dev, base) = serve_metrics_example().await;

    let browser = Browser::new();
    // A whole login with the dev provider's form, then a page with the identity cookie.
    let visit = app::dev_sign_in(&browser, &base, "Ada", "ada@example.com").await;
    assert_eq!(visit.body, "hello, Ada", "{:?}", visit.hops);
    // A callback this browser never started: no flow cookie.
    let failed = Browser::new()
        .get(&format!("{base}/auth/dev?code=stolen&state=unknown"))
        .await;
    assert_eq!(failed.status(), 400);

    let scraped = browser.follow(&format!("{base}/metrics")).await;
    assert_eq!(scraped.status, 200);
    let text = scraped.body;
    for (series, expected) in [
        (r#"socialauth_logins_started_total{provider="dev"}"#, 1.0),
        (r#"socialauth_logins_succeeded_total{provider="dev"}"#, 1.0),
        (
            r#"socialauth_logins_failed_total{provider="dev",error="missing_flow_cookie"}"#,
            1.0,
        ),
        (
            r#"socialauth_provider_call_duration_seconds_count{provider="dev",endpoint="token"}"#,
            1.0,
        ),
    ] {
        assert_eq!(
            metric(&text, series),
            Some(expected),
            "{series} in:\n{text}"
        );
    }
    // The page after the login checked the identity cookie; other tests of this binary
    // count too, so at least one.
    let valid = metric(
        &text,
        r#"socialauth_identity_checks_total{outcome="valid"}"#,
    );
    assert!(valid.is_some_and(|n| n >= 1.0), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn events_spans_and_metrics_hold_no_secret() {
    recorder();
    let captured = captured_logs::capture_with_spans();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let app = app::start_with(Stack::Axum, move |builder| {
        builder.on_event(move |event: &AuthEvent| seen.lock().unwrap().push(event.clone()))
    })
    .await;

    let browser = Browser::new();
    let (callback, mut secrets) = app.facebook_login_secrets(&browser).await;
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");
    // The same callback again, its state forged: no flow cookie has that name.
    let forged = browser
        .get(&callback.replace("state=", "state=forged"))
        .await;
    assert_eq!(forged.status(), 400);
    assert_eq!(
        browser.post(&app.url("/auth/logout"), &[]).await.status(),
        303
    );

    // What the app's hook saw.
    let events = events.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0].name(), "login_succeeded");
    assert_eq!(events[0].provider(), Some("facebook"));
    assert_eq!(events[0].user_id(), Some("10001"));
    assert!(!events[0].added_claims());
    assert_eq!(events[1].error(), Some(AuthErrorKind::MissingFlowCookie));
    assert_eq!(events[1].provider(), Some("facebook"));
    assert_eq!(events[2].name(), "logout");
    assert_eq!(events[2].user_id(), Some("10001"));

    // What a subscriber saw: the spans, with their fields, and the info events.
    let logs = captured.text();
    for expected in [
        "socialauth.login",
        r#"leg="start""#,
        r#"leg="callback""#,
        "socialauth.provider_call",
        r#"endpoint="token""#,
        r#"endpoint="profile""#,
        "status=200",
        "duration_ms=",
        "login succeeded",
        r#"error="missing_flow_cookie""#,
        "socialauth.logout",
    ] {
        assert!(logs.contains(expected), "no {expected:?} in:\n{logs}");
    }
    // Passed-through requests (`/maybe`) open no span: only auth routes and provider calls.
    let span_names: Vec<&str> = logs.lines().filter(|line| line.contains(": new")).collect();
    assert!(
        span_names.iter().all(|line| line.contains("socialauth.")),
        "{span_names:?}"
    );

    let metrics = recorder().render();
    let hooked = format!("{events:?}");
    // The fake's access tokens all start so.
    secrets.push(("access token", "EAA".to_owned()));
    for (what, secret) in secrets {
        for (place, text) in [("logs", &logs), ("events", &hooked), ("metrics", &metrics)] {
            assert!(
                !text.contains(&secret),
                "the {place} hold the {what}:\n{text}"
            );
        }
    }
}

#[tokio::test]
async fn identity_checks_are_counted_by_outcome() {
    let (_dev, base) = serve_metrics_example().await;
    let now = common::clock::now();
    let mut expired = forge::identity_claims("10001");
    expired["iat"] = (now - 1200).into();
    expired["exp"] = (now - 900).into();
    let expired = forge::forge(&expired.to_string()).await;
    let count = |outcome: &str| {
        let series = format!(r#"socialauth_identity_checks_total{{outcome="{outcome}"}}"#);
        metric(&recorder().render(), &series).unwrap_or(0.0)
    };
    let before = ["absent", "invalid", "expired"].map(count);

    let client = Browser::new();
    let page = |cookie: String| {
        let client = &client;
        let url = format!("{base}/");
        async move {
            let headers: Vec<(&str, &str)> = if cookie.is_empty() {
                Vec::new()
            } else {
                vec![("cookie", cookie.as_str())]
            };
            client.get_with_headers(&url, &headers).await.status()
        }
    };
    assert_eq!(page(String::new()).await, 200);
    assert_eq!(
        page(format!("{}=not-a-token", app::IDENTITY_COOKIE)).await,
        200
    );
    assert_eq!(
        page(format!("{}={expired}", app::IDENTITY_COOKIE)).await,
        200
    );

    let after = ["absent", "invalid", "expired"].map(count);
    assert_eq!(
        [
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2]
        ],
        [1.0, 1.0, 1.0],
        "{}",
        recorder().render()
    );
}

#[tokio::test]
async fn a_panicking_hook_changes_no_answer() {
    let app = app::start_with(Stack::Axum, |builder| {
        builder.on_event(|event: &AuthEvent| panic!("the app's hook fails on {}", event.name()))
    })
    .await;
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");
    let refused = browser
        .get(&app.url("/auth/facebook?code=c&state=unknown"))
        .await;
    assert_eq!(refused.status(), 400);
}

/// Polls `recorder()`'s text until `done` says yes, for at most 10 s: the text then.
async fn scrape_until(what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = recorder().render();
        if done(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {what}: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn the_revocation_copy_is_measured_and_redis_failures_are_counted() {
    use socialauth::revocation::{RedisStore, Revocations};
    use std::time::Duration;

    recorder();
    let mut redis = common::redis::RedisServer::start().await;
    let store = RedisStore::connect(&redis.url()).await.unwrap();
    let revocations = Revocations::builder(store)
        .staleness(Duration::from_millis(600))
        .ping_every(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    // A layer using it, as on a real replica.
    let handle = revocations.clone();
    let _app = app::start_with(Stack::Axum, move |b| b.revocation(handle)).await;
    revocations.revoke_user("dev", "ada").await.unwrap();
    revocations.revoke_user("dev", "grace").await.unwrap();
    let current = scrape_until("two facts in a current copy", |text| {
        metric(text, "socialauth_revocation_facts ") == Some(2.0)
            && metric(text, "socialauth_revocation_copy_stale ") == Some(0.0)
    })
    .await;
    let age = metric(&current, "socialauth_revocation_copy_age_seconds ").unwrap();
    assert!(age < 0.6, "a current copy's age: {age}");
    let errors_before =
        metric(&current, "socialauth_revocation_store_errors_total ").unwrap_or(0.0);

    // Redis dies: the failures are counted, the copy ages past the staleness and says so,
    // and still holds its facts.
    redis.kill();
    let stale = scrape_until("a stale copy and a counted failure", |text| {
        metric(text, "socialauth_revocation_copy_stale ") == Some(1.0)
            && metric(text, "socialauth_revocation_store_errors_total ")
                .is_some_and(|errors| errors > errors_before)
    })
    .await;
    let age = metric(&stale, "socialauth_revocation_copy_age_seconds ").unwrap();
    assert!(age > 0.6, "a stale copy's age: {age}");
    assert_eq!(metric(&stale, "socialauth_revocation_facts "), Some(2.0));
    drop(revocations);
}
