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
    pub(crate) flow_lifetime: Duration,
    pub(crate) after_login: AfterLogin,
    pub(crate) failure_redirect: Option<String>,
    pub(crate) after_logout: String,
    pub(crate) outbound: Outbound,
}

/// The logout route's name under the prefix; no provider may take it.
pub(crate) const LOGOUT: &str = "logout";

/// Which auth route a path is, if any.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// Not the layer's: pass to the inner service.
    Pass,
    /// `/auth/<name>` of the provider at this index.
    Provider(usize),
    /// `/auth/logout`.
    Logout,
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

impl Settings {
    /// The verified identity of a request's cookie, if it has exactly one valid one.
    pub(crate) fn identify(&self, headers: &http::HeaderMap) -> Option<crate::Identity> {
        match crate::cookies::find(headers, self.cookies.identity_name()) {
            crate::cookies::Found::One(token) => {
                let identity = self.codec.verify(&self.keys, token, self.now());
                if identity.is_none() {
                    tracing::debug!("identity cookie present but not valid");
                }
                identity
            }
            crate::cookies::Found::Many => {
                tracing::warn!("several identity cookies in one request; none is trusted");
                None
            }
            crate::cookies::Found::None => None,
        }
    }
}
