//! A strict fake of Facebook Login (OAuth 2.0 authorization code flow with PKCE) and the
//! Graph API `/me`, all on one base URL: `/{ver}/dialog/oauth` (the user approves or
//! denies), `/{ver}/oauth/access_token` (code exchange: client credentials, single-use
//! code, byte-equal `redirect_uri`, S256 PKCE) and `/{ver}/me` (bearer token and
//! `appsecret_proof`). Another API version answers 404.
//!
//! Errors are Facebook-shaped (`{"error":{..,"type":"OAuthException",..}}`); the server,
//! counters, faults, codes and the user who denies are the [`super::harness`]'s.

use std::collections::HashSet;

use hmac::{Hmac, Mac};
use http::request::Parts;
use http::{Method, Response};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::harness::{self, Fake, Provider, Refusal, Reject};
use super::server::{self, FakeBody};

#[derive(Clone, Debug)]
pub struct FacebookConfig {
    pub app_id: String,
    pub app_secret: String,
    /// e.g. `v26.0`
    pub api_version: String,
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    /// `/me` requires `appsecret_proof = hex(HMAC-SHA256(app_secret, access_token))`.
    pub require_appsecret_proof: bool,
}

impl FacebookConfig {
    /// `fb-app-id` / `fb-app-secret`, `v26.0` (Meta's newest on 2026-12-06), user 10001
    /// "Mark Z" <mark@example.com>, appsecret_proof required.
    pub fn new() -> Self {
        FacebookConfig {
            app_id: "fb-app-id".into(),
            app_secret: "fb-app-secret".into(),
            api_version: "v26.0".into(),
            user_id: "10001".into(),
            name: "Mark Z".into(),
            email: Some("mark@example.com".into()),
            require_appsecret_proof: true,
        }
    }
}

impl Default for FacebookConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Dialog,
    Token,
    Me,
}

/// A running fake Facebook: `base_url` is both the dialog and the Graph host.
pub type FakeFacebook = Fake<FacebookConfig>;

/// The access tokens issued.
pub type State = HashSet<String>;

pub async fn start(cfg: FacebookConfig) -> FakeFacebook {
    harness::start(cfg).await
}

impl FakeFacebook {
    pub fn dialog_url(&self) -> String {
        format!(
            "{}/{}/dialog/oauth",
            self.base_url,
            self.config().api_version
        )
    }

    pub fn token_url(&self) -> String {
        let version = &self.config().api_version;
        format!("{}/{version}/oauth/access_token", self.base_url)
    }

    pub fn me_url(&self) -> String {
        format!("{}/{}/me", self.base_url, self.config().api_version)
    }

    pub fn dialog_calls(&self) -> usize {
        self.calls(Endpoint::Dialog)
    }

    pub fn token_calls(&self) -> usize {
        self.calls(Endpoint::Token)
    }

    pub fn me_calls(&self) -> usize {
        self.calls(Endpoint::Me)
    }
}

/// `hex(HMAC-SHA256(key = app_secret, message = access_token))`, as `/me` expects.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(access_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A Graph API error: code and message.
fn graph(code: u32, msg: impl Into<String>) -> Reject {
    let msg = msg.into();
    let body = json!({"error": {"message": msg, "type": "OAuthException",
                                "code": code, "fbtrace_id": "x"}});
    Reject::new(msg, server::json(400, &body))
}

impl Provider for FacebookConfig {
    type Endpoint = Endpoint;
    type State = State;
    const AUTHORIZE: Endpoint = Endpoint::Dialog;

    /// Paths under this API version; another version does not exist.
    fn route(&self, path: &str) -> Option<Endpoint> {
        let rest = path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(self.api_version.as_str()));
        match rest? {
            "/dialog/oauth" => Some(Endpoint::Dialog),
            "/oauth/access_token" => Some(Endpoint::Token),
            "/me" => Some(Endpoint::Me),
            _ => None,
        }
    }

    fn not_found(&self, path: &str) -> Response<FakeBody> {
        server::json(
            404,
            &json!({"error": {"message": format!("Unknown path {path}"),
                              "type": "OAuthException", "code": 803, "fbtrace_id": "x"}}),
        )
    }

    fn answer(
        fake: &FakeFacebook,
        endpoint: Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        match (endpoint, &parts.method) {
            (Endpoint::Dialog, &Method::GET) => dialog(fake, parts),
            (Endpoint::Token, &Method::GET) => token(fake, parts, None),
            (Endpoint::Token, &Method::POST) => {
                token(fake, parts, server::is_form(&parts.headers).then_some(body))
            }
            (Endpoint::Me, &Method::GET) => me(fake, parts),
            (_, method) => Err(graph(100, format!("method {method} not supported here"))),
        }
    }
}

