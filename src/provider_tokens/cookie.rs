//! The tokens cookie: a sign-in's provider tokens, encrypted and authenticated (AES-256-GCM,
//! the `cookie` crate's private jar, under the cookie's name), and bound to that sign-in.

use serde::{Deserialize, Serialize};

use http::HeaderValue;

use crate::error::AuthError;
use crate::identity::Identity;
use crate::provider::TokenSet;
use crate::settings::Settings;
use crate::state::keys::Keys;
use crate::state::session::SessionId;

/// What the cookie holds: the tokens, and the sign-in they belong to.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The session id of the identity the tokens came with.
    sid: SessionId,
    provider: String,
    tokens: TokenSet,
}

/// The tokens of `identity`'s sign-in, sealed for the cookie `name`; `None` for an identity
/// without a session id.
fn seal(keys: &Keys, name: &str, identity: &Identity, tokens: &TokenSet) -> Option<String> {
    let sealed = Sealed {
        sid: identity.session_id()?,
        provider: identity.provider().to_owned(),
        tokens: tokens.clone(),
    };
    keys.seal(name, serde_json::to_string(&sealed).ok()?)
}

/// The tokens in a cookie value, when it opens with one of the layer's keys under this name
/// and belongs to `identity`'s sign-in (same session id and provider): a tokens cookie of
/// another user, or of another login of the same user, does not open.
pub(crate) fn open(keys: &Keys, name: &str, value: &str, identity: &Identity) -> Option<TokenSet> {
    let sealed: Sealed = serde_json::from_str(&keys.open(name, value)?).ok()?;
    let same = Some(sealed.sid) == identity.session_id() && sealed.provider == identity.provider();
    same.then_some(sealed.tokens)
}

/// The `Set-Cookie` of `identity`'s tokens. Tokens that would not fit in a browser cookie
/// (4,096 bytes with its name) are an error saying so, never a cookie the browser would drop.
pub(crate) fn set_cookie(
    settings: &Settings,
    identity: &Identity,
    tokens: &TokenSet,
) -> Result<HeaderValue, AuthError> {
    let name = settings.cookies.tokens_name();
    let sealed = seal(&settings.keys, name, identity, tokens)
        .ok_or_else(|| AuthError::internal("could not seal the provider's tokens"))?;
    if !crate::state::cookies::fits(name, &sealed) {
        tracing::error!(
            provider = identity.provider(),
            "the provider tokens cookie would exceed 4096 bytes"
        );
        return Err(AuthError::internal(
            "the provider's tokens are too large for a browser cookie (4096 bytes with its \
             name): keep them from the authorize hook instead of keep_provider_tokens",
        ));
    }
    settings
        .cookies
        .tokens_cookie(sealed, settings.identity_lifetime)
        .ok_or_else(|| AuthError::internal("could not write the provider tokens cookie"))
}

/// At the end of a login with `keep_provider_tokens`: the tokens cookie of this sign-in, or
/// the removal of an earlier sign-in's when the provider issued no tokens.
pub(crate) fn login_cookie(
    settings: &Settings,
    identity: &Identity,
    tokens: Option<&TokenSet>,
) -> Result<Option<HeaderValue>, AuthError> {
    match tokens {
        Some(tokens) => set_cookie(settings, identity, tokens).map(Some),
        None => Ok(settings
            .cookies
            .removal(settings.cookies.tokens_name().to_owned())),
    }
}
