//! The `/auth/<provider>` route: the login start (`?login=start`) and the provider's callback.

//!
//! `mod.rs` routes a request to its leg and answers failures; `start.rs` sends the browser to
//! the provider; `callback.rs` checks the provider's answer against the flow cookie and signs
//! the user in.

use std::sync::Arc;

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{Method, Response};
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::Instrument;
use url::Url;

use crate::error::{AuthError, AuthErrorKind};
use crate::outbound::Outbound;
use crate::provider::{CallbackParams, DynProvider, ProviderContext};
use crate::routes::form_post;
use crate::routes::request::RequestHead;
use crate::routes::response::{redirect, Location};
use crate::routes::Routes;
use crate::settings::{AfterLogin, Settings};
use crate::state::cookies::{self, Found};
use crate::state::random::short_tag;

mod callback;
mod start;

/// Answers a request to the route of the provider at `index`.
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
        return unknown_provider(&settings.routes);
    };
    let target = LoginTarget {
        provider: provider.as_ref(),
        slots,
        name: provider.name(),
        path: settings.routes.provider_path(provider.name()),
    };
    answer_for(&settings, target, head, body).await
}

/// The provider a login route talks to, and the names the login goes by.
pub(crate) struct LoginTarget<'a> {
    pub(crate) provider: &'a dyn DynProvider,
    /// Logins talking to this provider at once.
    pub(crate) slots: &'a Semaphore,
    /// The provider of the flow and of the identity: the provider's route name, or
    /// `sso:<tenant>` for a tenant's provider.
    pub(crate) name: &'a str,
    /// The route, e.g. `/auth/github` or `/auth/sso/acme`: also the callback's path.
    pub(crate) path: String,
}

/// Answers a request to a login route, in a `socialauth.login` span with the provider (a
/// tenant's is `sso:<tenant>`) and the leg (start or callback). The body is read only when
/// the provider posts its callback (`form_post`) and this is a `POST`.
pub(crate) async fn answer_for<B: http_body::Body>(
    settings: &Settings,
    target: LoginTarget<'_>,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    let provider = target.provider;
    let span = tracing::info_span!(
        "socialauth.login",
        provider = target.name,
        leg = tracing::field::Empty,
    );
    let route = LoginRoute {
        settings,
        provider,
        name: target.name,
        path: target.path,
        outbound: settings
            .outbound
            .for_provider(crate::events::metric_label(target.name)),
        slots: target.slots,
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

/// The answer for `/auth/<name>` when no provider has that name: the routes that exist (the
/// names are configuration, not secrets), so a mistyped name says what to type.
pub(crate) fn unknown_provider(routes: &Routes) -> Response<Bytes> {
    let known: Vec<String> = routes
        .provider_names
        .iter()
        .map(|name| routes.provider_path(name))
        .collect();
    AuthError::new(
        AuthErrorKind::UnknownProvider,
        format!(
            "no login provider has this name; the login routes are {}",
            known.join(", ")
        ),
    )
    .into_response()
}

struct LoginRoute<'a> {
    settings: &'a Settings,
    provider: &'a dyn DynProvider,
    /// The flow's and the identity's provider: see [`LoginTarget::name`].
    name: &'a str,
    /// The route: see [`LoginTarget::path`].
    path: String,
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
                    self.settings.observer.login_started(self.name);
                    response
                }
                Err(error) => {
                    tracing::debug!(provider = self.name, error = %error, "login start failed");
                    self.settings.observer.login_failed(self.name, error.kind());
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
            provider = self.name,
            "posted callback without its flow cookie: carried over to a same-site POST"
        );
        let fields: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        let after_login = match &self.settings.after_login {
            AfterLogin::Redirect(location) => Some(location),
            AfterLogin::Json => None,
        };
        let targets = after_login
            .into_iter()
            .chain(&self.settings.failure_redirect);
        form_post::carry_over(self.path(), &fields, &form_post::form_action(targets))
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn flow_cookie_name(&self, key: &str) -> String {
        // A cookie name holds no `:`: a tenant's `sso:acme` becomes `sso.acme` (no provider
        // name holds a `.`). The sealed value is bound to the name and names the provider.
        self.settings
            .cookies
            .flow_name(&self.name.replace(':', "."), &short_tag(key))
    }

    fn context<'c>(&'c self, callback_url: &'c Url) -> ProviderContext<'c> {
        ProviderContext {
            provider: self.name,
            outbound: &self.outbound,
            callback_url,
            clock: &self.settings.clock,
        }
    }

    /// A turn to talk to the provider, waited for at most the provider timeout.
    async fn slot(&self) -> Result<SemaphorePermit<'_>, AuthError> {
        let wait = self.settings.outbound.timeout();
        match tokio::time::timeout(wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!(
                    provider = self.name,
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
        tracing::warn!(provider = self.name, "{log}");
        AuthError::new(kind, message)
    }

    /// A failed callback: the error (or the configured failure redirect), clearing the flow
    /// cookie when its name is known.
    fn fail(&self, error: AuthError, flow_cookie: Option<String>) -> Response<Bytes> {
        self.settings.observer.login_failed(self.name, error.kind());
        let mut response = failure_response(self.settings, error);
        if let Some(removal) = flow_cookie.and_then(|name| self.settings.cookies.removal(name)) {
            response.headers_mut().append(SET_COOKIE, removal);
        }
        response
    }
}

/// The answer to a failed login: the error, or the configured failure redirect.
pub(crate) fn failure_response(settings: &Settings, error: AuthError) -> Response<Bytes> {
    match &settings.failure_redirect {
        Some(target) => failure_redirect(target, error),
        None => error.into_response(),
    }
}

/// `303` to the app's failure page with `?error=<code>`, the error in the response's
/// extensions.
fn failure_redirect(target: &Location, error: AuthError) -> Response<Bytes> {
    let mut response = redirect(&target.with_query_param("error", error.kind().code()));
    response.extensions_mut().insert(error);
    response
}
