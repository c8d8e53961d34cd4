//! The harness every fake provider stands on. A fake is a [`Provider`]: its configuration,
//! its routes and the checks its real counterpart makes. Everything else is here, once: the
//! server on `127.0.0.1:0`, a call counter per endpoint, the fault and delay switches
//! ([`Fault`]), the rejections and why, the user who approves or denies, single-use
//! authorization codes bound to their `redirect_uri` and PKCE challenge, the parameters the
//! client sent to the authorization endpoint, and the OAuth 2.0 request checks (client
//! credentials, bearer tokens, S256 PKCE) that every strict provider makes alike.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fault::Fault;
use super::server::{self, FakeBody};

/// What one fake provider adds to the harness. The implementing type is its configuration.
pub trait Provider: Send + Sync + Sized + 'static {
    /// The provider's endpoints, each counted, faulted and delayed on its own.
    type Endpoint: Copy + Eq + Hash + Debug + Send + Sync + 'static;
    /// What the provider remembers between requests (tokens it issued, its knobs).
    type State: Default + Send + 'static;
    /// The endpoint where the user approves or denies; its query is recorded.
    const AUTHORIZE: Self::Endpoint;

    /// The endpoint serving `path`, if any.
    fn route(&self, path: &str) -> Option<Self::Endpoint>;

    /// The provider's own "not found" answer.
    fn not_found(&self, path: &str) -> Response<FakeBody>;

    /// The provider's answer to a request the fault switches let through.
    fn answer(
        fake: &Fake<Self>,
        endpoint: Self::Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject>;
}

/// A refused request: the provider's error answer and the fake's own reason, recorded in
/// [`Fake::rejections`] and sent in an `x-fake-reason` header.
pub struct Reject {
    reason: String,
    /// Boxed: a `Result`'s error should be small.
    response: Box<Response<FakeBody>>,
}

impl Reject {
    pub fn new(reason: impl Into<String>, response: Response<FakeBody>) -> Self {
        Reject {
            reason: reason.into(),
            response: Box::new(response),
        }
    }

    /// A `400` HTML error page: what a browser sees when a login page refuses a request.
    pub fn page(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let page =
            format!("<!DOCTYPE html><html><body><h1>Error</h1><p>{reason}</p></body></html>");
        Reject::new(reason, server::html(400, &page))
    }
}

/// A running fake provider. Cheap to clone; all clones share state.
pub struct Fake<P: Provider> {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub addr: SocketAddr,
    /// TCP connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    shared: Arc<Shared<P>>,
}

impl<P: Provider> Clone for Fake<P> {
    fn clone(&self) -> Self {
        Fake {
            base_url: self.base_url.clone(),
            addr: self.addr,
            connections: self.connections.clone(),
            shared: self.shared.clone(),
        }
    }
}

struct Shared<P: Provider> {
    config: P,
    user_denies: AtomicBool,
    records: Mutex<Records<P::Endpoint>>,
    state: Mutex<P::State>,
}

/// The harness's switches and what it saw.
struct Records<E> {
    calls: HashMap<E, usize>,
    faults: HashMap<E, Fault>,
    delays: HashMap<E, Duration>,
    rejections: Vec<String>,
    last_authorize: Vec<(String, String)>,
    /// code -> (grant, redeemed already)
    codes: HashMap<String, (Grant, bool)>,
}

