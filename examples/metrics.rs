//! The layer's metrics in Prometheus's text format on `/metrics`, beside an axum app with
//! a login: `metrics-exporter-prometheus` as the `metrics` recorder, rendered by an axum
//! route (the exporter's own HTTP listener, a second server stack, stays off).
//!
//! ```sh
//! cargo run --example metrics --features axum,dev-provider,metrics
//! ```
//!
//! Sign in at <http://127.0.0.1:3000/auth/dev?login=start>, then read
//! <http://127.0.0.1:3000/metrics>: `socialauth_logins_started_total`,
//! `socialauth_logins_succeeded_total`, `socialauth_logins_failed_total` (by provider and
//! error code), `socialauth_provider_call_duration_seconds` (by provider and endpoint kind)
//! and `socialauth_identity_checks_total` (by outcome).

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use socialauth::dev_provider::DevProvider;
use socialauth::{Identity, SocialAuthLayer};

/// Installs the Prometheus recorder as the process's `metrics` recorder. Call it before
/// building the layer: the layer registers its per-request counters when it is built.
pub fn install_recorder() -> Result<PrometheusHandle, Box<dyn std::error::Error>> {
    let handle = PrometheusBuilder::new()
        // Provider calls take milliseconds to seconds: buckets make a real histogram (the
        // exporter's default is a summary, which replicas cannot add up).
        .set_buckets_for_metric(
            Matcher::Full("socialauth_provider_call_duration_seconds".to_owned()),
            &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
        )?
        .install_recorder()?;
    // Without the exporter's listener nobody runs its upkeep (draining histogram samples):
    // a task does, every few seconds.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The app: a page behind the layer, and `/metrics` beside it (outside the layer, so
/// scrapes are not counted as identity checks).
pub fn app(auth: SocialAuthLayer, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: Option<Identity>| async move {
                match user {
                    Some(user) => format!("hello, {}", user.display_name()),
                    None => "hello, stranger: sign in at /auth/dev?login=start".to_owned(),
                }
            }),
        )
        .layer(auth)
        .route("/metrics", get(move || async move { metrics.render() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = install_recorder()?;
    let dev = DevProvider::start("127.0.0.1:0".parse()?).await?;
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret)?;
    let auth = SocialAuthLayer::builder()
        .secret(secret)
        .provider(dev.oidc())
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000/ (metrics on /metrics)");
    axum::serve(listener, app(auth, metrics)).await?;
    Ok(())
}
