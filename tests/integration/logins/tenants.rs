//! Per-customer sign-in (`/auth/sso/<tenant>`) against loopback fake issuers: what the app's
//! resolver can answer (an unknown tenant, an error, a hang, a malformed issuer), the
//! single-flight cache (50 concurrent first logins, one discovery), `invalidate`, the
//! unknown-domain fallback, and one `private_key_jwt` key serving two tenants.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::app::{self, assert_error, json_of, serve_layer};
use crate::common::browser::{location, Browser};
use crate::common::client_assertion::ClientKey;
use crate::common::fake_oidc::{self, Endpoint, FakeOidc, OidcConfig, PrivateKeyJwtClient};
use socialauth::tenants::{TenantError, TenantKey, Tenants};
use socialauth::{ClientAssertionKey, ClientAuth, Oidc, Provider, SocialAuthLayer};

/// What the test resolver answers for a tenant.
#[derive(Clone)]
enum Answer {
    Provider(Box<Oidc>),
    Error,
    Hang,
}

/// A resolver over `answers` (others are unknown tenants), counting its calls.
fn tenants(answers: HashMap<&'static str, Answer>, calls: Arc<AtomicUsize>) -> Tenants {
    let answers = Arc::new(answers);
    Tenants::new(move |tenant: TenantKey| {
        let answers = answers.clone();
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            match answers.get(tenant.as_str()).cloned() {
                Some(Answer::Provider(oidc)) => {
                    let oidc = *oidc;
                    // As a database query takes a while: concurrent logins overlap.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(Some(Provider::from(oidc)))
                }
                Some(Answer::Error) => Err(TenantError::new("the customer database is down")),
                Some(Answer::Hang) => std::future::pending().await,
                None => Ok(None),
            }
        }
    })
}

/// The app behind a layer with these tenants and this provider timeout: its base URL.
async fn serve(tenants: Tenants, timeout: Duration) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider_timeout(timeout)
        .tenants(tenants)
        .build()
        .expect("valid layer configuration");
    serve_layer(layer).await
}

fn oidc_for(fake: &FakeOidc) -> Oidc {
    let cfg = fake.config();
    Oidc::new(fake.issuer(), &cfg.client_id, &cfg.client_secret)
}

#[tokio::test]
async fn the_resolvers_answers_become_short_json_errors() {
    let good = fake_oidc::start(OidcConfig::new()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let base = serve(
        tenants(
            HashMap::from([
                ("good", Answer::Provider(Box::new(oidc_for(&good)))),
                ("down", Answer::Error),
                ("stuck", Answer::Hang),
                (
                    "plain-http",
                    Answer::Provider(Box::new(Oidc::new("http://idp.example", "id", "secret"))),
                ),
                (
                    "not-a-url",
                    Answer::Provider(Box::new(Oidc::new("idp example", "id", "secret"))),
                ),
            ]),
            calls.clone(),
        ),
        Duration::from_secs(1),
    )
    .await;
    let browser = Browser::new();
    let start = |tenant: &str| format!("{base}/auth/sso/{tenant}?login=start");

    assert_error(browser.get(&start("initech")).await, 404, "unknown_tenant").await;
    assert_error(
        browser.get(&start("Not%20A%20Key")).await,
        404,
        "unknown_tenant",
    )
    .await;
    assert_error(browser.get(&start("down")).await, 503, "tenant_unavailable").await;
    // A failing tenant backs off: within its pause the resolver is not asked again.
    let asked = calls.load(Ordering::SeqCst);
    assert_error(browser.get(&start("down")).await, 503, "tenant_unavailable").await;
    assert_eq!(calls.load(Ordering::SeqCst), asked);
    for malformed in ["plain-http", "not-a-url"] {
        assert_error(
            browser.get(&start(malformed)).await,
            503,
            "tenant_unavailable",
        )
        .await;
    }

    // A hanging resolver is answered 504 within the provider timeout, and holds up no
    // other tenant meanwhile.
    let began = Instant::now();
    let (stuck_url, good_url) = (start("stuck"), start("good"));
    let (stuck, good_start) = tokio::join!(browser.get(&stuck_url), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let response = browser.get(&good_url).await;
        (response, began.elapsed())
    });
    let waited = began.elapsed();
    assert_error(stuck, 504, "tenant_timeout").await;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(good_start.0.status(), 303);
    assert!(
        good_start.1 < Duration::from_millis(800),
        "good waited {:?}",
        good_start.1
    );

    // ... and so does a stuck one, answered at once meanwhile.
    let (asked, began) = (calls.load(Ordering::SeqCst), Instant::now());
    assert_error(browser.get(&start("stuck")).await, 504, "tenant_timeout").await;
    assert!(began.elapsed() < Duration::from_millis(500));
    assert_eq!(calls.load(Ordering::SeqCst), asked);
}

