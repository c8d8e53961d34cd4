//! What a provider that sends back-channel logout tokens (OpenID Connect Back-Channel
//! Logout 1.0) gives the layer: a way to verify them. Only [`Oidc`](super::Oidc) and the
//! OpenID Connect presets have it, when turned on with
//! [`Oidc::backchannel_logout`](super::Oidc::backchannel_logout).

use super::context::ProviderContext;
use super::BoxFuture;
use crate::error::AuthError;

pub(crate) use super::oidc::logout_token::LogoutToken;

/// Why a logout token was not accepted.
#[derive(Debug)]
pub(crate) enum LogoutRefused {
    /// The token broke a rule of §2.6 (the rule, a fixed text: never token content).
    Token(&'static str),
    /// The provider's discovery document or keys could not be had: not the token's fault.
    Provider(AuthError),
}

/// A provider that verifies back-channel logout tokens.
pub(crate) trait BackchannelLogout: Send + Sync {
    /// Verifies a logout token (§2.6, but the replay check, which is the layer's): its
    /// signature with the provider's keys, then its claims at `cx.now()`.
    fn verify_logout_token<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        token: &'a str,
    ) -> BoxFuture<'a, Result<LogoutToken, LogoutRefused>>;

    /// The user id an identity from this provider has for the `sub` of a logout token,
    /// `None` when the provider's user ids are not its `sub` (Slack's are scoped by
    /// workspace), so that a `sub`-only token cannot name a user.
    fn user_id_for_sub(&self, sub: &str) -> Option<String>;
}
