//! The layer's settings once built: shared, read-only, by every clone of the service.

use std::time::Duration;

use std::sync::Arc;

use crate::clock::Clock;
use crate::events::{NoIdentity, Observer};
use crate::identity_token::{Audience, IdentityCodec, Rejected};
use crate::outbound::Outbound;
use crate::provider::backchannel::BackchannelLogout;
use crate::provider::DynProvider;
use crate::revocation::Revocations;
use crate::routes::origin::PublicUrl;
use crate::routes::response::Location;
use crate::routes::Routes;
use crate::state::cookies::CookieSettings;
use crate::state::keys::Keys;
use crate::state::pending_cookie::PendingCookie;

/// What the layer answers after a successful login: `L` is the redirect target, as
/// configured (`String`) or checked ([`Location`]).
#[derive(Debug, Clone)]
pub(crate) enum AfterLogin<L = Location> {
    /// `303 See Other` to this URL.
    Redirect(L),
    /// `200 {"status":"success"}`, as the Python socialauth did.
    Json,
}

/// Everything the service needs, built once by the builder.
pub(crate) struct Settings {
    pub(crate) keys: Keys,
    pub(crate) codec: IdentityCodec,
    pub(crate) cookies: CookieSettings,
    pub(crate) providers: Vec<Arc<dyn DynProvider>>,
    /// Per provider (same index): its logout-token verifier, with back-channel logout on.
    pub(crate) backchannel: Vec<Option<Arc<dyn BackchannelLogout>>>,
    /// One bound per provider (same index) on logins talking to it at once.
    pub(crate) provider_slots: Vec<Arc<tokio::sync::Semaphore>>,
    /// Attempts already taken to their provider.
    pub(crate) consumed: crate::state::consumed::ConsumedFlows,
    pub(crate) routes: Routes,
    pub(crate) clock: Clock,
    /// Public origin (and path prefix) of the app, e.g. `https://app.example.com`.
    pub(crate) public_url: Option<PublicUrl>,
    /// Hosts (`host[:port]`) whose `Host` header may build the callback URL when there is
    /// no public URL; loopback hosts always may.
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) identity_lifetime: Duration,
    /// How long a session lasts from its sign-in, however often it is renewed.
    pub(crate) max_session_lifetime: Duration,
    /// `/auth/token` answers only when on.
    pub(crate) token_endpoint: bool,
    /// How long a bearer token from `/auth/token` lasts.
    pub(crate) bearer_lifetime: Duration,
    /// Re-issue the identity cookie once past half its life.
    pub(crate) sliding_renewal: bool,
    pub(crate) flow_lifetime: Duration,
    pub(crate) after_login: AfterLogin,
    pub(crate) failure_redirect: Option<Location>,
    pub(crate) after_logout: Location,
    /// The app's authorize hook, run at the end of every login.
    pub(crate) authorize: Option<crate::hook::AuthorizeHook>,
    pub(crate) outbound: Outbound,
    /// The app's event hook, the log and the metrics.
    pub(crate) observer: Observer,
    /// Revocation, when configured.
    pub(crate) revocations: Option<Revocations>,
    /// Which of the provider's tokens to keep in the tokens cookie, for
    /// [`crate::ProviderTokens`].
    pub(crate) keep_provider_tokens: crate::KeepTokens,
    /// What the layer's cookies may take of the request's and the response's headers.
    pub(crate) cookie_budget: crate::CookieBudget,
    /// Provider token refreshes under way or just done.
    pub(crate) refreshes: crate::provider_tokens::Refreshes,
    /// Access tokens held for sign-ins whose cookie keeps the refresh token alone.
    pub(crate) held_access_tokens: crate::provider_tokens::HeldAccessTokens,
    /// Per-customer sign-in (`/auth/sso/<tenant>`), when configured.
    pub(crate) tenants: Option<crate::tenants::Tenants>,
    /// Where a sign-in by email goes when no tenant has the domain.
    pub(crate) unknown_domain_redirect: Option<Location>,
    /// The providers whose own access tokens are accepted as bearer tokens, when any.
    pub(crate) api_tokens: Option<crate::api_tokens::ApiTokens>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("routes", &self.routes)
            .field("public_url", &self.public_url)
            .field("identity_lifetime", &self.identity_lifetime)
            .field("flow_lifetime", &self.flow_lifetime)
            .finish_non_exhaustive()
    }
}

