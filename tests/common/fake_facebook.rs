//! A strict fake of Facebook Login (OAuth 2.0 authorization code flow with PKCE) and the
//! Graph API `/me`, all on one base URL: `/{ver}/dialog/oauth` (the user approves or
//! denies), `/{ver}/oauth/access_token` (code exchange: client credentials, single-use
//! code, byte-equal `redirect_uri`, S256 PKCE) and `/{ver}/me` (bearer token and
//! `appsecret_proof`). Another API version answers 404.
//!
//! Errors are Facebook-shaped (`{"error":{..,"type":"OAuthException",..}}`) with an
//! `x-fake-reason` header; [`FakeFacebook::rejections`] lists the reasons.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::fault::Fault;
use super::server::{self, FakeBody};

#[derive(Clone, Debug)]
pub struct FacebookConfig {
    pub app_id: String,
    pub app_secret: String,
    /// e.g. `v19.0`
    pub api_version: String,
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    /// `/me` requires `appsecret_proof = hex(HMAC-SHA256(app_secret, access_token))`.
    pub require_appsecret_proof: bool,
}

impl FacebookConfig {
    /// `fb-app-id` / `fb-app-secret`, `v19.0`, user 10001 "Mark Z" <mark@example.com>,
    /// appsecret_proof required.
    pub fn new() -> Self {
        FacebookConfig {
            app_id: "fb-app-id".into(),
            app_secret: "fb-app-secret".into(),
            api_version: "v19.0".into(),
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

/// A running fake Facebook. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeFacebook {
    /// `http://127.0.0.1:PORT`, both the dialog and the Graph host.
    pub base_url: String,
    pub addr: SocketAddr,
    /// TCP connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    shared: Arc<Shared>,
}

struct Shared {
    cfg: FacebookConfig,
    calls: [AtomicUsize; 3],
    user_denies: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    faults: HashMap<Endpoint, Fault>,
    codes: HashMap<String, Code>,
    tokens: HashSet<String>,
    last_dialog: Vec<(String, String)>,
    rejections: Vec<String>,
}

struct Code {
    redirect_uri: String,
    challenge: String,
    used: bool,
}

pub async fn start(cfg: FacebookConfig) -> FakeFacebook {
    let shared = Arc::new(Shared {
        cfg,
        calls: Default::default(),
        user_denies: AtomicBool::new(false),
        state: Mutex::new(State::default()),
    });
    let for_service = shared.clone();
    let service = tower::service_fn(move |req: Request<Incoming>| {
        let shared = for_service.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(shared, req).await) }
    });
    let served = server::serve_counted(service).await;
    FakeFacebook {
        base_url: served.base_url(),
        addr: served.addr,
        connections: served.connections,
        shared,
    }
}

impl FakeFacebook {
    pub fn config(&self) -> &FacebookConfig {
        &self.shared.cfg
    }

    pub fn dialog_url(&self) -> String {
        format!(
            "{}/{}/dialog/oauth",
            self.base_url, self.shared.cfg.api_version
        )
    }

    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth/access_token",
            self.base_url, self.shared.cfg.api_version
        )
    }

    pub fn me_url(&self) -> String {
        format!("{}/{}/me", self.base_url, self.shared.cfg.api_version)
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.calls[endpoint as usize].load(Ordering::SeqCst)
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

    /// From now on, answer `endpoint` with `fault` (`Fault::None` restores it).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.lock().faults.insert(endpoint, fault);
    }

    /// When true, the dialog redirects back with `error=access_denied`.
    pub fn set_user_denies(&self, denies: bool) {
        self.shared.user_denies.store(denies, Ordering::SeqCst);
    }

    /// Query parameters of the last dialog request (e.g. to check `scope`).
    pub fn last_dialog_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_dialog.clone()
    }

    /// Why each rejected request was rejected, oldest first.
    pub fn rejections(&self) -> Vec<String> {
        self.shared.lock().rejections.clone()
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// `hex(HMAC-SHA256(key = app_secret, message = access_token))`, as `/me` expects.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(access_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `base64url_nopad(sha256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Reject {
    /// An HTML error page (the dialog).
    Page(String),
    /// A Graph API error: code and message.
    Graph(u32, String),
}

impl Reject {
    fn reason(&self) -> &str {
        match self {
            Reject::Page(r) | Reject::Graph(_, r) => r,
        }
    }

    fn into_response(self) -> Response<FakeBody> {
        let reason = self.reason().replace(['\r', '\n'], " ");
        let mut resp = match &self {
            Reject::Page(msg) => server::html(
                400,
                &format!("<!DOCTYPE html><html><body><h1>Error</h1><p>{msg}</p></body></html>"),
            ),
            Reject::Graph(code, msg) => server::json(
                400,
                &json!({"error": {"message": msg, "type": "OAuthException",
                                   "code": code, "fbtrace_id": "x"}}),
            ),
        };
        if let Ok(v) = http::HeaderValue::from_str(&reason) {
            resp.headers_mut().insert("x-fake-reason", v);
        }
        resp
    }
}

