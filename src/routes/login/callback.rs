//! The login's second leg, the provider's callback: the flow cookie checked and consumed,
//! the provider's answer turned into a profile, the app's authorize hook, and the new
//! sign-in's cookies.

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderValue, Response, StatusCode};

use super::LoginRoute;
use crate::error::{AuthError, AuthErrorKind};
use crate::hook::UserProfile;
use crate::identity::{Identity, User};
use crate::identity_token::Audience;
use crate::provider::{CallbackKey, CallbackParams, FlowData, TokenSet};
use crate::provider_tokens::Cost;
use crate::routes::request::callback_url;
use crate::routes::response::{json, redirect, Location};
use crate::secret::constant_time_eq;
use crate::settings::AfterLogin;
use crate::state::cookies::{self, Found};
use crate::state::flow::FlowState;
use crate::state::provider_session::ProviderSessionKey;
use crate::state::return_to;
use crate::state::session::{Session, SessionId};

/// Longest name kept from a provider, in characters.
const MAX_NAME_CHARS: usize = 256;
/// Longest email kept from a provider (RFC 5321's path limit), in bytes.
const MAX_EMAIL_LEN: usize = 254;

/// The cookies of a new sign-in.
struct SignInCookies {
    identity: HeaderValue,
    /// With `keep_provider_tokens`: the tokens cookies, and the removal of an earlier
    /// sign-in's they do not overwrite.
    tokens: Vec<HeaderValue>,
}