/// Put in a request's extensions by the layer when it found no valid identity, so the axum
/// extractor can tell "not signed in" from "the layer is not installed".
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckedAnonymous;

/// Put in a request's extensions beside [`CheckedAnonymous`] when the request carried a
/// bearer token that gave no identity, so a route that needs a user answers as RFC 6750 §3.1
/// says, or `503` when the token could not be checked.
#[derive(Debug, Clone)]
pub(crate) enum BearerRefused {
    /// Not valid here: expired, malformed, forged, for another audience, inactive.
    Invalid,
    /// Valid, and the app's authorize hook refused its user, with this message.
    Denied(Arc<str>),
    /// The provider could not be asked whether it is valid.
    Unavailable,
}

/// Why a request has no identity, and the bearer token it carried, if that is what failed.
#[derive(Debug)]
pub(crate) struct Refused<'h> {
    pub(crate) why: NoIdentity,
    pub(crate) bearer: Option<&'h str>,
}

/// What an identity is looked up for, which decides how revocation is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// To act as the user: refused when a fact revokes the session, or when the copy cannot
    /// say (a stale copy under [`StalePolicy::FailClosed`](crate::revocation::StalePolicy)).
    Access,
    /// To revoke it (a logout): refused only when a fact this process knows revokes it.
    Revoke,
}

/// Where a request's identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The identity cookie.
    Cookie,
    /// `Authorization: Bearer <identity token>`.
    Bearer,
}

