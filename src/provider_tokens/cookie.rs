//! The tokens cookie: a sign-in's provider tokens, encrypted and authenticated (AES-256-GCM,
//! the `cookie` crate's private jar, under the cookie's name), bound to that sign-in, and cut
//! down to the [`CookieBudget`](super::CookieBudget) in the order [`KeepTokens`] says.
//!
//! The sealed value is one: when it does not fit one cookie it is split into numbered chunks
//! ([`crate::state::chunked`]) after sealing, so no chunk opens, or can be swapped, apart
//! from the others of its value.

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::budget::Cost;
use super::keep::{KeepTokens, TokensKept};
use super::same_user;
use crate::error::AuthError;
use crate::identity::Identity;
use crate::provider::TokenSet;
use crate::secret::RefreshToken;
use crate::settings::Settings;
use crate::state::chunked::{self, Carried, Chunks};
use crate::state::keys::Keys;
use crate::state::session::SessionId;

/// What the cookie holds: the tokens, and the sign-in they belong to.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The session id of the identity the tokens came with.
    sid: SessionId,
    #[serde(rename = "p")]
    provider: String,
    /// Who the login's ID token named ([`same_user::user_of`]), when it had one.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(rename = "h")]
    held: Held,
}

/// The tokens a cookie holds, as [`TokensKept`] says.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum Held {
    #[serde(rename = "all")]
    All(TokenSet),
    #[serde(rename = "no_id")]
    WithoutIdToken(TokenSet),
    #[serde(rename = "rt")]
    RefreshTokenOnly(RefreshToken),
}

/// A sign-in's tokens, as its cookie holds them.
#[derive(Clone)]
pub(crate) struct Opened {
    /// Who the login's ID token named, for a refreshed ID token to name too.
    pub(crate) user: Option<String>,
    pub(crate) held: Held,
}

impl Held {
    /// Which tokens these are.
    pub(crate) fn kept(&self) -> TokensKept {
        match self {
            Self::All(_) => TokensKept::All,
            Self::WithoutIdToken(_) => TokensKept::WithoutIdToken,
            Self::RefreshTokenOnly(_) => TokensKept::RefreshTokenOnly,
        }
    }

    /// The refresh token, when there is one.
    pub(crate) fn refresh_token(&self) -> Option<&RefreshToken> {
        match self {
            Self::All(tokens) | Self::WithoutIdToken(tokens) => tokens.refresh_token(),
            Self::RefreshTokenOnly(refresh_token) => Some(refresh_token),
        }
    }
}

/// What a request carries of the tokens cookies.
#[derive(Debug, Default)]
pub(crate) struct Carrying {
    /// The sealed value, joined from its chunks, when they are one well-formed set.
    pub(crate) sealed: Option<String>,
    /// Which of the tokens cookies' names the request carried.
    pub(crate) carried: Carried,
}

/// Reads the tokens cookies of a request.
pub(crate) fn read(settings: &Settings, headers: &HeaderMap) -> Carrying {
    let (found, carried) = chunked::read(headers, settings.cookies.tokens_name());
    let sealed = match found {
        Chunks::One(sealed) => Some(sealed),
        Chunks::None => None,
        Chunks::Bad => {
            tracing::warn!(
                "provider tokens cookies that are not one well-formed set; none is trusted"
            );
            None
        }
    };
    Carrying { sealed, carried }
}

/// The tokens in a sealed value, when it opens with one of the layer's keys under the
/// tokens cookie's name and belongs to `identity`'s sign-in (same session id and provider):
/// the tokens of another user, or of another login of the same user, do not open.
pub(crate) fn open(keys: &Keys, name: &str, sealed: &str, identity: &Identity) -> Option<Opened> {
    let sealed: Sealed = serde_json::from_str(&keys.open(name, sealed)?).ok()?;
    let same = Some(sealed.sid) == identity.session_id() && sealed.provider == identity.provider();
    same.then_some(Opened {
        user: sealed.user,
        held: sealed.held,
    })
}

/// The tokens cookies written for a sign-in.
pub(crate) struct Written {
    /// `Set-Cookie` values: the value's cookies, then the removal of those it replaces.
    pub(crate) cookies: Vec<HeaderValue>,
    pub(crate) kept: TokensKept,
}

/// What may be kept of `tokens`, in the order `keep` tries it, never more than `at_most`.
fn candidates(
    keep: KeepTokens,
    tokens: &TokenSet,
    at_most: TokensKept,
) -> impl Iterator<Item = Held> + '_ {
    let rank = |kept: TokensKept| match kept {
        TokensKept::All => 0,
        TokensKept::WithoutIdToken => 1,
        TokensKept::RefreshTokenOnly => 2,
    };
    let tries = keep.tries().iter().copied();
    tries
        .filter(move |kept| rank(*kept) >= rank(at_most))
        .filter_map(move |kept| match kept {
            TokensKept::All => Some(Held::All(tokens.clone())),
            TokensKept::WithoutIdToken => tokens
                .id_token()
                .map(|_| Held::WithoutIdToken(tokens.without_id_token())),
            TokensKept::RefreshTokenOnly => tokens
                .refresh_token()
                .map(|refresh_token| Held::RefreshTokenOnly(refresh_token.clone())),
        })
}

