//! The layer's settings once built: shared, read-only, by every clone of the service.

use std::time::Duration;

use crate::cookies::CookieSettings;
use crate::keys::Keys;
use crate::outbound::Outbound;
use crate::provider::Provider;
use crate::token::IdentityCodec;

/// What the layer answers after a successful login.
#[derive(Debug, Clone)]
pub(crate) enum AfterLogin {
    /// `303 See Other` to this URL.
    Redirect(String),
    /// `200 {"status":"success"}`, as the Python socialauth did.
    Json,
}

/// Everything the service needs, built once by the builder.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) keys: Keys,
    pub(crate) codec: IdentityCodec,
    pub(crate) cookies: CookieSettings,
    pub(crate) providers: Vec<Provider>,
    /// The routes' prefix, e.g. `/auth` (no trailing slash).
    pub(crate) route_prefix: String,
    /// Public origin (and path prefix) of the app, e.g. `https://app.example.com`.
    pub(crate) public_url: Option<String>,
    pub(crate) identity_lifetime: Duration,
    /// Re-issue the identity cookie once past half its life.
    pub(crate) sliding_renewal: bool,
    pub(crate) flow_lifetime: Duration,
    pub(crate) after_login: AfterLogin,
    pub(crate) failure_redirect: Option<String>,
    pub(crate) after_logout: String,
    /// The app's authorize hook, run at the end of every login.
    pub(crate) authorize: Option<crate::hook::AuthorizeHook>,
    pub(crate) outbound: Outbound,
}

/// The logout route's name under the prefix; no provider may take it.
pub(crate) const LOGOUT: &str = "logout";
/// The bearer-token route's name under the prefix; no provider may take it.
pub(crate) const TOKEN: &str = "token";

/// Which auth route a path is, if any.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Not the layer's: pass to the inner service.
    Pass,
    /// `/auth/<name>` of the provider at this index.
    Provider(usize),
    /// `/auth/logout`.
    Logout,
    /// `/auth/token`.
    Token,
    /// Under the prefix, but no provider has that name.
    Unknown,
}

impl Settings {
    /// Classifies a request path. Only the path is looked at, never the query.
    pub(crate) fn route(&self, path: &str) -> Route {
        let Some(rest) = path
            .strip_prefix(self.route_prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Route::Pass;
        };
        if rest == LOGOUT {
            return Route::Logout;
        }
        if rest == TOKEN {
            return Route::Token;
        }
        match self.providers.iter().position(|p| p.name() == rest) {
            Some(index) => Route::Provider(index),
            None => Route::Unknown,
        }
    }
}

impl Settings {
    /// The current Unix time, in seconds.
    pub(crate) fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Put in a request's extensions by the layer when it found no valid identity, so the axum
/// extractor can tell "not signed in" from "the layer is not installed".
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckedAnonymous;

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
    /// identity cookie at all, its bearer token. Anything invalid is no identity.
    pub(crate) fn identify(&self, headers: &http::HeaderMap) -> Option<(crate::Identity, Source)> {
        use crate::cookies::Found;
        let (token, source) = match crate::cookies::find(headers, self.cookies.identity_name()) {
            Found::One(token) => (token, Source::Cookie),
            Found::Many => {
                tracing::warn!("several identity cookies in one request; none is trusted");
                return None;
            }
            Found::None => (bearer_token(headers)?, Source::Bearer),
        };
        let identity = self.verify(token);
        if identity.is_none() {
            tracing::debug!(?source, "identity token present but not valid");
        }
        identity.map(|identity| (identity, source))
    }

    /// Verifies an identity token, and holds it to this layer's lifetime: a token whose
    /// `exp - iat` exceeds the identity lifetime (a token issued long ago with a far `exp`, or
    /// under a longer lifetime since shortened) is not valid.
    pub(crate) fn verify(&self, token: &str) -> Option<crate::Identity> {
        let identity = self.codec.verify(&self.keys, token, self.now())?;
        let allowed = self
            .identity_lifetime
            .as_secs()
            .saturating_add(crate::token::LEEWAY_SECS);
        (identity.expires_at.saturating_sub(identity.issued_at) <= allowed).then_some(identity)
    }

    /// With sliding renewal on, a fresh identity cookie for a cookie identity past half its
    /// life (same user and claims, new `iat` and `exp`).
    pub(crate) fn renewal(
        &self,
        identity: &crate::Identity,
        source: Source,
    ) -> Option<http::HeaderValue> {
        if !self.sliding_renewal || source != Source::Cookie {
            return None;
        }
        let now = self.now();
        let half = self.identity_lifetime.as_secs() / 2;
        if now < identity.issued_at.saturating_add(half) {
            return None;
        }
        let mut renewed = identity.clone();
        renewed.issued_at = now;
        renewed.expires_at = now + self.identity_lifetime.as_secs();
        let token = self.codec.sign(&self.keys, &renewed).ok()?;
        tracing::debug!("identity cookie renewed");
        self.cookies.identity_cookie(token, self.identity_lifetime)
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
