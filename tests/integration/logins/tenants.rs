//! Per-customer sign-in (`/auth/sso/<tenant>`) against loopback fake issuers: what the app's
//! resolver can answer (an unknown tenant, an error, a hang, a malformed issuer), the
//! single-flight cache (50 concurrent first logins, one discovery), `invalidate`, the
//! unknown-domain fallback, one `private_key_jwt` key serving two tenants, and a tenant
//! session's provider logout and token refresh at its own tenant's provider.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::app::TOKENS_COOKIE;
use crate::common::app::{self, assert_error, json_of, serve_layer};
use crate::common::browser::{location, query_param, Browser};
use crate::common::captured_logs;
use crate::common::client_assertion::ClientKey;
use crate::common::clock::Shifted;
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

/// Two tenants, `acme` and `globex`, each at its own fake with provider logout, issuing
/// refresh tokens and 300-second access tokens, behind a layer keeping the tokens on the
/// clock `time`: the fakes and the app's base URL.
async fn two_tenants_keeping_tokens(time: &Shifted) -> (FakeOidc, FakeOidc, String) {
    let (acme, globex) = (
        fake_oidc::start(OidcConfig::new()).await,
        fake_oidc::start(OidcConfig::new()).await,
    );
    let mut answers = HashMap::new();
    for (tenant, fake) in [("acme", &acme), ("globex", &globex)] {
        fake.set_refresh_tokens(300, false);
        let oidc = oidc_for(fake).provider_logout(true);
        answers.insert(tenant, Answer::Provider(Box::new(oidc)));
    }
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .clock(time.clock())
        .keep_provider_tokens(true)
        .tenants(tenants(answers, Arc::default()))
        .build()
        .expect("valid layer configuration");
    (acme, globex, serve_layer(layer).await)
}

/// A browser signed in at `base` as a user of `tenant`.
async fn signed_in_at(base: &str, tenant: &str) -> Browser {
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/sso/{tenant}?login=start"))
        .await;
    assert_eq!(visit.final_url, format!("{base}/"), "{:?}", visit.hops);
    assert!(browser.cookie(TOKENS_COOKIE).is_some());
    browser
}

#[tokio::test]
async fn a_tenant_sessions_logout_ends_the_session_at_that_tenants_provider() {
    let time = Shifted::default();
    let (acme, globex, base) = two_tenants_keeping_tokens(&time).await;
    let browser = signed_in_at(&base, "acme").await;

    let answer = browser.post(&format!("{base}/auth/logout"), &[]).await;
    assert_eq!(answer.status(), 303);
    let to_provider = location(&answer);
    assert!(
        to_provider.starts_with(&format!("{}?", acme.end_session_endpoint())),
        "{to_provider}"
    );
    assert_ne!(acme.end_session_endpoint(), globex.end_session_endpoint());
    let hint = query_param(&to_provider, "id_token_hint").expect("an id_token_hint");
    assert!(acme.issued_tokens().contains(&hint), "acme's ID token");
    assert!(!globex.issued_tokens().contains(&hint));
    assert_eq!(
        query_param(&to_provider, "post_logout_redirect_uri"),
        Some(format!("{base}/"))
    );
    let back = browser.follow(&to_provider).await;
    assert_eq!(back.status, 200, "{:?} {}", back.hops, back.body);
    assert!(acme.rejections().is_empty(), "{:?}", acme.rejections());
    assert_eq!(acme.end_session_requests().len(), 1);
    assert!(globex.end_session_requests().is_empty());
    assert_eq!(browser.cookie(app::IDENTITY_COOKIE), None);
}

#[tokio::test]
async fn a_tenant_sessions_expired_access_token_is_refreshed_at_that_tenants_provider() {
    let time = Shifted::default();
    let (acme, globex, base) = two_tenants_keeping_tokens(&time).await;
    let browser = signed_in_at(&base, "globex").await;
    let url = format!("{base}/provider-token");
    let token = |browser| Browser::follow(browser, &url);
    let first = token(&browser).await;
    assert_eq!(first.status, 200, "{}", first.body);

    time.advance(301);
    let refreshed = token(&browser).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_ne!(refreshed.body, first.body);
    assert_eq!(globex.refreshes(), 1, "refreshed at globex");
    assert_eq!(acme.refreshes(), 0);
    // The rewritten cookie holds the new token: no further refresh.
    assert_eq!(token(&browser).await.body, refreshed.body);
    assert_eq!(globex.refreshes(), 1);
}

#[tokio::test]
async fn a_tenant_that_no_longer_resolves_gets_a_local_logout_and_no_refresh() {
    const PRESENT: usize = 0;
    const REMOVED: usize = 1;
    const FAILING: usize = 2;
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_refresh_tokens(300, false);
    let oidc = oidc_for(&fake).provider_logout(true);
    let state = Arc::new(AtomicUsize::new(PRESENT));
    let tenants = Tenants::new({
        let state = state.clone();
        move |_: TenantKey| {
            let (state, oidc) = (state.load(Ordering::SeqCst), oidc.clone());
            async move {
                match state {
                    PRESENT => Ok(Some(Provider::from(oidc))),
                    REMOVED => Ok(None),
                    _ => Err(TenantError::new("the customer database is down")),
                }
            }
        }
    });
    let time = Shifted::default();
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .clock(time.clock())
        .keep_provider_tokens(true)
        .tenants(tenants.clone())
        .build()
        .expect("valid layer configuration");
    let base = serve_layer(layer).await;
    let url = format!("{base}/provider-token");
    let first = signed_in_at(&base, "acme").await;
    let second = signed_in_at(&base, "acme").await;
    time.advance(301);

    // The resolver fails: the refresh is the provider's failure, and nothing is spent.
    state.store(FAILING, Ordering::SeqCst);
    tenants.invalidate("acme");
    let answer = first.follow(&url).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert_eq!(json_of(&answer.body)["error"], "provider_error");

    // The customer was removed: sign in again; logout stays local, with a warning.
    state.store(REMOVED, Ordering::SeqCst);
    tenants.invalidate("acme");
    let answer = first.follow(&url).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(json_of(&answer.body)["error"], "provider_tokens_expired");
    assert_eq!(fake.refreshes(), 0);
    let captured = captured_logs::capture();
    let answer = second.post(&format!("{base}/auth/logout"), &[]).await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/", "a local logout");
    assert_eq!(second.cookie(app::IDENTITY_COOKIE), None);
    assert!(fake.end_session_requests().is_empty());
    let logs = captured.text();
    assert!(
        logs.contains("WARN") && logs.contains("signed out here only"),
        "{logs}"
    );

    // Neither spent the refresh token: the customer back, the refresh goes through.
    state.store(PRESENT, Ordering::SeqCst);
    tenants.invalidate("acme");
    let answer = first.follow(&url).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(fake.refreshes(), 1);
}