/// Starts the fake `config` describes on a fresh `127.0.0.1` port.
pub async fn start<P: Provider>(config: P) -> Fake<P> {
    let listener = server::bind().await;
    let addr = listener.local_addr().expect("local_addr");
    let fake = Fake {
        base_url: format!("http://{addr}"),
        addr,
        connections: Arc::default(),
        shared: Arc::new(Shared {
            config,
            user_denies: AtomicBool::new(false),
            records: Mutex::new(Records {
                calls: HashMap::new(),
                faults: HashMap::new(),
                delays: HashMap::new(),
                rejections: Vec::new(),
                last_authorize: Vec::new(),
                codes: HashMap::new(),
            }),
            state: Mutex::default(),
        }),
    };
    let for_service = fake.clone();
    let service = tower::service_fn(move |req: Request<Incoming>| {
        let fake = for_service.clone();
        async move { Ok::<_, std::convert::Infallible>(fake.handle(req).await) }
    });
    server::serve_on(listener, fake.connections.clone(), service);
    fake
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<P: Provider> Fake<P> {
    async fn handle(&self, req: Request<Incoming>) -> Response<FakeBody> {
        let config = &self.shared.config;
        let Some(endpoint) = config.route(req.uri().path()) else {
            return config.not_found(req.uri().path());
        };
        let (delay, fault) = {
            let mut records = self.records();
            *records.calls.entry(endpoint).or_default() += 1;
            if endpoint == P::AUTHORIZE {
                records.last_authorize = server::query_pairs(req.uri());
            }
            let delay = records.delays.get(&endpoint).copied();
            (delay, records.faults.get(&endpoint).cloned())
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(response) = fault.unwrap_or_default().respond().await {
            return response;
        }
        let (parts, body) = req.into_parts();
        let body = server::read_body(body).await;
        P::answer(self, endpoint, &parts, &body).unwrap_or_else(|reject| {
            let Reject {
                reason,
                mut response,
            } = reject;
            let header = http::HeaderValue::from_str(&reason.replace(['\r', '\n'], " "));
            if let Ok(value) = header {
                response.headers_mut().insert("x-fake-reason", value);
            }
            self.records()
                .rejections
                .push(format!("{endpoint:?}: {reason}"));
            *response
        })
    }

    fn records(&self) -> MutexGuard<'_, Records<P::Endpoint>> {
        lock(&self.shared.records)
    }

    pub fn config(&self) -> &P {
        &self.shared.config
    }

    /// The provider's own state.
    pub fn state(&self) -> MutexGuard<'_, P::State> {
        lock(&self.shared.state)
    }

    /// How many requests `endpoint` received, faulted ones included.
    pub fn calls(&self, endpoint: P::Endpoint) -> usize {
        self.records().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// From now on, answer `endpoint` with `fault` (`Fault::None` restores it).
    pub fn set_fault(&self, endpoint: P::Endpoint, fault: Fault) {
        self.records().faults.insert(endpoint, fault);
    }

    /// From now on `endpoint` waits `delay` before answering (normally, or with its fault).
    pub fn set_delay(&self, endpoint: P::Endpoint, delay: Duration) {
        self.records().delays.insert(endpoint, delay);
    }

    /// When true, the user refuses at the authorization endpoint.
    pub fn set_user_denies(&self, denies: bool) {
        self.shared.user_denies.store(denies, Ordering::SeqCst);
    }

    pub fn user_denies(&self) -> bool {
        self.shared.user_denies.load(Ordering::SeqCst)
    }

    /// Why each rejected request was rejected (`"Endpoint: reason"`), oldest first.
    pub fn rejections(&self) -> Vec<String> {
        self.records().rejections.clone()
    }

    /// Query parameters of the last request to the authorization endpoint.
    pub fn last_authorize_params(&self) -> Vec<(String, String)> {
        self.records().last_authorize.clone()
    }

    /// How many connections the fake has accepted.
    #[allow(
        dead_code,
        reason = "only benches/logins.rs counts the layer's connections"
    )]
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// A new single-use authorization code for `grant`.
    pub fn issue_code(&self, grant: Grant) -> String {
        let code = server::random_token("code-", 16);
        self.records().codes.insert(code.clone(), (grant, false));
        code
    }

    /// The user's answer to `grant`'s authorization request, as the URL back to the client:
    /// a new code and the `state`, or (when the user denies) `refusal` and the `state`;
    /// then `extra`.
    pub fn consent(
        &self,
        grant: Grant,
        refusal: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> String {
        let (back, state) = (grant.redirect_uri.clone(), grant.state.clone());
        let code;
        let mut params = if self.user_denies() {
            refusal.to_vec()
        } else {
            code = self.issue_code(grant);
            vec![("code", code.as_str())]
        };
        params.push(("state", &state));
        params.extend_from_slice(extra);
        back_to(&back, &params)
    }

    /// [`consent`](Self::consent) with nothing extra, as the redirect back to the client.
    pub fn redirect_back(&self, grant: Grant, refusal: &[(&str, &str)]) -> Response<FakeBody> {
        server::redirect(&self.consent(grant, refusal, &[]))
    }

    /// Redeems `code` once: the code is burnt whatever happens next, and the token request
    /// must name the authorization request's `redirect_uri` byte for byte.
    pub fn redeem_code(&self, code: &str, redirect_uri: Option<&str>) -> Result<Grant, Refusal> {
        let mut records = self.records();
        let (grant, used) = records.codes.get_mut(code).ok_or(Refusal::UnknownCode)?;
        if std::mem::replace(used, true) {
            return Err(Refusal::UsedCode);
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(Refusal::RedirectUri(grant.redirect_uri.clone()));
        }
        Ok(grant.clone())
    }
}

