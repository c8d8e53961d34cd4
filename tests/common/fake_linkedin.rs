//! LinkedIn's "Sign In with LinkedIn using OpenID Connect", as LinkedIn documents it
//! (<https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2>,
//! read 2026-12-06) and as its users report it: the strict OpenID Connect fake with the issuer
//! `{base_url}/oauth`, client credentials in the body only (`client_secret_post`), ID tokens
//! with `email_verified` as the string `"true"` and **no `nonce`** (authlib/authlib#763,
//! python-social-auth/social-core#833), and a token endpoint that answers a `code_verifier`
//! with `401 invalid_client` ([`PkceRule::RefusedAsInvalidClient`]).

use serde_json::json;

use super::fake_oidc::{self, FakeOidc, OidcConfig, TokenAuth};
use super::fake_pkce::PkceRule;

/// A fake LinkedIn on a fresh port.
pub async fn start() -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        client_id: "86linkedin".into(),
        client_secret: "linkedin-secret".into(),
        client_auth: TokenAuth::Post,
        sub: "782bbtaQ".into(),
        issuer_path: "/oauth".into(),
        ..OidcConfig::new()
    })
    .await;
    fake.set_pkce(PkceRule::RefusedAsInvalidClient);
    fake.set_echo_nonce(false);
    fake.set_extra_claims(json!({"email_verified": "true"}));
    fake
}
