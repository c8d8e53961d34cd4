//! A strict fake of X's OAuth 1.0a "Sign in with X" endpoints (`/oauth/request_token`,
//! `/oauth/authenticate`, `/oauth/access_token`) and `/1.1/account/verify_credentials.json`,
//! the paths X documents on `https://api.x.com`
//! (<https://docs.x.com/resources/fundamentals/authentication/api-reference>, read
//! 2026-12-06); its base URL stands for that host (the preset's `api_base_url`, whose default
//! the preset's own unit test holds to `https://api.x.com`). It checks every signature with
//! the independent [`super::oauth1_verify`] against the URL the request reached, timestamps
//! (±300 s), nonces (never reused, across all endpoints) and single-use request tokens.
//!
//! Rejections answer 401 with Twitter's JSON error shape; the server, counters, faults and
//! the user who denies are the [`super::harness`]'s.

use std::collections::{HashMap, HashSet};

use http::header::{AUTHORIZATION, HOST};
use http::request::Parts;
use http::{Method, Response};
use serde_json::json;

use super::clock;
use super::harness::{self, Fake, Provider, Reject};
use super::oauth1_verify::{self, OAuthParams};
use super::server::{self, FakeBody};

/// Allowed distance between `oauth_timestamp` and the fake's clock.
pub const TIMESTAMP_WINDOW_SECS: u64 = 300;

#[derive(Clone, Debug)]
pub struct TwitterConfig {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub user_id: String,
    pub screen_name: String,
    pub name: String,
    pub email: Option<String>,
}

impl TwitterConfig {
    /// `ck-test` / `cs-test-secret`, user 12345 `jack` "Jack Dorsey" <jack@example.com>.
    pub fn new() -> Self {
        TwitterConfig {
            consumer_key: "ck-test".into(),
            consumer_secret: "cs-test-secret".into(),
            user_id: "12345".into(),
            screen_name: "jack".into(),
            name: "Jack Dorsey".into(),
            email: Some("jack@example.com".into()),
        }
    }
}

impl Default for TwitterConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    RequestToken,
    Authenticate,
    AccessToken,
    VerifyCredentials,
}

/// A running fake Twitter.
pub type FakeTwitter = Fake<TwitterConfig>;

#[derive(Default)]
pub struct State {
    /// `oauth_callback_confirmed=false` in request token answers.
    callback_unconfirmed: bool,
    nonces: HashSet<String>,
    request_tokens: HashMap<String, RequestToken>,
    /// access token -> secret
    access_tokens: HashMap<String, String>,
}

struct RequestToken {
    secret: String,
    callback: String,
    verifier: Option<String>,
    used: bool,
}

pub async fn start(cfg: TwitterConfig) -> FakeTwitter {
    harness::start(cfg).await
}

impl FakeTwitter {
    pub fn request_token_url(&self) -> String {
        format!("{}/oauth/request_token", self.base_url)
    }

    pub fn authenticate_url(&self) -> String {
        format!("{}/oauth/authenticate", self.base_url)
    }

    pub fn access_token_url(&self) -> String {
        format!("{}/oauth/access_token", self.base_url)
    }

    pub fn verify_credentials_url(&self) -> String {
        format!("{}/1.1/account/verify_credentials.json", self.base_url)
    }

    pub fn request_token_calls(&self) -> usize {
        self.calls(Endpoint::RequestToken)
    }

    pub fn authenticate_calls(&self) -> usize {
        self.calls(Endpoint::Authenticate)
    }

    pub fn access_token_calls(&self) -> usize {
        self.calls(Endpoint::AccessToken)
    }

    pub fn verify_credentials_calls(&self) -> usize {
        self.calls(Endpoint::VerifyCredentials)
    }

    /// When false, `request_token` answers `oauth_callback_confirmed=false`.
    pub fn set_callback_confirmed(&self, confirmed: bool) {
        self.state().callback_unconfirmed = !confirmed;
    }
}