/// What an authorization request granted, kept with its code.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    pub redirect_uri: String,
    /// The S256 PKCE challenge.
    pub challenge: String,
    pub state: String,
    pub scope: String,
    /// OpenID Connect's `nonce` (empty for plain OAuth 2.0).
    pub nonce: String,
}

impl Grant {
    /// Whether `verifier` is the PKCE verifier of this grant's challenge.
    pub fn verifies(&self, verifier: &str) -> bool {
        pkce_challenge(verifier) == self.challenge
    }
}

/// Why a code was not redeemed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownCode,
    UsedCode,
    /// The token request's `redirect_uri` differs from this one, the authorization's.
    RedirectUri(String),
}

/// Why a token request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The client's authentication: an OAuth error code (`invalid_request` for a malformed
    /// one, `invalid_client` otherwise) and why.
    Client(&'static str, String),
    /// Not `grant_type=authorization_code`.
    GrantType,
    Code(Refusal),
    /// The `code_verifier` is not the one of the code's challenge.
    Pkce,
}

impl<P: Provider> Fake<P> {
    /// The checks of a strict token endpoint for the authorization code grant: the client
    /// authenticates exactly as `auth` says with `client_id` and `client_secret`,
    /// `grant_type=authorization_code`, a single-use code redeemed for the same
    /// `redirect_uri`, and the PKCE verifier of its challenge.
    pub fn exchange_code(
        &self,
        parts: &Parts,
        body: &[u8],
        auth: TokenAuth,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Grant, TokenRefusal> {
        let form = server::form_pairs(body);
        authenticate_client(parts, &form, auth, client_id, client_secret)?;
        self.redeem_grant(&form)
    }

    /// The checks of [`exchange_code`](Self::exchange_code) after the client is
    /// authenticated: `grant_type=authorization_code`, a single-use code redeemed for the
    /// same `redirect_uri`, and the PKCE verifier of its challenge.
    pub fn redeem_grant(&self, form: &[(String, String)]) -> Result<Grant, TokenRefusal> {
        let get = |name| server::param(form, name);
        if get("grant_type") != Some("authorization_code") {
            return Err(TokenRefusal::GrantType);
        }
        let grant = self
            .redeem_code(get("code").unwrap_or(""), get("redirect_uri"))
            .map_err(TokenRefusal::Code)?;
        if !grant.verifies(get("code_verifier").unwrap_or("")) {
            return Err(TokenRefusal::Pkce);
        }
        Ok(grant)
    }
}

/// A strict token endpoint's client authentication: exactly as `auth` says, with
/// `client_id` and `client_secret`.
pub fn authenticate_client(
    parts: &Parts,
    form: &[(String, String)],
    auth: TokenAuth,
    client_id: &str,
    client_secret: &str,
) -> Result<(), TokenRefusal> {
    let (used, id, secret) = client_credentials(parts, form)?;
    let client = |why: String| TokenRefusal::Client("invalid_client", why);
    if used != auth {
        return Err(client(format!(
            "expected {auth:?} client authentication, got {used:?}"
        )));
    }
    if id != client_id || secret != client_secret {
        return Err(client("wrong client credentials".into()));
    }
    Ok(())
}

/// The client credentials of a token request, and how they were sent: HTTP Basic or the
/// form body, never both.
fn client_credentials(
    parts: &Parts,
    form: &[(String, String)],
) -> Result<(TokenAuth, String, String), TokenRefusal> {
    let in_body = |name| server::param(form, name);
    let malformed = |why: &str| TokenRefusal::Client("invalid_request", why.to_owned());
    match (basic_credentials(parts), in_body("client_secret")) {
        (Some(_), Some(_)) => Err(malformed("client authenticated twice (Basic and body)")),
        (Some(_), None) if in_body("client_id").is_some() => {
            Err(malformed("client_id in the body with Basic authentication"))
        }
        (Some(basic), None) => {
            let (id, secret) = basic.map_err(malformed)?;
            Ok((TokenAuth::Basic, id, secret))
        }
        (None, Some(secret)) => {
            let id = in_body("client_id").unwrap_or("").to_owned();
            Ok((TokenAuth::Post, id, secret.to_owned()))
        }
        (None, None) => Err(TokenRefusal::Client(
            "invalid_client",
            "no client credentials".into(),
        )),
    }
}

/// The endpoints of a [`UserApi`] provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OAuth2Endpoint {
    Authorize,
    Token,
    Me,
}

