//! What the layer answers itself, under its prefix: one route per provider (the login start
//! and the provider's callback), the logout (and the provider's end-session redirect), the
//! token endpoint, the `form_post` carry-over page, the back-channel logout receiver of an
//! OpenID Connect provider, and the JSON error answer. `request.rs` holds what every route
//! reads from a request.

pub(crate) mod backchannel_logout;
pub(crate) mod form_post;
pub(crate) mod html;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod origin;
pub(crate) mod provider_logout;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod sso;
pub(crate) mod token_endpoint;

/// The logout route's name under the prefix.
pub(crate) const LOGOUT: &str = "logout";
/// The bearer-token route's name under the prefix.
pub(crate) const TOKEN_ENDPOINT: &str = "token";
/// The back-channel logout route's name under a provider's route.
pub(crate) const BACKCHANNEL_LOGOUT: &str = "backchannel-logout";
/// The route name of per-customer sign-in under the prefix: `/auth/sso/<tenant>`.
pub(crate) const SSO: &str = "sso";
/// Names no provider may take: the layer's own routes.
pub(crate) const RESERVED: &[&str] = &[LOGOUT, TOKEN_ENDPOINT];

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
    TokenEndpoint,
    /// `/auth/sso` or `/auth/sso/<anything>`, when the layer has tenants.
    Sso,
    /// `/auth/<name>/backchannel-logout` of the provider at this index.
    BackchannelLogout(usize),
    /// Under the prefix, but no provider has that name.
    Unknown,
}

/// The route prefix and the providers' names, in the order the providers were added.
#[derive(Debug)]
pub(crate) struct Routes {
    /// E.g. `/auth` (no trailing slash).
    pub(crate) prefix: String,
    pub(crate) provider_names: Vec<String>,
    /// Whether `/auth/sso` and `/auth/sso/<tenant>` are per-customer sign-in routes.
    pub(crate) tenants: bool,
}

impl Routes {
    /// Classifies a request path. Only the path is looked at, never the query.
    pub(crate) fn route(&self, path: &str) -> Route {
        let Some(rest) = path
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return Route::Pass;
        };
        if rest == LOGOUT {
            return Route::Logout;
        }
        if rest == TOKEN_ENDPOINT {
            return Route::TokenEndpoint;
        }
        if self.tenants && is_sso_path(rest) {
            return Route::Sso;
        }
        let backchannel = rest
            .strip_suffix(BACKCHANNEL_LOGOUT)
            .and_then(|name| name.strip_suffix('/'));
        let (name, route): (&str, fn(usize) -> Route) = match backchannel {
            Some(name) => (name, Route::BackchannelLogout),
            None => (rest, Route::Provider),
        };
        match self.provider_names.iter().position(|known| known == name) {
            Some(index) => route(index),
            None => Route::Unknown,
        }
    }

    /// A provider's back-channel logout route, e.g. `/auth/oidc/backchannel-logout`.
    pub(crate) fn backchannel_logout_path(&self, name: &str) -> String {
        format!("{}/{name}/{BACKCHANNEL_LOGOUT}", self.prefix)
    }

    /// A provider's route, e.g. `/auth/github`.
    pub(crate) fn provider_path(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }
}

/// `sso` or `sso/<anything>`: the per-customer sign-in routes.
fn is_sso_path(rest: &str) -> bool {
    rest.strip_prefix(SSO)
        .is_some_and(|after| after.is_empty() || after.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified_by_prefix_and_name() {
        let routes = Routes {
            prefix: "/auth".to_owned(),
            provider_names: vec!["github".to_owned(), "oidc".to_owned()],
            tenants: true,
        };
        assert_eq!(routes.route("/auth/sso"), Route::Sso);
        assert_eq!(routes.route("/auth/sso/acme"), Route::Sso);
        assert_eq!(routes.route("/auth/sso/a/b"), Route::Sso);
        assert_eq!(routes.route("/auth/ssox"), Route::Unknown);
        assert_eq!(routes.route("/auth/oidc"), Route::Provider(1));
        assert_eq!(routes.route("/auth/logout"), Route::Logout);
        assert_eq!(routes.route("/auth/token"), Route::TokenEndpoint);
        assert_eq!(routes.route("/auth/nope"), Route::Unknown);
        assert_eq!(
            routes.route("/auth/oidc/backchannel-logout"),
            Route::BackchannelLogout(1)
        );
        assert_eq!(
            routes.route("/auth/nope/backchannel-logout"),
            Route::Unknown
        );
        assert_eq!(routes.route("/auth/backchannel-logout"), Route::Unknown);
        assert_eq!(routes.route("/auth/oidcbackchannel-logout"), Route::Unknown);
        assert_eq!(
            routes.backchannel_logout_path("oidc"),
            "/auth/oidc/backchannel-logout"
        );
        assert_eq!(routes.route("/authx/github"), Route::Pass);
        assert_eq!(routes.route("/"), Route::Pass);
        assert_eq!(routes.provider_path("github"), "/auth/github");
    }
}