/// A refusal with Twitter's error shape: status, error code, message; and the fake's reason.
fn refuse(status: u16, code: u32, message: &str, reason: impl Into<String>) -> Reject {
    let body = json!({"errors": [{"code": code, "message": message}]});
    Reject::new(reason, server::json(status, &body))
}

fn unauthorized(reason: impl Into<String>) -> Reject {
    refuse(401, 32, "Could not authenticate you.", reason)
}

fn bad_token(reason: impl Into<String>) -> Reject {
    refuse(401, 89, "Invalid or expired token.", reason)
}

impl Provider for TwitterConfig {
    type Endpoint = Endpoint;
    type State = State;
    const AUTHORIZE: Endpoint = Endpoint::Authenticate;

    fn route(&self, path: &str) -> Option<Endpoint> {
        Some(match path {
            "/oauth/request_token" => Endpoint::RequestToken,
            "/oauth/authenticate" => Endpoint::Authenticate,
            "/oauth/access_token" => Endpoint::AccessToken,
            "/1.1/account/verify_credentials.json" => Endpoint::VerifyCredentials,
            _ => return None,
        })
    }

    fn not_found(&self, _path: &str) -> Response<FakeBody> {
        let message = "Sorry, that page does not exist.";
        server::json(404, &json!({"errors": [{"code": 34, "message": message}]}))
    }

    fn answer(
        fake: &FakeTwitter,
        endpoint: Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        let expected_method = match endpoint {
            Endpoint::RequestToken | Endpoint::AccessToken => Method::POST,
            Endpoint::Authenticate | Endpoint::VerifyCredentials => Method::GET,
        };
        if parts.method != expected_method {
            let reason = format!("{} {} not allowed", parts.method, parts.uri.path());
            return Err(refuse(405, 34, "Sorry, that page does not exist.", reason));
        }
        if endpoint == Endpoint::Authenticate {
            return Ok(authenticate(fake, parts));
        }
        let form = server::is_form(&parts.headers).then_some(body);
        let mut state = fake.state();
        let params = verify(fake.config(), &mut state, endpoint, parts, form)?;
        match endpoint {
            Endpoint::RequestToken => request_token(&mut state, params),
            Endpoint::AccessToken => access_token(fake.config(), &mut state, params),
            _ if params.token.is_none() => Err(bad_token("no oauth_token")),
            _ => Ok(verify_credentials(fake.config(), parts)),
        }
    }
}

/// `http://{Host}{path}`: what the client must have signed.
fn signed_uri(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    format!("http://{host}{}", parts.uri.path())
}

/// Signature (keyed with the secret of the kind of token `endpoint` takes), then consumer
/// key, timestamp window and nonce (recorded once verified).
fn verify(
    cfg: &TwitterConfig,
    state: &mut State,
    endpoint: Endpoint,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<OAuthParams, Reject> {
    let auth = parts
        .headers
        .get(AUTHORIZATION)
        .map(|h| {
            h.to_str()
                .map_err(|_| unauthorized("non-ASCII Authorization"))
        })
        .transpose()?;
    let params = oauth1_verify::verify(
        parts.method.as_str(),
        &signed_uri(parts),
        parts.uri.query(),
        form,
        auth,
        &cfg.consumer_secret,
        |token| match endpoint {
            // A request token request carries no token: any oauth_token is unknown.
            Endpoint::RequestToken => None,
            Endpoint::AccessToken => state.request_tokens.get(token).map(|rt| rt.secret.clone()),
            _ => state.access_tokens.get(token).cloned(),
        },
    )
    .map_err(unauthorized)?;
    if params.consumer_key != cfg.consumer_key {
        return Err(unauthorized(format!(
            "unknown consumer key {}",
            params.consumer_key
        )));
    }
    if clock::now().abs_diff(params.timestamp) > TIMESTAMP_WINDOW_SECS {
        let reason = format!("stale oauth_timestamp {}", params.timestamp);
        return Err(refuse(401, 135, "Timestamp out of bounds.", reason));
    }
    if !state.nonces.insert(params.nonce.clone()) {
        return Err(unauthorized(format!("reused oauth_nonce {}", params.nonce)));
    }
    Ok(params)
}

fn form_response(pairs: &[(&str, &str)]) -> Response<FakeBody> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    server::response(200, "application/x-www-form-urlencoded", body)
}