/// A provider that is OAuth 2.0 and one endpoint describing the user (X, Discord). The
/// harness makes the strict checks every such provider makes: the authorization request
/// ([`authorization`], a `state` of 8 bytes at least, `error=access_denied` when the user
/// denies), the token request ([`Fake::exchange_code`], a form `POST` from a client that
/// authenticates with HTTP Basic, as both require of a confidential client) and the bearer
/// token at the user endpoint ([`Fake::bearer_scopes`]). The provider adds its paths, its
/// own checks and its answers.
pub trait UserApi: Send + Sync + Sized + 'static {
    /// The paths of the authorization, token and user endpoints.
    const PATHS: [&'static str; 3];

    /// The registered client's id and secret.
    fn client(&self) -> (&str, &str);

    /// The JSON body of an error with `status` (404 for an unknown path, 401 for a bad
    /// bearer token).
    fn error(status: u16) -> Value;

    /// The provider's own refusal of an authorization request the harness accepts.
    fn refuse_authorization(_grant: &Grant) -> Option<&'static str> {
        None
    }

    /// The provider's answer to a refused token request.
    fn token_refusal(refusal: TokenRefusal) -> Reject;

    /// The token response carrying `access_token` for `grant`.
    fn token_response(access_token: &str, grant: &Grant) -> Value;

    /// The user endpoint's answer for a token granting `scopes`, asked with `query`.
    fn user(&self, scopes: &str, query: &[(String, String)]) -> Value;
}

impl<A: UserApi> Provider for A {
    type Endpoint = OAuth2Endpoint;
    type State = Tokens;
    const AUTHORIZE: OAuth2Endpoint = OAuth2Endpoint::Authorize;

    fn route(&self, path: &str) -> Option<OAuth2Endpoint> {
        let at = A::PATHS.iter().position(|p| *p == path)?;
        Some(
            [
                OAuth2Endpoint::Authorize,
                OAuth2Endpoint::Token,
                OAuth2Endpoint::Me,
            ][at],
        )
    }

    fn not_found(&self, _path: &str) -> Response<FakeBody> {
        server::json(404, &A::error(404))
    }

    fn answer(
        fake: &Fake<A>,
        endpoint: OAuth2Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        let (client_id, client_secret) = fake.config().client();
        match (endpoint, &parts.method) {
            (OAuth2Endpoint::Authorize, &Method::GET) => {
                let grant = authorization_request(parts, client_id, 8)?;
                if let Some(why) = A::refuse_authorization(&grant) {
                    return Err(Reject::page(why));
                }
                Ok(fake.redirect_back(grant, &[("error", "access_denied")]))
            }
            (OAuth2Endpoint::Token, _) if is_form_post(parts) => {
                let grant = fake
                    .exchange_code(parts, body, TokenAuth::Basic, client_id, client_secret)
                    .map_err(A::token_refusal)?;
                let access_token = fake.state().issue("at-", 16, &grant.scope);
                Ok(server::json(200, &A::token_response(&access_token, &grant)))
            }
            (OAuth2Endpoint::Me, &Method::GET) => {
                let scopes = fake.bearer_scopes(parts, &A::error(401))?;
                let query = server::query_pairs(&parts.uri);
                Ok(server::json(200, &fake.config().user(&scopes, &query)))
            }
            (_, method) => Err(not_allowed(method)),
        }
    }
}

/// The access tokens a provider issued, each with the scopes it grants.
#[derive(Default)]
pub struct Tokens(HashMap<String, String>);

impl Tokens {
    /// A new access token, `prefix` then `bytes` random bytes in hex, granting `scope`.
    pub fn issue(&mut self, prefix: &str, bytes: usize, scope: &str) -> String {
        let token = server::random_token(prefix, bytes);
        self.0.insert(token.clone(), scope.to_owned());
        token
    }

    /// The scopes `token` grants, if this provider issued it.
    pub fn scopes(&self, token: &str) -> Option<String> {
        self.0.get(token).cloned()
    }
}