/// Tokens to keep for a sign-in.
pub(crate) struct ToKeep<'a> {
    pub(crate) tokens: &'a TokenSet,
    /// The most to keep: all at a login; at a refresh, what the login kept (a dropped ID
    /// token stays dropped).
    pub(crate) at_most: TokensKept,
    /// Who the login's ID token named.
    pub(crate) user: Option<String>,
}

/// The `Set-Cookie` values keeping `keep` for `identity`'s sign-in: the first of what
/// `keep_provider_tokens` allows ([`KeepTokens`]) whose cookies, with `others` (the
/// identity cookie, and the other cookies the same response sets), fit the cookie budget;
/// the names the request `carried` that are not written again are cleared. An error when
/// nothing fits, never a cookie a browser or a proxy would drop.
pub(crate) fn write(
    settings: &Settings,
    identity: &Identity,
    keep: ToKeep<'_>,
    others: Cost,
    carried: Carried,
) -> Result<Written, AuthError> {
    let name = settings.cookies.tokens_name();
    let session = identity
        .session_id()
        .ok_or_else(|| AuthError::internal("provider tokens need a sign-in with a session id"))?;
    let attributes = settings.cookies.attributes_len(settings.identity_lifetime);
    for held in candidates(settings.keep_provider_tokens, keep.tokens, keep.at_most) {
        let kept = held.kept();
        let sealed = Sealed {
            sid: session,
            provider: identity.provider().to_owned(),
            user: keep.user.clone(),
            held,
        };
        let sealed = serde_json::to_string(&sealed)
            .ok()
            .and_then(|json| settings.keys.seal(name, json))
            .ok_or_else(|| AuthError::internal("could not seal the provider's tokens"))?;
        let Some(parts) = chunked::split(name, &sealed, attributes) else {
            continue;
        };
        let mut cookies = Vec::with_capacity(parts.len());
        let mut cost = others;
        for (part_name, part) in &parts {
            let cookie = settings
                .cookies
                .tokens_cookie(
                    part_name.clone(),
                    (*part).to_owned(),
                    settings.identity_lifetime,
                )
                .ok_or_else(|| AuthError::internal("could not write the provider tokens cookie"))?;
            cost = cost
                .pair(part_name.len(), part.len())
                .set_cookie(cookie.len());
            cookies.push(cookie);
        }
        let written: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
        for removal in removals(settings, carried, &written) {
            cost = cost.set_cookie(removal.len());
            cookies.push(removal);
        }
        if settings.cookie_budget.allows(cost) {
            tracing::debug!(
                provider = identity.provider(),
                kept = ?kept,
                cookies = parts.len(),
                bytes = sealed.len(),
                "provider tokens kept"
            );
            return Ok(Written { cookies, kept });
        }
    }
    tracing::error!(
        provider = identity.provider(),
        keep = ?settings.keep_provider_tokens,
        "the provider's tokens do not fit the cookie budget in the way keep_provider_tokens asks"
    );
    Err(AuthError::internal(
        "the provider's tokens are too large for the cookie budget (or, kept as a refresh \
         token alone, the provider issued none): raise cookie_budget where the proxy allows \
         it, keep fewer (KeepTokens::Fitting), or keep them from the authorize hook instead",
    ))
}

/// `Set-Cookie` values clearing the tokens cookies the request `carried`, except those
/// named in `written`.
pub(crate) fn removals(
    settings: &Settings,
    carried: Carried,
    written: &[&str],
) -> Vec<HeaderValue> {
    carried
        .names(settings.cookies.tokens_name())
        .filter(|name| !written.contains(&name.as_str()))
        .filter_map(|name| settings.cookies.removal(name))
        .collect()
}

/// At the end of a login with `keep_provider_tokens`: the tokens cookies of this sign-in
/// (and the removal of an earlier sign-in's that they do not overwrite), or the removal of
/// an earlier sign-in's when the provider issued no tokens. `others` is what the identity
/// cookie and the rest of the login's answer cost.
pub(crate) fn login_cookies(
    settings: &Settings,
    identity: &Identity,
    tokens: Option<&TokenSet>,
    others: Cost,
    carried: Carried,
) -> Result<Vec<HeaderValue>, AuthError> {
    let Some(tokens) = tokens else {
        let mut cleared = removals(settings, carried, &[]);
        if !carried.any() {
            cleared.extend(
                settings
                    .cookies
                    .removal(settings.cookies.tokens_name().to_owned()),
            );
        }
        return Ok(cleared);
    };
    let user = tokens.id_token().and_then(same_user::user_of);
    let keep = ToKeep {
        tokens,
        at_most: TokensKept::All,
        user,
    };
    let written = write(settings, identity, keep, others, carried)?;
    if let (TokensKept::RefreshTokenOnly, Some(session)) = (written.kept, identity.session_id()) {
        // This process holds the login's access token: its first use needs no refresh.
        settings
            .held_access_tokens
            .put(session, tokens, settings.clock.now());
    }
    Ok(written.cookies)
}