impl LoginRoute<'_> {
    pub(super) async fn callback(&self, params: &CallbackParams) -> Response<Bytes> {
        let key = match self.provider.callback_key(params) {
            Ok(CallbackKey::Continue(key)) => key,
            Ok(CallbackKey::Refused { key, by_user }) => {
                tracing::debug!(
                    provider = self.name,
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
        match self.sign_in(params, key, &name).await {
            Ok(response) => response,
            Err(error) => self.fail(error, Some(name)),
        }
    }

    /// Signs the user in from a callback whose key is `key` and whose flow cookie is `name`.
    async fn sign_in(
        &self,
        params: &CallbackParams,
        key: &str,
        name: &str,
    ) -> Result<Response<Bytes>, AuthError> {
        let flow = self.take_flow(key, name)?;
        // Checked at the start, and again here: the rules may have changed since.
        let return_to = flow
            .return_to
            .as_deref()
            .and_then(return_to::validate)
            .and_then(Location::new);
        let data = FlowData {
            key: flow.key,
            secret: flow.secret,
            nonce: flow.nonce,
        };
        let profile = self.profile(params, &data).await?;
        let claims = self.authorize(&profile).await?;
        let provider_tokens = profile.tokens.clone();
        let identity = self.identity(profile, claims)?;
        let flow_removal = self.settings.cookies.removal(name.to_owned());
        let cookies =
            self.sign_in_cookies(&identity, provider_tokens.as_ref(), flow_removal.as_ref())?;
        let mut response = match (&self.settings.after_login, return_to) {
            (AfterLogin::Redirect(_), Some(return_to)) => redirect(&return_to),
            (AfterLogin::Redirect(location), None) => redirect(location),
            (AfterLogin::Json, _) => json(StatusCode::OK, r#"{"status":"success"}"#.as_bytes()),
        };
        let headers = response.headers_mut();
        headers.append(SET_COOKIE, cookies.identity);
        for tokens in cookies.tokens {
            headers.append(SET_COOKIE, tokens);
        }
        if let Some(removal) = flow_removal {
            headers.append(SET_COOKIE, removal);
        }
        self.settings.observer.login_succeeded(
            self.name,
            identity.user_id(),
            identity.user.claims().is_some(),
        );
        Ok(response)
    }

    /// The attempt's flow cookie, checked, and consumed: a replayed callback is refused.
    fn take_flow(&self, key: &str, name: &str) -> Result<FlowState, AuthError> {
        let flow = self.check_flow_cookie(key, name)?;
        let now = self.settings.clock.now();
        if !self.settings.consumed.consume(name, flow.expires_at, now) {
            return Err(self.suspicious(
                "flow cookie replayed",
                AuthErrorKind::InvalidFlowCookie,
                "this login attempt has been used; start the login again",
            ));
        }
        Ok(flow)
    }

    /// The provider's account of the user, cut to sizes a cookie can hold.
    async fn profile(
        &self,
        params: &CallbackParams,
        flow: &FlowData,
    ) -> Result<UserProfile, AuthError> {
        let callback_url = callback_url(self.settings, self.path(), self.head)?;
        let cx = self.context(&callback_url);
        let slot = self.slot().await?;
        let profile = self.provider.finish(&cx, params, flow).await?;
        drop(slot);
        Ok(UserProfile {
            provider: self.name.to_owned(),
            user_id: profile.user_id,
            // A cookie holds about 4 KB: keep what a provider sends to sane sizes.
            name: profile.name.map(|name| truncate(name, MAX_NAME_CHARS)),
            email: profile.email.filter(|email| email.len() <= MAX_EMAIL_LEN),
            claims: profile.claims,
            refresh_token: profile.refresh_token,
            tokens: profile.tokens,
            // The provider's `sid` goes no further than this hash.
            provider_session: (profile.provider_session).map(|sid| {
                ProviderSessionKey::of(
                    self.settings.keys.current(),
                    self.provider.name(),
                    sid.secret(),
                )
            }),
            grant: None,
        })
    }

    /// The app's authorize hook: the claims it adds, or its refusal (`403`).
    async fn authorize(
        &self,
        profile: &UserProfile,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, AuthError> {
        let Some(hook) = &self.settings.authorize else {
            return Ok(None);
        };
        match (hook.0)(profile.clone()).await {
            Ok(grant) => Ok(Some(grant.claims).filter(|claims| !claims.is_empty())),
            Err(denied) => {
                tracing::debug!(provider = self.name, "login denied by the app");
                Err(AuthError::new(AuthErrorKind::Forbidden, denied.message))
            }
        }
    }

    /// The new sign-in's identity, with a new session id, valid for the identity lifetime.
    fn identity(
        &self,
        profile: UserProfile,
        claims: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Identity, AuthError> {
        let now = self.settings.clock.now();
        let session = Session {
            id: SessionId::generate()?,
            started_ms: self.settings.clock.now_ms(),
        };
        // A profile longer than an identity token can carry would make a cookie that no
        // layer accepts.
        let user = User::from_parts(
            &profile.provider,
            &profile.user_id,
            profile.name.as_deref(),
            profile.email.as_deref(),
            claims,
            Some(session),
        )
        .with_provider_session(profile.provider_session)
        .build()
        .ok_or_else(|| {
            AuthError::internal("the identity is too large for a browser cookie (4096 bytes)")
        })?;
        Ok(Identity {
            user,
            issued_at: now,
            expires_at: now + self.settings.identity_lifetime.as_secs(),
        })
    }

    /// The signed identity cookie, and the tokens cookies when the layer keeps them, within
    /// the cookie budget with the identity cookie and the response's `flow_removal`. An
    /// identity too large for a browser cookie is an error, never a cookie the browser drops.
    fn sign_in_cookies(
        &self,
        identity: &Identity,
        provider_tokens: Option<&TokenSet>,
        flow_removal: Option<&HeaderValue>,
    ) -> Result<SignInCookies, AuthError> {
        let settings = self.settings;
        let token = settings
            .codec
            .sign(&settings.keys, identity, Audience::Cookie)?;
        if !cookies::fits(settings.cookies.identity_name(), &token) {
            tracing::error!(
                provider = self.name,
                "the identity cookie would exceed 4096 bytes; the authorize hook's claims are too large"
            );
            return Err(AuthError::internal(
                "the identity is too large for a browser cookie (4096 bytes with its name): \
                 the authorize hook's claims are too large",
            ));
        }
        let token_len = token.len();
        let identity_cookie = settings
            .cookies
            .identity_cookie(token, settings.identity_lifetime)
            .ok_or_else(|| AuthError::internal("could not write the identity cookie"))?;
        let tokens = if settings.keep_provider_tokens.is_on() {
            let others = Cost::default()
                .pair(settings.cookies.identity_name().len(), token_len)
                .set_cookie(identity_cookie.len())
                .set_cookie(flow_removal.map_or(0, HeaderValue::len));
            let carried = crate::provider_tokens::read(settings, &self.head.headers).carried;
            crate::provider_tokens::login_cookies(
                settings,
                identity,
                provider_tokens,
                others,
                carried,
            )?
        } else {
            Vec::new()
        };
        Ok(SignInCookies {
            identity: identity_cookie,
            tokens,
        })
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
            tracing::warn!(provider = self.name, "flow cookie does not open");
        })?;
        if flow.provider != self.name {
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

    fn missing_flow_cookie(&self) -> AuthError {
        tracing::debug!(provider = self.name, "callback without its flow cookie");
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
}

/// `text` cut to at most `max` characters.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}