fn graph(code: u32, msg: impl Into<String>) -> Reject {
    Reject::Graph(code, msg.into())
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<FakeBody> {
    let path = req.uri().path().to_owned();
    let (version, rest) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .unwrap_or(("", ""));
    let endpoint = match rest {
        "dialog/oauth" => Endpoint::Dialog,
        "oauth/access_token" => Endpoint::Token,
        "me" => Endpoint::Me,
        _ => return not_found(&path),
    };
    shared.calls[endpoint as usize].fetch_add(1, Ordering::SeqCst);
    if version != shared.cfg.api_version {
        return not_found(&path);
    }
    let fault = shared.lock().faults.get(&endpoint).cloned();
    if let Some(resp) = fault.unwrap_or_default().respond().await {
        return resp;
    }

    let (parts, body) = req.into_parts();
    let body = server::read_body(body).await;
    let result = match (endpoint, &parts.method) {
        (Endpoint::Dialog, &Method::GET) => dialog(&shared, &parts),
        (Endpoint::Token, &Method::GET) => token(&shared, &parts, None),
        (Endpoint::Token, &Method::POST) => {
            let form = server::is_form(&parts.headers).then_some(&body[..]);
            token(&shared, &parts, form)
        }
        (Endpoint::Me, &Method::GET) => me(&shared, &parts),
        (_, method) => Err(graph(100, format!("method {method} not supported here"))),
    };
    result.unwrap_or_else(|reject| {
        let entry = format!("{:?}: {}", endpoint, reject.reason());
        shared.lock().rejections.push(entry);
        reject.into_response()
    })
}

fn not_found(path: &str) -> Response<FakeBody> {
    server::json(
        404,
        &json!({"error": {"message": format!("Unknown path {path}"),
                          "type": "OAuthException", "code": 803, "fbtrace_id": "x"}}),
    )
}

fn dialog(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let cfg = &shared.cfg;
    let q = server::query_pairs(&parts.uri);
    shared.lock().last_dialog = q.clone();
    let get = |name| server::param(&q, name);
    if get("client_id") != Some(cfg.app_id.as_str()) {
        return Err(Reject::Page(format!(
            "Invalid App ID: {:?}",
            get("client_id")
        )));
    }
    let redirect_uri = get("redirect_uri").unwrap_or("");
    let valid_redirect = url::Url::parse(redirect_uri)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !valid_redirect {
        return Err(Reject::Page(format!(
            "Invalid redirect_uri {redirect_uri:?}"
        )));
    }
    let state = match get("state") {
        Some(s) if !s.is_empty() => s,
        _ => return Err(Reject::Page("missing state".into())),
    };
    if get("response_type").is_some_and(|t| t != "code") {
        return Err(Reject::Page(format!(
            "unsupported response_type {:?}",
            get("response_type")
        )));
    }
    if get("code_challenge_method") != Some("S256") {
        return Err(Reject::Page(format!(
            "code_challenge_method must be S256, got {:?}",
            get("code_challenge_method")
        )));
    }
    let challenge = get("code_challenge").unwrap_or("");
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(Reject::Page(format!(
            "invalid code_challenge {challenge:?}"
        )));
    }

    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = if shared.user_denies.load(Ordering::SeqCst) {
        format!(
            "{redirect_uri}{sep}error=access_denied&error_code=200\
             &error_description=Permissions+error&error_reason=user_denied&state={}#_=_",
            enc(state)
        )
    } else {
        let code = server::random_token("code-", 24);
        shared.lock().codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect_uri.to_owned(),
                challenge: challenge.to_owned(),
                used: false,
            },
        );
        // Like Facebook, append the `#_=_` fragment browsers keep but never send.
        format!(
            "{redirect_uri}{sep}code={}&state={}#_=_",
            enc(&code),
            enc(state)
        )
    };
    Ok(server::redirect(&location))
}

fn token(
    shared: &Shared,
    parts: &Parts,
    form: Option<&[u8]>,
) -> Result<Response<FakeBody>, Reject> {
    let cfg = &shared.cfg;
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
    let mut state = shared.lock();
    let entry = state
        .codes
        .get_mut(code)
        .ok_or_else(|| graph(100, "Invalid verification code format."))?;
    if entry.used {
        return Err(graph(100, "This authorization code has been used."));
    }
    entry.used = true; // burnt, whatever happens next
    if get("redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(graph(
            100,
            format!(
                "Error validating verification code. Please make sure your redirect_uri is \
                 identical to the one you used in the OAuth dialog request ({:?} != {:?})",
                get("redirect_uri"),
                entry.redirect_uri
            ),
        ));
    }
    let verifier = get("code_verifier").ok_or_else(|| graph(100, "Missing code_verifier"))?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err(graph(100, format!("Malformed code_verifier {verifier:?}")));
    }
    if pkce_challenge(verifier) != entry.challenge {
        return Err(graph(100, "Invalid code verifier"));
    }
    let access_token = server::random_token("EAA", 32);
    state.tokens.insert(access_token.clone());
    Ok(server::json(
        200,
        &json!({"access_token": access_token, "token_type": "bearer", "expires_in": 5183944}),
    ))
}

fn me(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let cfg = &shared.cfg;
    let q = server::query_pairs(&parts.uri);
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
        })
        .map(str::trim);
    let token = bearer
        .or_else(|| server::param(&q, "access_token"))
        .ok_or_else(|| {
            graph(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        })?;
    if !shared.lock().tokens.contains(token) {
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