impl Settings {
    /// The verified identity of a request: its one identity cookie, or, when it has no
    /// identity cookie at all, its bearer token. Anything invalid is no identity; the error
    /// says why there is none.
    pub(crate) fn identify<'h>(
        &self,
        headers: &'h http::HeaderMap,
    ) -> Result<(crate::Identity, Source), Refused<'h>> {
        self.find(headers, Purpose::Access)
    }

    /// The identity a logout revokes: as [`identify`](Self::identify) finds it, except that
    /// only a fact this process knows makes it revoked. A stale copy is not a revocation, so
    /// under the fail-closed policy a logout during a store outage still revokes the session
    /// it was given.
    pub(crate) fn identify_to_revoke(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<(crate::Identity, Source), NoIdentity> {
        self.find(headers, Purpose::Revoke)
            .map_err(|refused| refused.why)
    }

    fn find<'h>(
        &self,
        headers: &'h http::HeaderMap,
        purpose: Purpose,
    ) -> Result<(crate::Identity, Source), Refused<'h>> {
        use crate::state::cookies::Found;
        let refused = |why| Refused { why, bearer: None };
        let (token, source) =
            match crate::state::cookies::find_raw(headers, self.cookies.identity_name()) {
                Found::One(token) => (token, Source::Cookie),
                Found::Many => {
                    tracing::warn!("several identity cookies in one request; none is trusted");
                    return Err(refused(NoIdentity::Invalid));
                }
                Found::None => match bearer_token(headers) {
                    Some(token) => (token.as_bytes(), Source::Bearer),
                    None => return Err(refused(NoIdentity::Absent)),
                },
            };
        let audience = match source {
            Source::Cookie => Audience::Cookie,
            Source::Bearer => Audience::Bearer,
        };
        match self.check_for(token, audience, purpose) {
            Ok(identity) => Ok((identity, source)),
            Err(rejected) => {
                tracing::debug!(?source, "identity token present but not valid");
                let why = match rejected {
                    Rejected::Expired => NoIdentity::Expired,
                    Rejected::Invalid => NoIdentity::Invalid,
                    Rejected::Revoked => NoIdentity::Revoked,
                };
                let bearer = match source {
                    // Only bytes of a `str` are ever checked as a bearer token.
                    Source::Bearer => std::str::from_utf8(token).ok(),
                    Source::Cookie => None,
                };
                Err(Refused { why, bearer })
            }
        }
    }

    /// The request's lone `Authorization: Bearer` token, if any.
    pub(crate) fn bearer<'h>(&self, headers: &'h http::HeaderMap) -> Option<&'h str> {
        bearer_token(headers)
    }

    /// Whether `token` has the shape of one of the layer's own tokens (its header names one
    /// of the layer's keys), as opposed to a provider's access token.
    pub(crate) fn is_layer_token(&self, token: &str) -> bool {
        crate::identity_token::is_shaped(&self.keys, token.as_bytes())
    }

    /// The identity of the request's one identity cookie when its token is ours but no
    /// longer valid (expired or revoked): for a logout's redirect to the provider only.
    pub(crate) fn lapsed_identity(&self, headers: &http::HeaderMap) -> Option<crate::Identity> {
        match crate::state::cookies::find_raw(headers, self.cookies.identity_name()) {
            crate::state::cookies::Found::One(token) => {
                self.codec.read_lapsed(&self.keys, token, Audience::Cookie)
            }
            _ => None,
        }
    }

    /// Verifies a token for `audience`, and holds it to this layer's lifetimes: a token
    /// whose `exp - iat` exceeds its lifetime (a token issued long ago with a far `exp`, or
    /// under a longer lifetime since shortened) is not valid, and one whose session began
    /// longer than the session lifetime ago has expired.
    pub(crate) fn verify(&self, token: &str, audience: Audience) -> Option<crate::Identity> {
        self.check_for(token.as_bytes(), audience, Purpose::Access)
            .ok()
    }

    /// [`verify`](Self::verify) for `purpose`, saying why a token is refused.
    fn check_for(
        &self,
        token: &[u8],
        audience: Audience,
        purpose: Purpose,
    ) -> Result<crate::Identity, Rejected> {
        let now = self.clock.now();
        let identity = self.codec.check(&self.keys, token, now, audience)?;
        let lifetime = match audience {
            Audience::Cookie => self.identity_lifetime,
            Audience::Bearer => self.bearer_lifetime,
        };
        let allowed = lifetime
            .as_secs()
            .saturating_add(crate::identity_token::LEEWAY_SECS);
        if identity.expires_at.saturating_sub(identity.issued_at) > allowed {
            return Err(Rejected::Invalid);
        }
        // The session's absolute end, with the same leeway as `exp`.
        if let Some(session) = identity.user.session() {
            let ends_at = session.ends_at(self.max_session_lifetime);
            if ends_at < now.saturating_sub(crate::identity_token::LEEWAY_SECS) {
                return Err(Rejected::Expired);
            }
        }
        let Some(revocations) = &self.revocations else {
            return Ok(identity);
        };
        let refused = match purpose {
            Purpose::Access => !revocations.allows(&identity.user),
            Purpose::Revoke => revocations.known_revoked(&identity.user),
        };
        if refused {
            return Err(Rejected::Revoked);
        }
        Ok(identity)
    }

    /// With sliding renewal on, a fresh identity cookie for a cookie identity past half its
    /// life (same user and claims, new `iat` and `exp`). Renewal never extends the session:
    /// the new `exp` is at most the session's end (its sign-in plus the session lifetime),
    /// and a token that already expires then, or has no sign-in time to count from, is not
    /// renewed.
    pub(crate) fn renewal(
        &self,
        identity: &crate::Identity,
        source: Source,
    ) -> Option<PendingCookie> {
        if !self.sliding_renewal || source != Source::Cookie {
            return None;
        }
        let now = self.clock.now();
        let half = self.identity_lifetime.as_secs() / 2;
        if now < identity.issued_at.saturating_add(half) {
            return None;
        }
        let ends_at = identity.user.session()?.ends_at(self.max_session_lifetime);
        let expires_at = now
            .saturating_add(self.identity_lifetime.as_secs())
            .min(ends_at);
        if expires_at <= identity.expires_at.max(now) {
            return None;
        }
        let mut renewed = identity.clone();
        renewed.issued_at = now;
        renewed.expires_at = expires_at;
        let token = self
            .codec
            .sign(&self.keys, &renewed, Audience::Cookie)
            .ok()?;
        tracing::debug!("identity cookie renewed");
        let cookie = self
            .cookies
            .identity_cookie(token, Duration::from_secs(expires_at.saturating_sub(now)))?;
        Some(PendingCookie {
            name: self.cookies.identity_name(),
            cookies: vec![cookie],
        })
    }
}

/// The token of a lone `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}