fn request_token(state: &mut State, params: OAuthParams) -> Result<Response<FakeBody>, Reject> {
    let callback = params
        .callback
        .ok_or_else(|| unauthorized("no oauth_callback"))?;
    if callback != "oob" && url::Url::parse(&callback).is_err() {
        return Err(unauthorized(format!(
            "oauth_callback not a URL: {callback}"
        )));
    }
    let token = server::random_token("rt-", 16);
    let secret = server::random_token("rts-", 16);
    state.request_tokens.insert(
        token.clone(),
        RequestToken {
            secret: secret.clone(),
            callback,
            verifier: None,
            used: false,
        },
    );
    let confirmed = (!state.callback_unconfirmed).to_string();
    Ok(form_response(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", &confirmed),
    ]))
}

/// The user signs in and approves (or denies): back to the callback.
/// Twitter answers a bad request token here with a page, not an API error.
fn authenticate(fake: &FakeTwitter, parts: &Parts) -> Response<FakeBody> {
    let page = |status, msg: &str| {
        server::html(
            status,
            &format!("<!DOCTYPE html><html><body><h1>{msg}</h1></body></html>"),
        )
    };
    let query = server::query_pairs(&parts.uri);
    let Some(token) = server::param(&query, "oauth_token") else {
        return page(400, "Whoa there! No request token.");
    };
    let mut state = fake.state();
    let Some(rt) = state.request_tokens.get_mut(token) else {
        return page(
            400,
            "Whoa there! The request token for this page is invalid.",
        );
    };
    if rt.used {
        return page(400, "Whoa there! This request token has already been used.");
    }
    let location = if fake.user_denies() {
        harness::back_to(&rt.callback, &[("denied", token)])
    } else {
        let verifier = rt
            .verifier
            .get_or_insert_with(|| server::random_token("v-", 12));
        harness::back_to(
            &rt.callback,
            &[("oauth_token", token), ("oauth_verifier", verifier)],
        )
    };
    server::redirect(&location)
}

fn access_token(
    cfg: &TwitterConfig,
    state: &mut State,
    params: OAuthParams,
) -> Result<Response<FakeBody>, Reject> {
    let token = params.token.ok_or_else(|| bad_token("no oauth_token"))?;
    let rt = state
        .request_tokens
        .get_mut(&token)
        .ok_or_else(|| bad_token("unknown request token"))?;
    if rt.used {
        return Err(bad_token(format!("request token {token} already used")));
    }
    rt.used = true;
    match (&params.verifier, &rt.verifier) {
        (Some(given), Some(issued)) if given == issued => {}
        (None, _) => return Err(unauthorized("no oauth_verifier")),
        (Some(given), _) => return Err(unauthorized(format!("wrong oauth_verifier {given}"))),
    }
    let access = server::random_token(&format!("{}-", cfg.user_id), 16);
    let access_secret = server::random_token("ats-", 16);
    state
        .access_tokens
        .insert(access.clone(), access_secret.clone());
    Ok(form_response(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &access_secret),
        ("user_id", &cfg.user_id),
        ("screen_name", &cfg.screen_name),
    ]))
}

/// The signed request carried a valid access token: the user.
fn verify_credentials(cfg: &TwitterConfig, parts: &Parts) -> Response<FakeBody> {
    let query = server::query_pairs(&parts.uri);
    let mut user = json!({
        "id": cfg.user_id.parse::<u64>().unwrap_or(0),
        "id_str": cfg.user_id,
        "screen_name": cfg.screen_name,
        "name": cfg.name,
    });
    if server::param(&query, "include_email") == Some("true") {
        if let Some(email) = &cfg.email {
            user["email"] = json!(email);
        }
    }
    server::json(200, &user)
}