#[tokio::test]
async fn fifty_concurrent_first_logins_of_one_tenant_resolve_and_discover_once() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_delay(Endpoint::Discovery, Duration::from_millis(200));
    let calls = Arc::new(AtomicUsize::new(0));
    let tenants = tenants(
        HashMap::from([("acme", Answer::Provider(Box::new(oidc_for(&fake))))]),
        calls.clone(),
    );
    let base = serve(tenants.clone(), Duration::from_secs(10)).await;
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let url = format!("{base}/auth/sso/acme?login=start");
        starts.spawn(async move { Browser::new().get(&url).await.status() });
    }
    let statuses = starts.join_all().await;
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "resolver calls");
    assert_eq!(fake.calls(Endpoint::Discovery), 1, "discovery fetches");

    // A customer edited its settings: the next login asks and discovers again.
    tenants.invalidate("acme");
    assert_eq!(
        Browser::new()
            .get(&format!("{base}/auth/sso/acme?login=start"))
            .await
            .status(),
        303
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(fake.calls(Endpoint::Discovery), 2);
}

#[tokio::test]
async fn an_unknown_email_domain_goes_to_the_apps_fallback_when_it_has_one() {
    let calls = Arc::new(AtomicUsize::new(0));
    let tenants = tenants(HashMap::new(), calls).unknown_domain_redirect("/login");
    let base = serve(tenants, Duration::from_secs(10)).await;
    let browser = Browser::new();
    let answer = browser
        .get(&format!(
            "{base}/auth/sso?login=start&email=eve%40initech.example"
        ))
        .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/login");
    let answer = browser.get(&format!("{base}/auth/sso?login=start")).await;
    assert_error(answer, 400, "invalid_request").await;
}

#[tokio::test]
async fn one_private_key_jwt_key_serves_two_tenants() {
    let key = ClientKey::es256();
    let assertion_key = ClientAssertionKey::es256_pem(&key.pem)
        .expect("a valid PEM key")
        .key_id("shared");
    let mut answers = HashMap::new();
    let mut fakes = Vec::new();
    for tenant in ["acme", "globex"] {
        let fake = fake_oidc::start(OidcConfig::new()).await;
        // Each customer registered the app's one public key.
        fake.set_private_key_jwt(Some(PrivateKeyJwtClient::new(
            key.public.clone(),
            Some("shared"),
        )));
        let oidc = Oidc::new(fake.issuer(), &fake.config().client_id, "")
            .client_auth(ClientAuth::private_key_jwt(assertion_key.clone()));
        answers.insert(tenant, Answer::Provider(Box::new(oidc)));
        fakes.push(fake);
    }
    let base = serve(tenants(answers, Arc::default()), Duration::from_secs(10)).await;
    for (tenant, fake) in ["acme", "globex"].into_iter().zip(&fakes) {
        let browser = Browser::new();
        let visit = browser
            .follow(&format!("{base}/auth/sso/{tenant}?login=start"))
            .await;
        assert_eq!(
            visit.final_url,
            format!("{base}/"),
            "{:?}\n{}",
            visit.hops,
            visit.body
        );
        let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
        assert_eq!(who["tenant"], tenant);
        assert_eq!(fake.client_assertions().len(), 1, "{tenant}");
    }
}
