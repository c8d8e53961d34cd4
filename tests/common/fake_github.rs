//! A strict fake of GitHub's OAuth web flow and REST API on one base URL, laid out like
//! GitHub Enterprise Server: `/login/oauth/authorize` (the user approves or denies),
//! `/login/oauth/access_token` (code exchange: client authentication, single-use code,
//! byte-equal `redirect_uri`, S256 PKCE), and the API under `/api/v3`: `/user` and
//! `/user/emails` (bearer token, `User-Agent`, `Accept: application/vnd.github+json` or
//! `application/json`, recorded).
//!
//! Like GitHub, the token endpoint answers refusals with status **200** and an `error`
//! member (`bad_verification_code`, `incorrect_client_credentials`, `redirect_uri_mismatch`),
//! and answers form-encoded unless asked for JSON. `/user/emails` is 404 for a token without
//! the `user:email` scope. Every rejection is recorded in [`FakeGitHub::rejections`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::{json, Value};

use super::fake_facebook::pkce_challenge;
use super::fault::Fault;
use super::server::{self, FakeBody};

/// How the fake's token endpoint wants the client to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_id` and `client_secret` in the form body (what GitHub documents).
    Post,
    /// HTTP Basic, id and secret form-urlencoded first (RFC 6749 §2.3.1).
    Basic,
}

#[derive(Clone, Debug)]
pub struct Email {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

#[derive(Clone, Debug)]
pub struct GitHubConfig {
    pub client_id: String,
    pub client_secret: String,
    pub token_auth: TokenAuth,
    pub user_id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The public profile email (`null` in `/user` when `None`).
    pub public_email: Option<String>,
    pub emails: Vec<Email>,
}

impl GitHubConfig {
    /// `gh-client-id` / `gh-client-secret` (Post), user 583231 `octocat` "The Octocat" with a
    /// public email and, in `/user/emails`, a verified primary one.
    pub fn new() -> Self {
        GitHubConfig {
            client_id: "gh-client-id".into(),
            client_secret: "gh-client-secret".into(),
            token_auth: TokenAuth::Post,
            user_id: 583231,
            login: "octocat".into(),
            name: Some("The Octocat".into()),
            public_email: Some("octocat@github.com".into()),
            emails: vec![
                Email {
                    email: "old@example.com".into(),
                    primary: false,
                    verified: true,
                },
                Email {
                    email: "octo.primary@example.com".into(),
                    primary: true,
                    verified: true,
                },
            ],
        }
    }
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    User,
    Emails,
}

/// A running fake GitHub. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct FakeGitHub {
    /// `http://127.0.0.1:PORT`: the web host; the API is at `{base_url}/api/v3`.
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    cfg: GitHubConfig,
    calls: [AtomicUsize; 4],
    user_denies: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    faults: HashMap<Endpoint, Fault>,
    codes: HashMap<String, Code>,
    /// access token -> granted scopes
    tokens: HashMap<String, String>,
    last_authorize: Vec<(String, String)>,
    token_auth_seen: Vec<TokenAuth>,
    api_accept_seen: Vec<String>,
    rejections: Vec<String>,
}

struct Code {
    redirect_uri: String,
    challenge: String,
    scope: String,
    used: bool,
}

pub async fn start(cfg: GitHubConfig) -> FakeGitHub {
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
    FakeGitHub {
        base_url: served.base_url(),
        addr: served.addr,
        shared,
    }
}

impl FakeGitHub {
    pub fn config(&self) -> &GitHubConfig {
        &self.shared.cfg
    }

