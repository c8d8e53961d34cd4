//! Microsoft Entra ID logins through the layer, against a fake multi-tenant Entra ID: each
//! token's issuer checked with its own tenant, the allowed tenants, the warning for a
//! multi-tenant app that admits every tenant, and tenants given by domain name refused.

use super::preset_support::{assert_whoami, refused_login, serve_admitting, whoami_after_login};
use crate::common::app::{self, IDENTITY_COOKIE};
use crate::common::browser::Browser;
use crate::common::captured_logs;
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig};
use serde_json::{json, Value};
use socialauth::{Microsoft, SocialAuthLayer};
use std::sync::Arc;

/// Two tenant ids, as Entra writes them.
const TENANT_A: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const TENANT_B: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// A fake Entra ID answering for `authority` (`common`, `organizations`), its user in
/// `tenant`.
async fn fake_entra(authority: &str, tenant: &str) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        issuer_path: format!("/{authority}/v2.0"),
        ..OidcConfig::new()
    })
    .await;
    fake.set_tenant(Some(tenant));
    fake
}

fn microsoft_for(fake: &FakeOidc, tenant: &str) -> Microsoft {
    let cfg = fake.config();
    Microsoft::new(tenant, &cfg.client_id, &cfg.client_secret).authority_url(&fake.base_url)
}

#[tokio::test]
async fn microsoft_multi_tenant_login_checks_the_issuer_with_the_tokens_own_tenant() {
    let fake = fake_entra("common", TENANT_A).await;
    let who = whoami_after_login(
        microsoft_for(&fake, "common").allowed_tenants([TENANT_A]),
        "microsoft",
    )
    .await;
    assert_whoami(
        &who,
        json!({"provider": "microsoft", "user_id": "248289761001", "name": "Jane Doe"}),
    );
    assert_eq!(
        who["email"],
        Value::Null,
        "Entra ID's email is never a verified one, even with email_verified"
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());

    // Any tenant by default; the tenant reaches the authorize hook.
    let base = serve_admitting(microsoft_for(&fake, "common"), "tid", TENANT_A).await;
    let visit = Browser::new()
        .follow(&format!("{base}/auth/microsoft?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
}

#[tokio::test]
async fn microsoft_refuses_a_tenant_not_allowed_and_a_forged_tenant_issuer() {
    let fake = fake_entra("organizations", TENANT_B).await;
    let browser = refused_login(
        microsoft_for(&fake, "organizations").allowed_tenants([TENANT_A]),
        "microsoft",
        401,
        "login_failed",
    )
    .await;
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);

    // A token whose `iss` names another tenant than its `tid` is refused.
    let base_url = fake.base_url.clone();
    fake.set_id_token_claims(Some(Arc::new(move |claims: &Value| {
        let mut claims = claims.clone();
        claims["iss"] = json!(format!("{base_url}/{TENANT_A}/v2.0"));
        claims.to_string()
    })));
    refused_login(
        microsoft_for(&fake, "organizations"),
        "microsoft",
        401,
        "login_failed",
    )
    .await;
}

/// The layer built with `microsoft`, or the message of its `ConfigError`.
fn build_with(microsoft: Microsoft) -> Result<(), String> {
    SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(microsoft)
        .build()
        .map(drop)
        .map_err(|error| error.to_string())
}

#[test]
fn a_multi_tenant_app_without_allowed_tenants_is_warned_about_when_built() {
    let captured = captured_logs::capture();
    build_with(Microsoft::new("organizations", "id", "secret")).unwrap();
    let logs = captured.text();
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("every tenant in the world"), "{logs}");
    assert!(logs.contains("allowed_tenants"), "{logs}");
    drop(captured);

    for quiet in [
        Microsoft::new("common", "id", "secret").allowed_tenants([TENANT_A]),
        Microsoft::new(TENANT_A, "id", "secret"),
    ] {
        let captured = captured_logs::capture();
        build_with(quiet).unwrap();
        let logs = captured.text();
        assert!(!logs.contains("every tenant"), "{logs}");
    }
}

#[test]
fn a_tenant_given_by_domain_name_is_refused_at_build_with_a_message_naming_the_id() {
    let error = build_with(Microsoft::new("contoso.onmicrosoft.com", "id", "secret"));
    let message = error.unwrap_err();
    assert!(
        message.contains("directory (tenant) id, a GUID"),
        "{message}"
    );
    assert!(message.contains("not a domain name"), "{message}");

    let allowed = Microsoft::new("organizations", "id", "secret").allowed_tenants(["contoso.com"]);
    let message = build_with(allowed).unwrap_err();
    assert!(message.contains("allowed_tenants"), "{message}");
}
