//! Per-customer sign-in against two real OpenID Connect providers: two instances of panva's
//! `oidc-provider`, each a customer (tenant) of the app with its own issuer, client and
//! users, behind one layer whose tenant resolver knows both. Also the mix-up attacks: a
//! callback, an `iss` or a flow cookie of one tenant brought to the other's route.

use std::sync::Arc;

use crate::common::app::{self, json_of};
use crate::common::browser::{location, query_param, Browser, Visit};
use socialauth::revocation::{InMemoryStore, Revocations};
use socialauth::tenants::{TenantError, TenantKey, Tenants};
use socialauth::{Oidc, Provider, SocialAuthLayer};

use super::interop_oidc_provider::{serve_later, sign_in, Form, OidcProvider};

/// Two customers: `acme` and `globex`, each at its own oidc-provider.
struct TwoTenants {
    base_url: String,
    acme: OidcProvider,
    globex: OidcProvider,
    revocations: Revocations,
}

impl TwoTenants {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn issuer(&self, tenant: &str) -> &str {
        match tenant {
            "acme" => &self.acme.issuer,
            _ => &self.globex.issuer,
        }
    }
}

/// The app behind one layer with a resolver for both tenants (by key, and by email domain:
/// `acme.example`, `globex.example`); each oidc-provider's client may redirect only to its
/// tenant's route, `/auth/sso/<tenant>`, as a customer would register it.
async fn start() -> TwoTenants {
    let (base_url, slot) = serve_later().await;
    let (acme_redirect, globex_redirect, home) = (
        format!("{base_url}/auth/sso/acme"),
        format!("{base_url}/auth/sso/globex"),
        format!("{base_url}/"),
    );
    let (acme, globex) = tokio::join!(
        super::interop_oidc_provider::start_client(
            ("acme-app", "acme secret"),
            &acme_redirect,
            &home,
            None
        ),
        super::interop_oidc_provider::start_client(
            ("globex-app", "globex secret"),
            &globex_redirect,
            &home,
            None
        ),
    );
    let issuers = Arc::new([acme.issuer.clone(), globex.issuer.clone()]);
    let tenants = Tenants::new(move |tenant: TenantKey| {
        let issuers = issuers.clone();
        async move {
            let provider: Option<Provider> = match tenant.as_str() {
                "acme" => Some(Oidc::new(&issuers[0], "acme-app", "acme secret").into()),
                "globex" => Some(Oidc::new(&issuers[1], "globex-app", "globex secret").into()),
                _ => None,
            };
            Ok::<_, TenantError>(provider)
        }
    })
    .email_domains(|domain: String| async move {
        Ok(match domain.as_str() {
            "acme.example" => Some(TenantKey::new("acme")?),
            "globex.example" => Some(TenantKey::new("globex")?),
            _ => None,
        })
    });
    let revocations = Revocations::builder(InMemoryStore::new())
        .start()
        .await
        .expect("an in-memory store starts");
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .tenants(tenants)
        .revocation(revocations.clone())
        .build()
        .expect("valid layer configuration");
    assert!(slot.set(app::axum_app().layer(layer)).is_ok());
    TwoTenants {
        base_url,
        acme,
        globex,
        revocations,
    }
}

/// Follows `start` to the tenant's oidc-provider, signs `login` in and consents, without
/// visiting the app's callback: its URL (code, state, iss).
async fn callback_for(
    setup: &TwoTenants,
    browser: &Browser,
    tenant: &str,
    start: &str,
    login: &str,
) -> String {
    let issuer = setup.issuer(tenant);
    let page = browser.follow(start).await;
    assert!(
        page.final_url
            .starts_with(&format!("{issuer}/interaction/")),
        "not at {tenant}'s provider: {:?}",
        page.hops
    );
    let consent_page = sign_in(browser, &page, login).await;
    assert!(
        consent_page.body.contains("<h1>Authorize</h1>"),
        "{}",
        consent_page.body
    );
    let consent = Form::first_in(&consent_page.body);
    let mut response = browser
        .post(
            &consent.action_url(&consent_page.final_url),
            &consent.submission(&[]),
        )
        .await;
    loop {
        let next = location(&response);
        let next = url::Url::parse(issuer)
            .and_then(|base| base.join(&next))
            .expect("a Location URL")
            .to_string();
        if !next.starts_with(issuer) {
            return next;
        }
        response = browser.get(&next).await;
    }
}

