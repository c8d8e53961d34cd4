//! A strict fake of Twitter's OAuth 1.0a "Sign in with Twitter" endpoints
//! (`/oauth/request_token`, `/oauth/authenticate`, `/oauth/access_token`) and
//! `/1.1/account/verify_credentials.json`, checking every signature with the independent
//! [`super::oauth1_verify`], timestamps (±300 s), nonces (never reused, across all
//! endpoints) and single-use request tokens.
//!
//! Rejections answer 401 with Twitter's JSON error shape and an `x-fake-reason` header;
//! [`FakeTwitter::rejections`] lists the reasons.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use http::header::{AUTHORIZATION, HOST};
use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::json;

use super::fault::Fault;
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

const ENDPOINTS: usize = 4;

/// A running fake Twitter. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeTwitter {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub addr: SocketAddr,
    /// TCP connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    shared: Arc<Shared>,
}

struct Shared {
    cfg: TwitterConfig,
    calls: [AtomicUsize; ENDPOINTS],
    callback_confirmed: AtomicBool,
    user_denies: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    faults: HashMap<Endpoint, Fault>,
    nonces: HashSet<String>,
    request_tokens: HashMap<String, RequestToken>,
    /// access token -> secret
    access_tokens: HashMap<String, String>,
    rejections: Vec<String>,
}

struct RequestToken {
    secret: String,
    callback: String,
    verifier: Option<String>,
    used: bool,
}

pub async fn start(cfg: TwitterConfig) -> FakeTwitter {
    let shared = Arc::new(Shared {
        cfg,
        calls: Default::default(),
        callback_confirmed: AtomicBool::new(true),
        user_denies: AtomicBool::new(false),
        state: Mutex::new(State::default()),
    });
    let for_service = shared.clone();
    let service = tower::service_fn(move |req: Request<Incoming>| {
        let shared = for_service.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(shared, req).await) }
    });
    let served = server::serve_counted(service).await;
    FakeTwitter {
        base_url: served.base_url(),
        addr: served.addr,
        connections: served.connections,
        shared,
    }
}

impl FakeTwitter {
    pub fn config(&self) -> &TwitterConfig {
        &self.shared.cfg
    }

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

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.calls[endpoint as usize].load(Ordering::SeqCst)
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

