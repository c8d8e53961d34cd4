//! `POST /auth/<provider>/backchannel-logout`: an OpenID Connect provider ends a session
//! (OpenID Connect Back-Channel Logout 1.0).
//!
//! The provider posts a form with one `logout_token` (§2.5). The token is verified by the
//! provider (§2.6: signature, claims), accepted once (its `jti` recorded in the revocation
//! store for as long as it could be accepted), and becomes revocation facts every replica
//! applies: with a `sid`, the sign-ins of that provider session; with only a `sub`, every
//! sign-in of that user at this provider begun until now. The answer (§2.8) is `200` with
//! `Cache-Control: no-store`, or a JSON error (`400` for a token refused); never a redirect,
//! never a cookie: the provider's server calls this, not a browser.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL};
use http::{HeaderValue, Method, Response};
use sha2::{Digest, Sha256};
use tracing::Instrument;
use url::Url;

use crate::error::{AuthError, AuthErrorKind};
use crate::provider::backchannel::{BackchannelLogout, LogoutRefused, LogoutToken};
use crate::provider::{CallbackParams, ProviderContext};
use crate::revocation::{ProviderSessionKey, Revocations};
use crate::routes::form_post;
use crate::routes::login::unknown_provider;
use crate::routes::request::RequestHead;
use crate::settings::Settings;

/// Answers a back-channel logout of the provider at `index`, in a
/// `socialauth.backchannel_logout` span naming the provider.
pub(crate) async fn answer<B: http_body::Body>(
    settings: Arc<Settings>,
    index: usize,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    let (Some(provider), Some(Some(verifier)), Some(revocations)) = (
        settings.providers.get(index),
        settings.backchannel.get(index),
        settings.revocations.as_ref(),
    ) else {
        // Back-channel logout is off for this provider: no such route.
        return unknown_provider(&settings.routes);
    };
    let span = tracing::info_span!("socialauth.backchannel_logout", provider = provider.name());
    let receiver = Receiver {
        settings: &settings,
        provider: provider.name(),
        verifier: verifier.as_ref(),
        revocations,
    };
    receiver.answer(head, body).instrument(span).await
}

struct Receiver<'a> {
    settings: &'a Settings,
    provider: &'a str,
    verifier: &'a dyn BackchannelLogout,
    revocations: &'a Revocations,
}

impl Receiver<'_> {
    async fn answer<B: http_body::Body>(&self, head: RequestHead, body: B) -> Response<Bytes> {
        if head.method != Method::POST {
            drop(body);
            self.settings
                .observer
                .backchannel_refused(self.provider, "not a POST");
            let mut response = AuthError::new(
                AuthErrorKind::MethodNotAllowed,
                "a back-channel logout is a POST of a logout_token form",
            )
            .into_response();
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let form = match form_post::read_form(&head.headers, body).await {
            Ok(form) => form,
            Err(error) => {
                self.settings
                    .observer
                    .backchannel_refused(self.provider, "body not a form, or too large");
                return error.into_response();
            }
        };
        match self.logout(&form).await {
            Ok(()) => {
                let mut response = Response::new(Bytes::new());
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(error) => error.into_response(),
        }
    }

    /// Verifies the form's logout token and revokes what it names; the error to answer
    /// otherwise (the refusal already reported).
    async fn logout(&self, form: &str) -> Result<(), AuthError> {
        let token = logout_token_param(form).map_err(|rule| self.refuse(rule))?;
        let nowhere = Url::parse("about:blank").map_err(|_| AuthError::internal("no blank URL"))?;
        let outbound = self.settings.outbound.for_provider(self.provider);
        let cx = ProviderContext {
            provider: self.provider,
            outbound: &outbound,
            callback_url: &nowhere,
            clock: &self.settings.clock,
        };
        let token = match self.verifier.verify_logout_token(&cx, &token).await {
            Ok(token) => token,
            Err(LogoutRefused::Token(rule)) => return Err(self.refuse(rule)),
            Err(LogoutRefused::Provider(error)) => {
                self.settings
                    .observer
                    .backchannel_refused(self.provider, "provider keys or discovery unavailable");
                return Err(error);
            }
        };
        // §2.6 step 8: once. A store that cannot say is not a reason to keep the sessions:
        // revoking again what is revoked changes nothing, so the logout goes on.
        let once = self
            .revocations
            .record_once(&jti_key(self.provider, &token.jti), token.replayable_until)
            .await;
        let mut stored = match once {
            Ok(true) => true,
            Ok(false) => return Err(self.refuse("jti replayed")),
            Err(error) => {
                tracing::warn!(%error, provider = self.provider, "the logout token's jti could not be recorded; revoking anyway");
                false
            }
        };
        let (by, user_id) = self.revoke(&token, &mut stored).await?;
        self.settings
            .observer
            .backchannel_accepted(self.provider, by, user_id.as_deref());
        if stored {
            Ok(())
        } else {
            Err(AuthError::new(
                AuthErrorKind::RevocationUnavailable,
                "the logout holds on this server, and reaches the others when the revocation store answers again",
            ))
        }
    }

    /// Publishes the facts the token names: by `sid` (one fact per accepted key of the
    /// layer, as sign-ins before a key rotation hashed it with their key), else by `sub`.
    /// `stored` turns false when the store did not take one.
    async fn revoke(
        &self,
        token: &LogoutToken,
        stored: &mut bool,
    ) -> Result<(&'static str, Option<String>), AuthError> {
        let mut record = |result: Result<(), crate::revocation::RevocationError>| {
            if let Err(error) = result {
                tracing::warn!(%error, provider = self.provider, "back-channel logout: the store did not take the revocation");
                *stored = false;
            }
        };
        if let Some(sid) = &token.sid {
            for key in self.settings.keys.all() {
                let session = ProviderSessionKey::of(key, self.provider, sid);
                record(self.revocations.revoke_provider_session(session).await);
            }
            let user_id = token
                .sub
                .as_deref()
                .and_then(|sub| self.verifier.user_id_for_sub(sub));
            return Ok(("sid", user_id));
        }
        let user_id = token
            .sub
            .as_deref()
            .and_then(|sub| self.verifier.user_id_for_sub(sub))
            .ok_or_else(|| self.refuse("sub only, and this provider's user ids are not its sub"))?;
        record(self.revocations.revoke_user(self.provider, &user_id).await);
        Ok(("sub", Some(user_id)))
    }

    /// A refused token: reported, and answered `400 invalid_request` naming the rule.
    fn refuse(&self, rule: &'static str) -> AuthError {
        self.settings
            .observer
            .backchannel_refused(self.provider, rule);
        AuthError::new(
            AuthErrorKind::InvalidRequest,
            format!("logout token refused: {rule}"),
        )
    }
}

/// The form's one non-empty `logout_token` (§2.5), or why there is none. Other parameters
/// are ignored; a repeated one (two tokens) is refused.
pub(crate) fn logout_token_param(form: &str) -> Result<String, &'static str> {
    let params = CallbackParams::parse(form)
        .map_err(|_| "a form parameter is repeated, or there are too many")?;
    params
        .get("logout_token")
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .ok_or("no logout_token")
}

/// The store key that records a logout token's `jti`: a hash of the provider's name and the
/// `jti`, so that any `jti` makes a short key of fixed characters.
fn jti_key(provider: &str, jti: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"socialauth logout jti\0");
    hash.update((provider.len() as u64).to_be_bytes());
    hash.update(provider.as_bytes());
    hash.update(jti.as_bytes());
    format!("logout-jti:{}", URL_SAFE_NO_PAD.encode(hash.finalize()))
}