/// Signs `login` in at `tenant` in a new browser: the browser, and `/whoami`.
async fn log_in(setup: &TwoTenants, tenant: &str, login: &str) -> (Browser, serde_json::Value) {
    let browser = Browser::new();
    let start = setup.url(&format!("/auth/sso/{tenant}?login=start"));
    let callback = callback_for(setup, &browser, tenant, &start, login).await;
    assert!(
        callback.starts_with(&setup.url(&format!("/auth/sso/{tenant}?"))),
        "{callback}"
    );
    let done: Visit = browser.follow(&callback).await;
    assert_eq!(
        done.final_url,
        setup.url("/"),
        "{:?}\n{}",
        done.hops,
        done.body
    );
    let whoami = browser.follow(&setup.url("/whoami")).await;
    assert_eq!(whoami.status, 200, "{}", whoami.body);
    (browser, json_of(&whoami.body))
}

#[tokio::test]
async fn each_tenant_signs_its_own_users_in_and_one_sub_at_two_tenants_is_two_users() {
    let setup = start().await;
    let (_, ada) = log_in(&setup, "acme", "ada").await;
    assert_eq!(ada["provider"], "sso:acme");
    assert_eq!(ada["tenant"], "acme");
    assert_eq!(ada["user_id"], "ada");
    assert_eq!(ada["email"], "ada@example.com");
    let (_, bob) = log_in(&setup, "globex", "bob").await;
    assert_eq!(bob["tenant"], "globex");
    assert_eq!(bob["user_id"], "bob");

    // `sam` at each: the same sub, two users. Signing one out everywhere leaves the other.
    let (sam_at_acme, who) = log_in(&setup, "acme", "sam").await;
    assert_eq!(
        (&who["tenant"], &who["user_id"]),
        (&"acme".into(), &"sam".into())
    );
    let (sam_at_globex, who) = log_in(&setup, "globex", "sam").await;
    assert_eq!(
        (&who["tenant"], &who["user_id"]),
        (&"globex".into(), &"sam".into())
    );
    setup
        .revocations
        .revoke_user("sso:acme", "sam")
        .await
        .expect("revoked");
    let whoami = sam_at_acme.follow(&setup.url("/whoami")).await;
    assert_eq!(
        whoami.status, 401,
        "acme's sam is signed out: {}",
        whoami.body
    );
    let whoami = sam_at_globex.follow(&setup.url("/whoami")).await;
    assert_eq!(
        whoami.status, 200,
        "globex's sam stays signed in: {}",
        whoami.body
    );
    assert_eq!(json_of(&whoami.body)["tenant"], "globex");
}

#[tokio::test]
async fn sign_in_by_email_domain_goes_to_the_domains_tenant() {
    let setup = start().await;
    let browser = Browser::new();
    let start = setup.url("/auth/sso?login=start&email=Ada%40ACME.example");
    let callback = callback_for(&setup, &browser, "acme", &start, "ada").await;
    assert!(
        callback.starts_with(&setup.url("/auth/sso/acme?")),
        "{callback}"
    );
    let done = browser.follow(&callback).await;
    assert_eq!(
        done.final_url,
        setup.url("/"),
        "{:?}\n{}",
        done.hops,
        done.body
    );
    let who = json_of(&browser.follow(&setup.url("/whoami")).await.body);
    assert_eq!(
        (&who["tenant"], &who["user_id"]),
        (&"acme".into(), &"ada".into())
    );

    let unknown = browser
        .get(&setup.url("/auth/sso?login=start&email=eve%40initech.example"))
        .await;
    app::assert_error(unknown, 404, "unknown_tenant").await;
    let malformed = browser
        .get(&setup.url("/auth/sso?login=start&email=eve%40not%20a%20domain"))
        .await;
    app::assert_error(malformed, 400, "invalid_request").await;
}

