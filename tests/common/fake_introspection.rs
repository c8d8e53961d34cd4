//! The fake OpenID Connect provider as an authorization server for APIs: the access tokens
//! it issues to clients (JWTs signed with its keys, as RFC 9068 describes them, or opaque
//! ones), and its introspection endpoint, `{issuer}/introspect`, as RFC 7662 §2 has it:
//!
//! - §2.1: a `POST` with a form body holding `token` (and an optional `token_type_hint`,
//!   one of RFC 7009 §2.1's), from a client that authenticates as at the token endpoint
//!   (the configured `client_secret_basic`/`_post`, or `private_key_jwt` with this endpoint
//!   or the issuer as audience); a refused client gets `401 invalid_client` (§2.3), a
//!   request without `token` `400 invalid_request`;
//! - §2.2: `{"active": false}` for any token it did not issue, else the answer the test
//!   gave the token ([`FakeOidc::opaque_access_token`]).
//!
//! Every call is counted ([`Endpoint::Introspect`]), and the harness's faults and delays
//! apply: a `500`, an HTML page, a slow answer.

use http::request::Parts;
use http::Response;
use serde_json::{json, Value};

use super::clock;
use super::fake_oidc::{self, Endpoint, FakeOidc};
use super::harness::{self, Reject};
use super::server::{self, FakeBody};

/// RFC 7009 §2.1's token type hints.
const TOKEN_TYPE_HINTS: [&str; 2] = ["access_token", "refresh_token"];

impl FakeOidc {
    /// The introspection endpoint's URL.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.issuer())
    }

    /// Whether discovery advertises `introspection_endpoint` (default yes).
    pub fn set_introspection_advertised(&self, advertised: bool) {
        self.state().introspection_advertised = advertised;
    }

    /// How many introspection requests arrived, faulted ones included.
    pub fn introspections(&self) -> usize {
        self.calls(Endpoint::Introspect)
    }

    /// The claims of an RFC 9068 access token for `audience` granting `scope`, issued now
    /// to the configured client for the configured user, valid five minutes.
    pub fn access_token_claims(&self, audience: &str, scope: &str) -> Value {
        let cfg = self.config();
        let now = clock::now();
        json!({
            "iss": self.issuer(), "sub": cfg.sub, "aud": audience, "client_id": cfg.client_id,
            "iat": now, "exp": now + 300, "jti": server::random_token("at-", 8), "scope": scope,
        })
    }

    /// A JWT access token with these claims under this JOSE header (its `alg` is what the
    /// header says; it is signed with the fake's current RSA key, whatever the header).
    pub fn jwt_with_header(&self, header: Value, claims: &Value) -> String {
        let key = self.state().rsa.1.clone();
        fake_oidc::jws(&header, claims, |m| fake_oidc::sign_rsa(&key, m))
    }

    /// An RFC 9068 JWT access token with these claims: `typ: at+jwt`, RS256, the fake's
    /// current key and `kid`.
    pub fn jwt_access_token(&self, claims: &Value) -> String {
        let kid = self.state().rsa.0.clone();
        self.jwt_with_header(json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}), claims)
    }

    /// The `kid` of the fake's current RSA key.
    pub fn rsa_kid(&self) -> String {
        self.state().rsa.0.clone()
    }

    /// A new opaque access token, whose introspection answers `answer`.
    pub fn opaque_access_token(&self, answer: Value) -> String {
        let token = server::random_token("opaque-", 24);
        self.state().opaque_tokens.insert(token.clone(), answer);
        token
    }

    /// The answer an active opaque token for `audience` granting `scope` gets, as
    /// oidc-provider gives it: valid five minutes.
    pub fn active_answer(&self, audience: &str, scope: &str) -> Value {
        let cfg = self.config();
        let now = clock::now();
        json!({
            "active": true, "sub": cfg.sub, "client_id": cfg.client_id, "exp": now + 300,
            "iat": now, "iss": self.issuer(), "aud": audience, "scope": scope,
            "token_type": "Bearer",
        })
    }
}

/// `POST {issuer}/introspect`, strictly as RFC 7662 §2 says.
pub(super) fn introspect(
    fake: &FakeOidc,
    parts: &Parts,
    body: &[u8],
) -> Result<Response<FakeBody>, Reject> {
    if !harness::is_form_post(parts) {
        return Err(harness::oauth_error(
            400,
            "invalid_request",
            "introspection takes a form POST",
        ));
    }
    let form = server::form_pairs(body);
    let private_key_jwt = fake.state().private_key_jwt.clone();
    match private_key_jwt {
        Some(client) => fake_oidc::check_client_assertion(
            fake,
            &client,
            parts,
            &form,
            fake.introspection_endpoint(),
        )
        .map_err(|why| harness::oauth_error(401, "invalid_client", why))?,
        None => {
            let cfg = fake.config();
            harness::authenticate_client(
                parts,
                &form,
                cfg.client_auth,
                &cfg.client_id,
                &cfg.client_secret,
            )
            .map_err(|_| harness::oauth_error(401, "invalid_client", "client authentication"))?
        }
    }
    let token = server::param(&form, "token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| harness::oauth_error(400, "invalid_request", "no token"))?;
    if let Some(hint) = server::param(&form, "token_type_hint") {
        if !TOKEN_TYPE_HINTS.contains(&hint) {
            return Err(harness::oauth_error(
                400,
                "invalid_request",
                format!("unknown token_type_hint {hint:?}"),
            ));
        }
    }
    let answer = fake.state().opaque_tokens.get(token).cloned();
    Ok(server::json(
        200,
        &answer.unwrap_or_else(|| json!({"active": false})),
    ))
}