fn dialog(fake: &FakeFacebook, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let grant = harness::authorization_request(parts, &fake.config().app_id, 1)?;
    let refusal = [
        ("error", "access_denied"),
        ("error_code", "200"),
        ("error_description", "Permissions error"),
        ("error_reason", "user_denied"),
    ];
    let location = fake.consent(grant, &refusal, &[]);
    // Like Facebook, append the `#_=_` fragment browsers keep but never send.
    Ok(server::redirect(&format!("{location}#_=_")))
}

fn token(
    fake: &FakeFacebook,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<Response<FakeBody>, Reject> {
    let cfg = fake.config();
    let mut params = server::query_pairs(&parts.uri);
    params.extend(form.map(server::form_pairs).unwrap_or_default());
    let get = |name| server::param(&params, name);
    if get("client_id") != Some(cfg.app_id.as_str()) {
        return Err(graph(
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    if get("client_secret") != Some(cfg.app_secret.as_str()) {
        return Err(graph(100, "Error validating client secret."));
    }
    let code = get("code").ok_or_else(|| graph(100, "Missing authorization code"))?;
    let grant = fake
        .redeem_code(code, get("redirect_uri"))
        .map_err(|refusal| match refusal {
            Refusal::UnknownCode => graph(100, "Invalid verification code format."),
            Refusal::UsedCode => graph(100, "This authorization code has been used."),
            Refusal::RedirectUri(expected) => graph(
                100,
                format!(
                    "Error validating verification code. Please make sure your redirect_uri \
                     is identical to the one you used in the OAuth dialog request \
                     ({:?} != {expected:?})",
                    get("redirect_uri"),
                ),
            ),
        })?;
    let verifier = get("code_verifier").ok_or_else(|| graph(100, "Missing code_verifier"))?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err(graph(100, format!("Malformed code_verifier {verifier:?}")));
    }
    if !grant.verifies(verifier) {
        return Err(graph(100, "Invalid code verifier"));
    }
    let access_token = server::random_token("EAA", 32);
    fake.state().insert(access_token.clone());
    Ok(server::json(
        200,
        &json!({"access_token": access_token, "token_type": "bearer", "expires_in": 5183944}),
    ))
}

fn me(fake: &FakeFacebook, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let cfg = fake.config();
    let q = server::query_pairs(&parts.uri);
    let token = harness::authorization_value(parts, "Bearer")
        .or_else(|| harness::authorization_value(parts, "OAuth"))
        .or_else(|| server::param(&q, "access_token"))
        .ok_or_else(|| {
            graph(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        })?;
    if !fake.state().contains(token) {
        return Err(graph(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        ));
    }
    if cfg.require_appsecret_proof {
        let expected = appsecret_proof(&cfg.app_secret, token);
        let given = server::param(&q, "appsecret_proof").ok_or_else(|| {
            graph(
                100,
                "API calls from the server require an appsecret_proof argument",
            )
        })?;
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(graph(
                100,
                "Invalid appsecret_proof provided in the API argument",
            ));
        }
    }
    let fields = server::param(&q, "fields").unwrap_or("id,name");
    let mut user = Map::new();
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (first, last) = cfg.name.split_once(' ').unwrap_or((&cfg.name, ""));
        let value = match field {
            "id" => json!(cfg.user_id),
            "name" => json!(cfg.name),
            "first_name" => json!(first),
            "last_name" => json!(last),
            "email" => match &cfg.email {
                Some(email) => json!(email),
                None => continue,
            },
            "picture" => json!({"data": {"height": 50, "width": 50, "is_silhouette": false,
                                         "url": "https://example.invalid/picture.jpg"}}),
            other => {
                return Err(graph(
                    100,
                    format!(
                        "(#100) Tried accessing nonexisting field ({other}) on node type (User)"
                    ),
                ))
            }
        };
        user.insert(field.to_owned(), value);
    }
    Ok(server::json(200, &Value::Object(user)))
}