/// The state and code of a callback URL.
fn code_and_state(callback: &str) -> (String, String) {
    (
        query_param(callback, "code").expect("code"),
        query_param(callback, "state").expect("state"),
    )
}

#[tokio::test]
async fn a_login_started_for_one_tenant_is_never_completed_by_the_other() {
    let setup = start().await;
    let browser = Browser::new();
    // The user starts at acme (the flow cookie for acme is set, the browser is at acme's
    // provider), and a login at globex runs to its callback in the same browser.
    let started = browser.get(&setup.url("/auth/sso/acme?login=start")).await;
    assert_eq!(started.status(), 303);
    let acme_state = query_param(&location(&started), "state").expect("acme's state");
    let globex_callback = callback_for(
        &setup,
        &browser,
        "globex",
        &setup.url("/auth/sso/globex?login=start"),
        "mallory",
    )
    .await;
    let (globex_code, globex_state) = code_and_state(&globex_callback);
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let acme_route = |query: String| setup.url(&format!("/auth/sso/acme?{query}"));

    // acme's state with globex's code, iss left out: acme's flow cookie opens, but acme's
    // provider sends iss, so its absence is refused before the code goes anywhere.
    let no_iss = format!("code={}&state={}", enc(&globex_code), enc(&acme_state));
    app::assert_error(
        browser.get(&acme_route(no_iss)).await,
        400,
        "invalid_request",
    )
    .await;
    // globex's whole callback at acme's route: globex's iss is refused (RFC 9207).
    let query = globex_callback
        .split_once('?')
        .expect("a query")
        .1
        .to_owned();
    let answer = browser.get(&acme_route(query)).await;
    app::assert_error(answer, 400, "invalid_request").await;
    // acme's state with globex's code and iss: refused by iss.
    let mixed = format!(
        "code={}&state={}&iss={}",
        enc(&globex_code),
        enc(&acme_state),
        enc(&setup.globex.issuer)
    );
    app::assert_error(
        browser.get(&acme_route(mixed)).await,
        400,
        "invalid_request",
    )
    .await;
    // globex's code and state, acme's iss: the browser has no acme flow cookie for that
    // state (globex's cookie names globex).
    let forged_iss = format!(
        "code={}&state={}&iss={}",
        enc(&globex_code),
        enc(&globex_state),
        enc(&setup.acme.issuer)
    );
    app::assert_error(
        browser.get(&acme_route(forged_iss.clone())).await,
        400,
        "missing_flow_cookie",
    )
    .await;
    // ... nor does globex's flow cookie, renamed as acme's, open there.
    let (name, value, _) = browser
        .cookies()
        .into_iter()
        .find(|(name, _, _)| name.contains("socialauth-flow-sso.globex-"))
        .expect("globex's flow cookie");
    let renamed = name.replace("sso.globex", "sso.acme");
    let cookie = format!("{renamed}={value}");
    let answer = browser
        .get_with_headers(&acme_route(forged_iss), &[("cookie", &cookie)])
        .await;
    app::assert_error(answer, 400, "invalid_flow_cookie").await;

    // Nothing above signed anyone in; globex's own callback still completes at globex.
    assert!(browser.cookie(app::IDENTITY_COOKIE).is_none());
    let done = browser.follow(&globex_callback).await;
    assert_eq!(
        done.final_url,
        setup.url("/"),
        "{:?}\n{}",
        done.hops,
        done.body
    );
    let who = json_of(&browser.follow(&setup.url("/whoami")).await.body);
    assert_eq!(
        (&who["tenant"], &who["user_id"]),
        (&"globex".into(), &"mallory".into())
    );
}
