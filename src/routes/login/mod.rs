//! The `/auth/<provider>` route: the login start (`?login=start`) and the provider's callback.

use std::sync::Arc;

/// Longest name kept from a provider, in characters.
const MAX_NAME_CHARS: usize = 256;
/// Longest email kept from a provider (RFC 5321's path limit), in bytes.
const MAX_EMAIL_LEN: usize = 254;

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::Instrument;
use url::Url;

use crate::error::{AuthError, AuthErrorKind};
use crate::hook::UserProfile;
use crate::identity::{Identity, User};
use crate::identity_token::Audience;
use crate::outbound::Outbound;
use crate::provider::{CallbackKey, CallbackParams, DynProvider, FlowData, ProviderContext};
use crate::routes::form_post;
use crate::routes::response::{json, redirect};
use crate::secret::constant_time_eq;
use crate::settings::{AfterLogin, Settings};
use crate::state::cookies::{self, Found};
use crate::state::flow::FlowState;
use crate::state::random::short_tag;
use crate::state::return_to;
use crate::state::session::{Session, SessionId};

/// The parts of a request the auth routes read (the body is read only for a posted
/// callback, by [`answer`]).
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

impl RequestHead {
    /// Keeps the head of a request; its body is dropped unread.
    pub(crate) fn from_request<B>(request: http::Request<B>) -> Self {
        let (parts, _body) = request.into_parts();
        Self {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
        }
    }
}

/// Answers a request to the route of the provider at `index`, in a `socialauth.login` span
/// with the provider and the leg (start or callback). The body is read only when the
/// provider posts its callback (`form_post`) and this is a `POST`.
pub(crate) async fn answer<B: http_body::Body>(
    settings: Arc<Settings>,
    index: usize,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    let (Some(provider), Some(slots)) = (
        settings.providers.get(index),
        settings.provider_slots.get(index),
    ) else {
        return unknown_provider();
    };
    let span = tracing::info_span!(
        "socialauth.login",
        provider = provider.name(),
        leg = tracing::field::Empty,
    );
    let route = LoginRoute {
        settings: &settings,
        provider: provider.as_ref(),
        outbound: settings.outbound.for_provider(provider.name()),
        slots,
        head: &head,
    };
    if head.method == Method::POST && provider.form_post() {
        span.record("leg", "callback");
        return async {
            match form_post::read_form(&head.headers, body).await {
                Ok(form) => route.posted_callback(&form).await,
                Err(error) => route.fail(error, None),
            }
        }
        .instrument(span)
        .await;
    }
    drop(body);
    route.answer().instrument(span).await
}

/// The answer for `/auth/<name>` when no provider has that name.
pub(crate) fn unknown_provider() -> Response<Bytes> {
    AuthError::new(
        AuthErrorKind::UnknownProvider,
        "no login provider has this name",
    )
    .into_response()
}

struct LoginRoute<'a> {
    settings: &'a Settings,
    provider: &'a dyn DynProvider,
    /// The layer's client, naming this provider in spans and metrics.
    outbound: Outbound,
    /// Logins talking to this provider at once.
    slots: &'a Semaphore,
    head: &'a RequestHead,
}