    /// From now on, answer `endpoint` with `fault` (`Fault::None` restores it).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.lock().faults.insert(endpoint, fault);
    }

    /// When false, `request_token` answers `oauth_callback_confirmed=false`.
    pub fn set_callback_confirmed(&self, confirmed: bool) {
        self.shared
            .callback_confirmed
            .store(confirmed, Ordering::SeqCst);
    }

    /// When true, `authenticate` redirects back with `denied=TOKEN`.
    pub fn set_user_denies(&self, denies: bool) {
        self.shared.user_denies.store(denies, Ordering::SeqCst);
    }

    /// Why each rejected request was rejected, oldest first.
    pub fn rejections(&self) -> Vec<String> {
        self.shared.lock().rejections.clone()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A refusal: status, Twitter error code and message, and the fake's own reason.
struct Reject {
    status: u16,
    code: u32,
    message: &'static str,
    reason: String,
}

fn unauthorized(reason: impl Into<String>) -> Reject {
    Reject {
        status: 401,
        code: 32,
        message: "Could not authenticate you.",
        reason: reason.into(),
    }
}

fn bad_token(reason: impl Into<String>) -> Reject {
    Reject {
        status: 401,
        code: 89,
        message: "Invalid or expired token.",
        reason: reason.into(),
    }
}

impl Reject {
    fn into_response(self) -> Response<FakeBody> {
        let body = json!({"errors": [{"code": self.code, "message": self.message}]});
        let mut resp = server::json(self.status, &body);
        if let Ok(v) = http::HeaderValue::from_str(&self.reason.replace(['\r', '\n'], " ")) {
            resp.headers_mut().insert("x-fake-reason", v);
        }
        resp
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<FakeBody> {
    let endpoint = match req.uri().path() {
        "/oauth/request_token" => Endpoint::RequestToken,
        "/oauth/authenticate" => Endpoint::Authenticate,
        "/oauth/access_token" => Endpoint::AccessToken,
        "/1.1/account/verify_credentials.json" => Endpoint::VerifyCredentials,
        _ => {
            let body =
                json!({"errors": [{"code": 34, "message": "Sorry, that page does not exist."}]});
            return server::json(404, &body);
        }
    };
    shared.calls[endpoint as usize].fetch_add(1, Ordering::SeqCst);
    let fault = shared.lock().faults.get(&endpoint).cloned();
    if let Some(resp) = fault.unwrap_or_default().respond().await {
        return resp;
    }

    let (parts, body) = req.into_parts();
    let body = server::read_body(body).await;
    let expected_method = match endpoint {
        Endpoint::RequestToken | Endpoint::AccessToken => Method::POST,
        Endpoint::Authenticate | Endpoint::VerifyCredentials => Method::GET,
    };
    let result = if parts.method != expected_method {
        Err(Reject {
            status: 405,
            code: 34,
            message: "Sorry, that page does not exist.",
            reason: format!("{} {} not allowed", parts.method, parts.uri.path()),
        })
    } else {
        let form = server::is_form(&parts.headers).then_some(&body[..]);
        match endpoint {
            Endpoint::RequestToken => request_token(&shared, &parts, form),
            Endpoint::Authenticate => authenticate(&shared, &parts),
            Endpoint::AccessToken => access_token(&shared, &parts, form),
            Endpoint::VerifyCredentials => verify_credentials(&shared, &parts, form),
        }
    };
    result.unwrap_or_else(|reject| {
        shared
            .lock()
            .rejections
            .push(format!("{:?}: {}", endpoint, reject.reason));
        reject.into_response()
    })
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

/// Signature, then consumer key, timestamp window and nonce (recorded once verified).
fn verify(
    cfg: &TwitterConfig,
    state: &mut State,
    parts: &Parts,
    form: Option<&[u8]>,
    token_secret: impl FnOnce(&State, &str) -> Option<String>,
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
        |token| token_secret(state, token),
    )
    .map_err(unauthorized)?;
    if params.consumer_key != cfg.consumer_key {
        return Err(unauthorized(format!(
            "unknown consumer key {}",
            params.consumer_key
        )));
    }
    if server::unix_now().abs_diff(params.timestamp) > TIMESTAMP_WINDOW_SECS {
        return Err(Reject {
            status: 401,
            code: 135,
            message: "Timestamp out of bounds.",
            reason: format!("stale oauth_timestamp {}", params.timestamp),
        });
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

fn request_token(
    shared: &Shared,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<Response<FakeBody>, Reject> {
    let mut state = shared.lock();
    // A request token request carries no token: any oauth_token is unknown.
    let params = verify(&shared.cfg, &mut state, parts, form, |_, _| None)?;
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
    let confirmed = shared.callback_confirmed.load(Ordering::SeqCst).to_string();
    Ok(form_response(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", &confirmed),
    ]))
}

/// The user signs in and approves (or denies): back to the callback.
fn authenticate(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let page = |status, msg: &str| {
        Ok(server::html(
            status,
            &format!("<!DOCTYPE html><html><body><h1>{msg}</h1></body></html>"),
        ))
    };
    let query = server::query_pairs(&parts.uri);
    let Some(token) = server::param(&query, "oauth_token") else {
        return page(400, "Whoa there! No request token.");
    };
    let mut state = shared.lock();
    let Some(rt) = state.request_tokens.get_mut(token) else {
        return page(
            400,
            "Whoa there! The request token for this page is invalid.",
        );
    };
    if rt.used {
        return page(400, "Whoa there! This request token has already been used.");
    }
    let sep = if rt.callback.contains('?') { '&' } else { '?' };
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let location = if shared.user_denies.load(Ordering::SeqCst) {
        format!("{}{sep}denied={}", rt.callback, enc(token))
    } else {
        let verifier = rt
            .verifier
            .get_or_insert_with(|| server::random_token("v-", 12))
            .clone();
        format!(
            "{}{sep}oauth_token={}&oauth_verifier={}",
            rt.callback,
            enc(token),
            enc(&verifier)
        )
    };
    Ok(server::redirect(&location))
}

fn access_token(
    shared: &Shared,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<Response<FakeBody>, Reject> {
    let mut state = shared.lock();
    let params = verify(&shared.cfg, &mut state, parts, form, |state, token| {
        state.request_tokens.get(token).map(|rt| rt.secret.clone())
    })?;
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
    let cfg = &shared.cfg;
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

fn verify_credentials(
    shared: &Shared,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<Response<FakeBody>, Reject> {
    let mut state = shared.lock();
    let params = verify(&shared.cfg, &mut state, parts, form, |state, token| {
        state.access_tokens.get(token).cloned()
    })?;
    if params.token.is_none() {
        return Err(bad_token("no oauth_token"));
    }
    let cfg = &shared.cfg;
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
    Ok(server::json(200, &user))
}