    /// `{base_url}/api/v3`, as GitHub Enterprise Server lays it out.
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.base_url)
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.shared.calls[endpoint as usize].load(Ordering::SeqCst)
    }

    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.lock().faults.insert(endpoint, fault);
    }

    /// When true, the authorize page redirects back with `error=access_denied`.
    pub fn set_user_denies(&self, denies: bool) {
        self.shared.user_denies.store(denies, Ordering::SeqCst);
    }

    pub fn last_authorize_params(&self) -> Vec<(String, String)> {
        self.shared.lock().last_authorize.clone()
    }

    /// How each accepted token request authenticated, oldest first.
    pub fn token_auth_seen(&self) -> Vec<TokenAuth> {
        self.shared.lock().token_auth_seen.clone()
    }

    /// The `Accept` header of each accepted API call, oldest first.
    pub fn api_accept_seen(&self) -> Vec<String> {
        self.shared.lock().api_accept_seen.clone()
    }

    pub fn rejections(&self) -> Vec<String> {
        self.shared.lock().rejections.clone()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Reject {
    /// An HTML error page (the authorize page).
    Page(String),
    /// GitHub's token-endpoint refusal: status 200, `{"error": code, ...}`.
    OAuth(&'static str, String),
    /// A REST API error: status and message.
    Api(u16, String),
}

impl Reject {
    fn reason(&self) -> String {
        match self {
            Reject::Page(r) | Reject::Api(_, r) => r.clone(),
            Reject::OAuth(code, r) => format!("{code}: {r}"),
        }
    }

    fn into_response(self) -> Response<FakeBody> {
        match self {
            Reject::Page(msg) => server::html(
                400,
                &format!("<!DOCTYPE html><html><body><p>{msg}</p></body></html>"),
            ),
            Reject::OAuth(code, description) => server::json(
                200,
                &json!({"error": code, "error_description": description,
                        "error_uri": "https://docs.github.com/apps/troubleshooting"}),
            ),
            Reject::Api(status, msg) => server::json(
                status,
                &json!({"message": msg, "documentation_url": "https://docs.github.com/rest"}),
            ),
        }
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<FakeBody> {
    let endpoint = match req.uri().path() {
        "/login/oauth/authorize" => Endpoint::Authorize,
        "/login/oauth/access_token" => Endpoint::Token,
        "/api/v3/user" => Endpoint::User,
        "/api/v3/user/emails" => Endpoint::Emails,
        _ => return server::json(404, &json!({"message": "Not Found"})),
    };
    shared.calls[endpoint as usize].fetch_add(1, Ordering::SeqCst);
    let fault = shared.lock().faults.get(&endpoint).cloned();
    if let Some(resp) = fault.unwrap_or_default().respond().await {
        return resp;
    }
    let (parts, body) = req.into_parts();
    let body = server::read_body(body).await;
    let result = match (endpoint, &parts.method) {
        (Endpoint::Authorize, &Method::GET) => authorize(&shared, &parts),
        (Endpoint::Token, &Method::POST) if server::is_form(&parts.headers) => {
            token(&shared, &parts, &body)
        }
        (Endpoint::User, &Method::GET) => user(&shared, &parts),
        (Endpoint::Emails, &Method::GET) => emails(&shared, &parts),
        (_, method) => Err(Reject::Api(404, format!("{method} not supported here"))),
    };
    result.unwrap_or_else(|reject| {
        let entry = format!("{endpoint:?}: {}", reject.reason());
        shared.lock().rejections.push(entry);
        reject.into_response()
    })
}

fn authorize(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let cfg = &shared.cfg;
    let q = server::query_pairs(&parts.uri);
    shared.lock().last_authorize = q.clone();
    let get = |name| server::param(&q, name);
    if get("client_id") != Some(cfg.client_id.as_str()) {
        return Err(Reject::Page(format!(
            "unknown client_id {:?}",
            get("client_id")
        )));
    }
    let redirect_uri = get("redirect_uri").unwrap_or("");
    if !url::Url::parse(redirect_uri).is_ok_and(|u| u.host().is_some()) {
        return Err(Reject::Page(format!("bad redirect_uri {redirect_uri:?}")));
    }
    let state = match get("state") {
        Some(s) if s.len() >= 32 => s,
        other => return Err(Reject::Page(format!("state missing or short: {other:?}"))),
    };
    if get("code_challenge_method") != Some("S256") {
        return Err(Reject::Page("code_challenge_method must be S256".into()));
    }
    let challenge = get("code_challenge").unwrap_or("");
    if challenge.len() != 43 {
        return Err(Reject::Page(format!("bad code_challenge {challenge:?}")));
    }
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    if shared.user_denies.load(Ordering::SeqCst) {
        return Ok(server::redirect(&format!(
            "{redirect_uri}{sep}error=access_denied&error_description=The+user+has+denied+your+application+access.&state={}",
            enc(state)
        )));
    }
    let code = server::random_token("", 10);
    shared.lock().codes.insert(
        code.clone(),
        Code {
            redirect_uri: redirect_uri.to_owned(),
            challenge: challenge.to_owned(),
            scope: get("scope").unwrap_or("").to_owned(),
            used: false,
        },
    );
    Ok(server::redirect(&format!(
        "{redirect_uri}{sep}code={}&state={}",
        enc(&code),
        enc(state)
    )))
}

/// The client credentials of a token request, and how they were sent.
fn client_credentials(
    parts: &Parts,
    form: &[(String, String)],
) -> Result<(TokenAuth, String, String), Reject> {
    let in_body = server::param(form, "client_secret").is_some();
    let basic = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "));
    match (basic, in_body) {
        (Some(_), true) => Err(Reject::OAuth(
            "invalid_request",
            "client authenticated twice (Basic and body)".into(),
        )),
        (Some(encoded), false) => {
            // RFC 6749 §2.3.1: base64 of urlencoded(id) ":" urlencoded(secret).
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .ok_or_else(|| Reject::OAuth("invalid_request", "bad Basic header".into()))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| Reject::OAuth("invalid_request", "Basic without ':'".into()))?;
            let unescape = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            if form.iter().any(|(k, _)| k == "client_id") {
                return Err(Reject::OAuth(
                    "invalid_request",
                    "client_id in the body with Basic authentication".into(),
                ));
            }
            Ok((TokenAuth::Basic, unescape(id), unescape(secret)))
        }
        (None, true) => Ok((
            TokenAuth::Post,
            server::param(form, "client_id").unwrap_or("").to_owned(),
            server::param(form, "client_secret")
                .unwrap_or("")
                .to_owned(),
        )),
        (None, false) => Err(Reject::OAuth(
            "incorrect_client_credentials",
            "no client credentials".into(),
        )),
    }
}

fn token(shared: &Shared, parts: &Parts, body: &[u8]) -> Result<Response<FakeBody>, Reject> {
    let cfg = &shared.cfg;
    let form = server::form_pairs(body);
    let (auth, id, secret) = client_credentials(parts, &form)?;
    if auth != cfg.token_auth {
        return Err(Reject::OAuth(
            "incorrect_client_credentials",
            format!(
                "expected {:?} client authentication, got {auth:?}",
                cfg.token_auth
            ),
        ));
    }
    if id != cfg.client_id || secret != cfg.client_secret {
        return Err(Reject::OAuth(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.".into(),
        ));
    }
    let get = |name| server::param(&form, name);
    if get("grant_type").is_some_and(|g| g != "authorization_code") {
        return Err(Reject::OAuth(
            "unsupported_grant_type",
            "bad grant_type".into(),
        ));
    }
    let code = get("code").unwrap_or("");
    let mut state = shared.lock();
    let Some(entry) = state.codes.get_mut(code) else {
        return Err(Reject::OAuth(
            "bad_verification_code",
            "The code passed is incorrect or expired.".into(),
        ));
    };
    if entry.used {
        return Err(Reject::OAuth(
            "bad_verification_code",
            "The code passed is incorrect or expired.".into(),
        ));
    }
    entry.used = true;
    if get("redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(Reject::OAuth(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.".into(),
        ));
    }
    let verifier = get("code_verifier").unwrap_or("");
    if pkce_challenge(verifier) != entry.challenge {
        return Err(Reject::OAuth(
            "invalid_grant",
            "The code_verifier does not match the challenge.".into(),
        ));
    }
    let scope = entry.scope.replace(' ', ",");
    let access_token = server::random_token("gho_", 18);
    state.tokens.insert(access_token.clone(), scope.clone());
    state.token_auth_seen.push(auth);
    drop(state);
    let wants_json = parts
        .headers
        .get(ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.contains("application/json"));
    if wants_json {
        Ok(server::json(
            200,
            &json!({"access_token": access_token, "token_type": "bearer", "scope": scope}),
        ))
    } else {
        // What GitHub answers without `Accept: application/json`.
        Ok(server::response(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            format!("access_token={access_token}&scope={scope}&token_type=bearer"),
        ))
    }
}

/// Checks the REST API's headers and token; returns the token's scopes.
fn api_token(shared: &Shared, parts: &Parts) -> Result<String, Reject> {
    if parts.headers.get(USER_AGENT).is_none() {
        return Err(Reject::Api(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header".into(),
        ));
    }
    let accept = parts
        .headers
        .get(ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if accept != "application/vnd.github+json" && accept != "application/json" {
        return Err(Reject::Api(415, format!("unexpected Accept {accept:?}")));
    }
    shared.lock().api_accept_seen.push(accept.to_owned());
    let token = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("token "))
        })
        .ok_or_else(|| Reject::Api(401, "Requires authentication".into()))?;
    shared
        .lock()
        .tokens
        .get(token)
        .cloned()
        .ok_or_else(|| Reject::Api(401, "Bad credentials".into()))
}

fn user(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    api_token(shared, parts)?;
    let cfg = &shared.cfg;
    Ok(server::json(
        200,
        &json!({
            "login": cfg.login, "id": cfg.user_id, "node_id": "MDQ6VXNlcjE=",
            "type": "User", "site_admin": false,
            "name": cfg.name, "email": cfg.public_email,
            "created_at": "2011-01-25T18:44:36Z",
        }),
    ))
}

fn emails(shared: &Shared, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let scopes = api_token(shared, parts)?;
    if !scopes.split(',').any(|s| s == "user:email" || s == "user") {
        return Err(Reject::Api(404, "Not Found".into()));
    }
    let list: Vec<Value> = shared
        .cfg
        .emails
        .iter()
        .map(|e| {
            json!({"email": e.email, "primary": e.primary, "verified": e.verified,
                   "visibility": if e.primary { Value::from("private") } else { Value::Null }})
        })
        .collect();
    Ok(server::json(200, &Value::Array(list)))
}