impl LoginRoute<'_> {
    async fn answer(&self) -> Response<Bytes> {
        if self.head.method != Method::GET {
            return AuthError::new(
                AuthErrorKind::MethodNotAllowed,
                "login routes answer GET only",
            )
            .into_response();
        }
        let query = self.head.uri.query().unwrap_or("");
        let params = match CallbackParams::parse(query) {
            Ok(params) => params,
            Err(error) => return self.fail(error, None),
        };
        if params.get("login") == Some("start") {
            tracing::Span::current().record("leg", "start");
            return match self.start(&params).await {
                Ok(response) => {
                    self.settings.observer.login_started(self.provider.name());
                    response
                }
                Err(error) => {
                    tracing::debug!(provider = self.provider.name(), error = %error, "login start failed");
                    self.settings
                        .observer
                        .login_failed(self.provider.name(), error.kind());
                    error.into_response()
                }
            };
        }
        if query.is_empty() {
            let error = AuthError::invalid_request("add ?login=start to begin a login");
            return error.into_response();
        }
        tracing::Span::current().record("leg", "callback");
        self.callback(&params).await
    }

    /// A callback the provider posted (`form_post`). Posted cross-site, it comes without the
    /// flow cookie (`SameSite=Lax`): the answer is a page that posts the same fields again
    /// from this origin, once, and that `POST` carries the cookie.
    async fn posted_callback(&self, form: &str) -> Response<Bytes> {
        let params = match CallbackParams::parse(form) {
            Ok(params) => params,
            Err(error) => return self.fail(error, None),
        };
        if params.get("login").is_some() {
            return AuthError::invalid_request("a login starts with GET ?login=start")
                .into_response();
        }
        let cookie_sent = params.get("state").is_some_and(|key| {
            !matches!(
                cookies::find(&self.head.headers, &self.flow_cookie_name(key)),
                Found::None
            )
        });
        if cookie_sent || params.get(form_post::CARRIED).is_some() {
            return self.callback(&params).await;
        }
        tracing::debug!(
            provider = self.provider.name(),
            "posted callback without its flow cookie: carried over to a same-site POST"
        );
        let fields: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        form_post::carry_over(&self.path(), &fields)
    }

    fn path(&self) -> String {
        self.settings.routes.provider_path(self.provider.name())
    }

    fn flow_cookie_name(&self, key: &str) -> String {
        self.settings
            .cookies
            .flow_name(self.provider.name(), &short_tag(key))
    }

    fn context<'c>(&'c self, callback_url: &'c Url) -> ProviderContext<'c> {
        ProviderContext {
            provider: self.provider.name(),
            outbound: &self.outbound,
            callback_url,
            clock: &self.settings.clock,
        }
    }

    async fn start(&self, params: &CallbackParams) -> Result<Response<Bytes>, AuthError> {
        let return_to = params.get("return_to").and_then(return_to::validate);
        if return_to.is_none() && params.get("return_to").is_some() {
            tracing::warn!(
                provider = self.provider.name(),
                "return_to refused; using the default"
            );
        }
        let callback_url = callback_url(self.settings, &self.path(), self.head)?;
        let cx = self.context(&callback_url);
        let _slot = self.slot().await?;
        let started = self.provider.start(&cx).await?;
        let name = self.flow_cookie_name(&started.key);
        let mut flow = FlowState {
            provider: self.provider.name().to_owned(),
            expires_at: self.settings.clock.now() + self.settings.flow_lifetime.as_secs(),
            key: started.key,
            secret: started.secret,
            nonce: started.nonce,
            return_to: return_to.map(str::to_owned),
        };
        let mut sealed = flow.seal(&self.settings.keys, &name)?;
        if !cookies::fits(&name, &sealed) && flow.return_to.is_some() {
            // Browsers drop larger cookies, and the login would fail at the callback: give
            // up the return_to (JSON escaping can double it) rather than the login.
            tracing::warn!(
                provider = self.provider.name(),
                "return_to too long for the flow cookie; using the default"
            );
            flow.return_to = None;
            sealed = flow.seal(&self.settings.keys, &name)?;
        }
        let cookie = self
            .settings
            .cookies
            .flow_cookie(name, sealed, self.settings.flow_lifetime)
            .ok_or_else(|| AuthError::internal("could not write the flow cookie"))?;
        let mut response = redirect(started.redirect_to.as_str())?;
        response.headers_mut().append(SET_COOKIE, cookie);
        Ok(response)
    }

    async fn callback(&self, params: &CallbackParams) -> Response<Bytes> {
        let key = match self.provider.callback_key(params) {
            Ok(CallbackKey::Continue(key)) => key,
            Ok(CallbackKey::Refused { key, by_user }) => {
                tracing::debug!(
                    provider = self.provider.name(),
                    by_user,
                    "login refused at the provider"
                );
                let error = if by_user {
                    AuthError::new(
                        AuthErrorKind::AccessDenied,
                        "the login was cancelled at the provider",
                    )
                } else {
                    AuthError::new(
                        AuthErrorKind::LoginFailed,
                        "the provider did not complete the login",
                    )
                };
                return self.fail(error, key.map(|k| self.flow_cookie_name(k)));
            }
            Err(error) => {
                // Clear the attempt's cookie all the same, when the callback names it.
                let key = params.get("state").or_else(|| params.get("oauth_token"));
                return self.fail(error, key.map(|k| self.flow_cookie_name(k)));
            }
        };
        let name = self.flow_cookie_name(key);
        match self.complete(params, key, &name).await {
            Ok(response) => response,
            Err(error) => self.fail(error, Some(name)),
        }
    }

    async fn complete(
        &self,
        params: &CallbackParams,
        key: &str,
        name: &str,
    ) -> Result<Response<Bytes>, AuthError> {
        let flow = self.check_flow_cookie(key, name)?;
        if !self
            .settings
            .consumed
            .consume(name, flow.expires_at, self.settings.clock.now())
        {
            return Err(self.suspicious(
                "flow cookie replayed",
                AuthErrorKind::InvalidFlowCookie,
                "this login attempt has been used; start the login again",
            ));
        }
        // Checked at the start, and again here: the rules may have changed since.
        let return_to = flow.return_to.filter(|r| return_to::validate(r).is_some());
        let data = FlowData {
            key: flow.key,
            secret: flow.secret,
            nonce: flow.nonce,
        };
        let callback_url = callback_url(self.settings, &self.path(), self.head)?;
        let cx = self.context(&callback_url);
        let slot = self.slot().await?;
        let profile = self.provider.finish(&cx, params, &data).await?;
        drop(slot);
        let profile = UserProfile {
            provider: self.provider.name().to_owned(),
            user_id: profile.user_id,
            // A cookie holds about 4 KB: keep what a provider sends to sane sizes.
            name: profile.name.map(|name| truncate(name, MAX_NAME_CHARS)),
            email: profile.email.filter(|email| email.len() <= MAX_EMAIL_LEN),
            claims: profile.claims,
            refresh_token: profile.refresh_token,
            tokens: profile.tokens,
        };
        let claims = match &self.settings.authorize {
            Some(hook) => match (hook.0)(profile.clone()).await {
                Ok(grant) => Some(grant.claims).filter(|c| !c.is_empty()),
                Err(denied) => {
                    tracing::debug!(provider = self.provider.name(), "login denied by the app");
                    return Err(AuthError::new(AuthErrorKind::Forbidden, denied.message));
                }
            },
            None => None,
        };
        let provider_tokens = profile.tokens.clone();
        let now = self.settings.clock.now();
        let session = Session {
            id: SessionId::generate()?,
            started_ms: self.settings.clock.now_ms(),
        };
        let identity = Identity {
            user: Arc::new(User::new(
                profile.provider,
                profile.user_id,
                profile.name,
                profile.email,
                claims,
                Some(session),
            )),
            issued_at: now,
            expires_at: now + self.settings.identity_lifetime.as_secs(),
        };
        let token = self
            .settings
            .codec
            .sign(&self.settings.keys, &identity, Audience::Cookie)?;
        if !cookies::fits(self.settings.cookies.identity_name(), &token) {
            tracing::error!(
                provider = self.provider.name(),
                "the identity cookie would exceed 4096 bytes; the authorize hook's claims are too large"
            );
            return Err(AuthError::internal(
                "the identity is too large for a browser cookie (4096 bytes with its name): \
                 the authorize hook's claims are too large",
            ));
        }
        let cookie = self
            .settings
            .cookies
            .identity_cookie(token, self.settings.identity_lifetime)
            .ok_or_else(|| AuthError::internal("could not write the identity cookie"))?;
        let tokens_cookie = match self.settings.keep_provider_tokens {
            true => Some(crate::provider_tokens::login_cookie(
                self.settings,
                &identity,
                provider_tokens.as_ref(),
            )?),
            false => None,
        };
        let mut response = match (&self.settings.after_login, return_to) {
            (AfterLogin::Redirect(_), Some(return_to)) => redirect(&return_to)?,
            (AfterLogin::Redirect(location), None) => redirect(location)?,
            (AfterLogin::Json, _) => json(StatusCode::OK, r#"{"status":"success"}"#.as_bytes()),
        };
        response.headers_mut().append(SET_COOKIE, cookie);
        if let Some(Some(tokens_cookie)) = tokens_cookie {
            response.headers_mut().append(SET_COOKIE, tokens_cookie);
        }
        if let Some(removal) = self.settings.cookies.removal(name.to_owned()) {
            response.headers_mut().append(SET_COOKIE, removal);
        }
        self.settings.observer.login_succeeded(
            self.provider.name(),
            identity.user_id(),
            identity.user.claims.is_some(),
        );
        Ok(response)
    }

    /// The flow cookie must be there once, open with the layer's key, be for this provider,
    /// be unexpired, and hold the same key as the callback (compared in constant time).
    fn check_flow_cookie(&self, key: &str, name: &str) -> Result<FlowState, AuthError> {
        let sealed = match cookies::find(&self.head.headers, name) {
            Found::One(value) => value,
            Found::None => return Err(self.missing_flow_cookie()),
            Found::Many => {
                return Err(self.suspicious(
                    "several flow cookies of one name",
                    AuthErrorKind::InvalidFlowCookie,
                    "the request carries several login cookies for this login",
                ))
            }
        };
        let flow = FlowState::open(&self.settings.keys, name, sealed).inspect_err(|_| {
            tracing::warn!(provider = self.provider.name(), "flow cookie does not open");
        })?;
        if flow.provider != self.provider.name() {
            return Err(self.suspicious(
                "flow cookie of another provider",
                AuthErrorKind::InvalidFlowCookie,
                "the login cookie belongs to another provider",
            ));
        }
        if flow.expires_at <= self.settings.clock.now() {
            return Err(AuthError::new(
                AuthErrorKind::FlowExpired,
                "the login took too long; start it again",
            ));
        }
        if !constant_time_eq(flow.key.as_bytes(), key.as_bytes()) {
            return Err(self.suspicious(
                "callback state does not match the flow cookie",
                AuthErrorKind::StateMismatch,
                "the callback does not belong to the login this browser started",
            ));
        }
        Ok(flow)
    }

    /// A turn to talk to the provider, waited for at most the provider timeout.
    async fn slot(&self) -> Result<SemaphorePermit<'_>, AuthError> {
        let wait = self.settings.outbound.timeout();
        match tokio::time::timeout(wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!(
                    provider = self.provider.name(),
                    "too many logins at once with this provider"
                );
                Err(AuthError::new(
                    AuthErrorKind::ProviderBusy,
                    "too many logins right now; try again in a moment",
                ))
            }
        }
    }

    /// A refusal worth a warning in the logs (`log`), answered with `kind` and `message`.
    fn suspicious(
        &self,
        log: &'static str,
        kind: AuthErrorKind,
        message: &'static str,
    ) -> AuthError {
        tracing::warn!(provider = self.provider.name(), "{log}");
        AuthError::new(kind, message)
    }

    fn missing_flow_cookie(&self) -> AuthError {
        tracing::debug!(
            provider = self.provider.name(),
            "callback without its flow cookie"
        );
        let minutes = self.settings.flow_lifetime.as_secs().div_ceil(60);
        AuthError::new(
            AuthErrorKind::MissingFlowCookie,
            format!(
                "the login cookie did not come back with the provider's callback. Usual causes: \
                 the site is served over plain http (the cookie is Secure), the login was started \
                 on another host name (e.g. 127.0.0.1 and localhost), or more than {minutes} \
                 minutes passed. Start the login again."
            ),
        )
    }

    /// A failed callback: the error (or the configured failure redirect), clearing the flow
    /// cookie when its name is known.
    fn fail(&self, error: AuthError, flow_cookie: Option<String>) -> Response<Bytes> {
        self.settings
            .observer
            .login_failed(self.provider.name(), error.kind());
        let mut response = match &self.settings.failure_redirect {
            Some(target) => failure_redirect(target, &error).unwrap_or_else(|e| e.into_response()),
            None => error.into_response(),
        };
        if let Some(removal) = flow_cookie.and_then(|name| self.settings.cookies.removal(name)) {
            response.headers_mut().append(SET_COOKIE, removal);
        }
        response
    }
}