impl<P: Provider<State = Tokens>> Fake<P> {
    /// The scopes of the request's `Bearer` token (RFC 6750 §2.1); without a token this
    /// provider issued, a 401 with the provider's `unauthorized` body.
    pub fn bearer_scopes(&self, parts: &Parts, unauthorized: &Value) -> Result<String, Reject> {
        let scopes = authorization_value(parts, "Bearer").and_then(|t| self.state().scopes(t));
        scopes.ok_or_else(|| Reject::new("bad bearer token", server::json(401, unauthorized)))
    }
}

/// A `POST` with a form body, as a token endpoint takes it (RFC 6749 §3.2).
pub fn is_form_post(parts: &Parts) -> bool {
    parts.method == Method::POST && server::is_form(&parts.headers)
}

/// A `405` OAuth error for a method the endpoint does not take.
pub fn not_allowed(method: &Method) -> Reject {
    oauth_error(405, "invalid_request", format!("{method} not allowed"))
}

/// [`authorization`]'s checks on the request's query; a refusal is an error page, as the
/// browser would see it.
pub fn authorization_request(
    parts: &Parts,
    client_id: &str,
    min_state: usize,
) -> Result<Grant, Reject> {
    authorization(&server::query_pairs(&parts.uri), client_id, min_state).map_err(Reject::page)
}

/// The checks every strict OAuth 2.0 authorization endpoint makes: this `client_id`, an
/// absolute http(s) `redirect_uri`, a `state` of at least `min_state` bytes, `response_type`
/// `code` when given, and an S256 PKCE challenge. The error is the reason to refuse.
fn authorization(
    query: &[(String, String)],
    client_id: &str,
    min_state: usize,
) -> Result<Grant, String> {
    let get = |name| server::param(query, name);
    if get("client_id") != Some(client_id) {
        return Err(format!("unknown client_id {:?}", get("client_id")));
    }
    let redirect_uri = get("redirect_uri").unwrap_or("");
    let valid_redirect = url::Url::parse(redirect_uri)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !valid_redirect {
        return Err(format!("bad redirect_uri {redirect_uri:?}"));
    }
    let state = get("state").unwrap_or("");
    if state.is_empty() || state.len() < min_state {
        return Err(format!("state missing or short: {state:?}"));
    }
    if get("response_type").is_some_and(|t| t != "code") {
        return Err(format!(
            "unsupported response_type {:?}",
            get("response_type")
        ));
    }
    if get("code_challenge_method") != Some("S256") {
        return Err(format!(
            "code_challenge_method must be S256, got {:?}",
            get("code_challenge_method")
        ));
    }
    let challenge = get("code_challenge").unwrap_or("");
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(format!("invalid code_challenge {challenge:?}"));
    }
    Ok(Grant {
        redirect_uri: redirect_uri.to_owned(),
        challenge: challenge.to_owned(),
        state: state.to_owned(),
        scope: get("scope").unwrap_or("").to_owned(),
        nonce: String::new(),
    })
}

/// `redirect_uri` with `params` appended to its query: where the provider sends the
/// browser back.
pub fn back_to(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{redirect_uri}{sep}{query}")
}

/// How a token request authenticates the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
    /// HTTP Basic, id and secret form-urlencoded first (RFC 6749 §2.3.1).
    Basic,
}

/// The value of the `Authorization` header after `scheme` and a space.
pub fn authorization_value<'a>(parts: &'a Parts, scheme: &str) -> Option<&'a str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix(' '))
        .map(str::trim)
}

/// The client id and secret of an HTTP Basic `Authorization` header (RFC 6749 §2.3.1:
/// base64 of `urlencoded(id):urlencoded(secret)`), `None` without one.
pub fn basic_credentials(parts: &Parts) -> Option<Result<(String, String), &'static str>> {
    let encoded = authorization_value(parts, "Basic")?;
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|d| String::from_utf8(d).ok());
    let Some(decoded) = decoded else {
        return Some(Err("bad Basic header"));
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return Some(Err("Basic without ':'"));
    };
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some(Ok((unescape(id), unescape(secret))))
}

/// `base64url_nopad(sha256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2): `{"error", "error_description"}` with `status`,
/// recorded as a rejection.
pub fn oauth_error(status: u16, code: &str, description: impl Into<String>) -> Reject {
    let description = description.into();
    let body = serde_json::json!({"error": code, "error_description": description});
    Reject::new(
        format!("{code}: {description}"),
        super::server::json(status, &body),
    )
}
