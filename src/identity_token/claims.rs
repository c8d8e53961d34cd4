//! What an identity token says: its claims as signed and read, where it may be used, and
//! what a verified token keeps.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::LEEWAY_SECS;
use crate::identity::Identity;
use crate::state::provider_session::ProviderSessionKey;
use crate::state::session::SessionId;

/// `iss` of every identity token.
pub(super) const ISSUER: &str = "socialauth";
/// `aud` of identity cookies' tokens. Flow cookies are not JWTs at all, and bearer tokens
/// have their own audience, so no token can stand in for another.
pub(super) const IDENTITY_AUDIENCE: &str = "socialauth:identity";
/// `aud` of the bearer tokens `/auth/token` issues.
pub(super) const BEARER_AUDIENCE: &str = "socialauth:bearer";

/// Where a token may be used: in the identity cookie, or as `Authorization: Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Cookie,
    Bearer,
}

impl Audience {
    pub(super) fn claim(self) -> &'static str {
        match self {
            Self::Cookie => IDENTITY_AUDIENCE,
            Self::Bearer => BEARER_AUDIENCE,
        }
    }
}
/// The claims of an identity token, as signed and as read once the signature is verified.
///
/// Each member has one JSON type (a string where a string is expected, an unsigned integer
/// for the times, an object for `app`; `null` or absent for the optional ones), and a
/// member given twice makes the token invalid, as `serde`'s derived code refuses it. Unknown
/// members are ignored: only a key of this layer can have signed them, so they come from
/// this crate, and ignoring them lets a later release add a claim without signing out the
/// users of instances still on this one.
#[derive(Serialize, Deserialize)]
pub(super) struct Claims<'a> {
    #[serde(borrow)]
    pub(super) iss: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) aud: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) sub: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) provider: Cow<'a, str>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<Cow<'a, str>>,
    pub(super) iat: u64,
    pub(super) exp: u64,
    /// Never written by this crate; honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) nbf: Option<u64>,
    /// App claims from the authorize hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app: Option<Cow<'a, Map<String, Value>>>,
    /// The session id, shared by every token of one sign-in (renewed or bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sid: Option<SessionId>,
    /// When that sign-in happened, in Unix milliseconds (kept by renewal, unlike `iat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) auth_ms: Option<u64>,
    /// The provider session the sign-in came from, as a keyed hash of its `sid` (for
    /// back-channel logout); never the provider's `sid` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) psid: Option<ProviderSessionKey>,
}

/// A token whose signature and claims passed: its identity (with the times to check it
/// against the clock on each use) and where it may be used. A token's `nbf`, which this
/// crate never writes, is not kept here (see [`IdentityCodec::check`]).
///
/// [`IdentityCodec::check`]: super::IdentityCodec::check
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(super) identity: Identity,
    pub(super) audience: Audience,
}

impl Verified {
    /// The identity, if `exp`, `nbf` and `iat` hold at `now` (with the leeway).
    pub(super) fn current_at(
        self,
        now: u64,
        not_before: Option<u64>,
    ) -> Result<Identity, Rejected> {
        let identity = self.identity;
        if identity.expires_at < now.saturating_sub(LEEWAY_SECS) {
            return Err(Rejected::Expired);
        }
        let current = identity.issued_at <= now.saturating_add(LEEWAY_SECS)
            && not_before.is_none_or(|nbf| nbf <= now.saturating_add(LEEWAY_SECS));
        current.then_some(identity).ok_or(Rejected::Invalid)
    }
}

/// Why a token gives no identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Not a token of ours, for another use, tampered with, malformed, or not valid yet.
    Invalid,
    /// A token of ours whose time is over.
    Expired,
    /// A token of ours for a session that was revoked, or that cannot be checked against
    /// revocation (no session id, or a stale copy under the fail-closed policy).
    Revoked,
}
