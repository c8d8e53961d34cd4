//! Per-customer sign-in at scale: ten thousand tenants resolved one after another keep the
//! layer's memory within its tenant cache's bound.

use std::time::Duration;

use socialauth::tenants::{TenantError, TenantKey, Tenants};
use socialauth::{Oidc, Provider, SocialAuthLayer};
use tower::ServiceExt;

use crate::common::app::{self, SECRET};
use crate::load::serial;
use crate::support::{live_heap, rss_kib};

const TENANTS: usize = 10_000;
const CACHED: usize = 1_000;

#[tokio::test]
async fn ten_thousand_tenants_stay_within_the_cache_bound() {
    let _serial = serial().await;
    let tenants = Tenants::new(|tenant: TenantKey| async move {
        let issuer = format!("https://{tenant}.idp.example");
        Ok::<_, TenantError>(Some(Provider::from(Oidc::new(issuer, "app", "secret"))))
    })
    .max_cached(CACHED)
    .cache_ttl(Duration::from_secs(3600));
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .tenants(tenants.clone())
        .build()
        .unwrap();
    let app = app::axum_app().layer(layer);
    let mut heap = Vec::new();
    let mut rss = Vec::new();
    for i in 0..TENANTS {
        // The tenant's route without a query: resolved (and cached), then answered 400.
        let request = http::Request::get(format!("/auth/sso/t{i}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 400, "tenant t{i}");
        if (i + 1) % 1000 == 0 {
            heap.push(live_heap());
            rss.push(rss_kib());
        }
    }
    eprintln!("tenants: live heap every 1,000 tenants (bytes): {heap:?}; RSS (KiB): {rss:?}");
    assert_eq!(tenants.cached(), CACHED);
    // The cache is full after the first thousand; nine thousand more tenants add nothing
    // but noise (an entry is a few KiB: unbounded, they would add tens of MiB).
    let growth = heap[TENANTS / 1000 - 1] - heap[0];
    assert!(
        growth < 2 * 1024 * 1024,
        "live heap grew {growth} bytes: {heap:?}"
    );
}