/// The URL the provider must call back: the configured public URL, or this request's origin.
pub(crate) fn callback_url(
    settings: &Settings,
    path: &str,
    head: &RequestHead,
) -> Result<Url, AuthError> {
    let url = match &settings.public_url {
        Some(base) => format!("{base}{path}"),
        None => request_origin(settings, head)? + path,
    };
    Url::parse(&url)
        .map_err(|_| AuthError::invalid_request("the request has no usable Host header"))
}

/// This request's origin, `scheme://host[:port]`, from its URI or `Host` header.
///
/// Only a loopback host (development) or one of the configured `allowed_hosts` is used: any
/// other `Host` could be the attacker's, and a provider with loose redirect matching would
/// send the code there.
fn request_origin(settings: &Settings, head: &RequestHead) -> Result<String, AuthError> {
    let host = head
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            head.headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|host| is_plain_host(host))
        .ok_or_else(|| AuthError::invalid_request("the request has no usable Host header"))?;
    let allowed = settings
        .allowed_hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host));
    if !allowed && !is_loopback(host) {
        tracing::warn!(
            "socialauth: a login came for a host that is neither loopback nor in allowed_hosts; \
             set public_url (or allowed_hosts) so callback URLs are never built from the Host header"
        );
        return Err(AuthError::internal(
            "the server's public URL is not configured for this host",
        ));
    }
    let scheme = match head.uri.scheme_str() {
        Some(scheme) => scheme,
        None if is_loopback(host) => "http",
        None => "https",
    };
    Ok(format!("{scheme}://{host}"))
}

/// A host (and optional port) with nothing but host characters in it.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn failure_redirect(target: &str, error: &AuthError) -> Result<Response<Bytes>, AuthError> {
    let separator = if target.contains('?') { '&' } else { '?' };
    let mut response = redirect(&format!("{target}{separator}error={}", error.kind().code()))?;
    response.extensions_mut().insert(error.clone());
    Ok(response)
}

/// `text` cut to at most `max` characters.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com",
            "127.example.com",
            "localhost.evil.com:80",
            "[::2]:80",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn hosts_with_other_characters_are_refused() {
        assert!(is_plain_host("app.example.com:8443"));
        for host in ["", "evil.com/path", "a b", "evil.com@x", "x\"y"] {
            assert!(!is_plain_host(host), "{host:?}");
        }
    }
}
