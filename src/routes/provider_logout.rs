//! Logout at the provider (OpenID Connect RP-Initiated Logout): once `POST /auth/logout` has
//! cleared the layer's cookies, where to send the browser so the identity's provider ends
//! its session too.
//!
//! A tenant's session (`sso:<tenant>`) goes to its tenant's provider, looked up through the
//! tenant cache as its login was.
//!
//! Everything here falls back to a local logout: a provider that does not do it, a tenant
//! that no longer resolves (unknown, or its resolver failing), a failed discovery, or an
//! after-logout URL that cannot be made absolute on this app's origin
//! leave the redirect to the after-logout URL in place (with a warning where something is
//! wrong). The user is signed out of the app in every case.

use http::HeaderMap;
use url::Url;

use crate::error::AuthError;
use crate::events::metric_label;
use crate::identity::Identity;
use crate::outbound::Outbound;
use crate::provider::{DynProvider, EndSessionRequest, ProviderContext};
use crate::provider_tokens::Held;
use crate::routes::request::{callback_url, RequestHead};
use crate::routes::SSO as ROUTE;
use crate::secret::IdToken;
use crate::settings::Settings;
use crate::state::random::random_token;
use crate::state::return_to;
use crate::tenants::Lookup;

/// The provider's end-session URL for `identity`, when its provider ends sessions and every
/// piece of the request could be made; `None` for a local logout.
///
/// `id_token` is the ID token of the identity's login, sent as `id_token_hint`; without it
/// the user id goes as `logout_hint`.
pub(crate) async fn end_session_url(
    settings: &Settings,
    head: &RequestHead,
    identity: &Identity,
    id_token: Option<&IdToken>,
) -> Option<Url> {
    let name = identity.provider();
    if let Some(provider) = settings.providers.iter().find(|p| p.name() == name) {
        let outbound = settings.outbound.for_provider(name);
        let route = settings.routes.provider_path(name);
        let at = AtProvider {
            provider: provider.as_ref(),
            outbound: &outbound,
            route: &route,
        };
        return end_session_at(settings, head, identity, id_token, at).await;
    }
    // A tenant's session (`sso:<tenant>`): its provider through the tenant cache, as its
    // login found it.
    let (tenant, lookup) = settings
        .tenants
        .as_ref()?
        .resolve_session(name, settings.outbound.timeout())
        .await?;
    let resolved = match lookup {
        Lookup::Found(resolved) => resolved,
        Lookup::Unknown | Lookup::Failed(_) => {
            tracing::warn!(
                provider = name,
                "logout: the tenant's provider could not be looked up; signed out here only"
            );
            return None;
        }
    };
    let outbound = settings.outbound.for_provider(metric_label(name));
    let route = format!("{}/{ROUTE}/{tenant}", settings.routes.prefix);
    let at = AtProvider {
        provider: resolved.provider.as_ref(),
        outbound: &outbound,
        route: &route,
    };
    end_session_at(settings, head, identity, id_token, at).await
}

/// The provider a logout goes to: its client (naming it in spans and metrics) and its login
/// route.
struct AtProvider<'a> {
    provider: &'a dyn DynProvider,
    outbound: &'a Outbound,
    route: &'a str,
}

/// [`end_session_url`] at the identity's provider, found.
async fn end_session_at(
    settings: &Settings,
    head: &RequestHead,
    identity: &Identity,
    id_token: Option<&IdToken>,
    at: AtProvider<'_>,
) -> Option<Url> {
    let name = identity.provider();
    let prepared = callback_url(settings, at.route, head)
        .and_then(|callback| Ok((callback, post_logout_redirect_uri(settings, head)?)))
        .and_then(|urls| Ok((urls, random_token()?)));
    let ((callback, post_logout), state) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            tracing::warn!(provider = name, %error, "logout: signed out here only");
            return None;
        }
    };
    let cx = ProviderContext {
        provider: name,
        outbound: at.outbound,
        callback_url: &callback,
        clock: &settings.clock,
    };
    let request = EndSessionRequest {
        user_id: identity.user_id(),
        post_logout_redirect_uri: &post_logout,
        state: &state,
        id_token,
    };
    match at.provider.end_session_url(&cx, &request).await {
        Ok(url) => url,
        Err(error) => {
            tracing::warn!(
                provider = name,
                %error,
                "logout: the provider's session could not be ended; signed out here only"
            );
            None
        }
    }
}

/// The ID token of `identity`'s sign-in, from the request's tokens cookies (with
/// `keep_provider_tokens`), when they open for that sign-in and kept it: the
/// `id_token_hint`.
pub(crate) fn kept_id_token(
    settings: &Settings,
    headers: &HeaderMap,
    identity: &Identity,
) -> Option<IdToken> {
    if !settings.keep_provider_tokens.is_on() {
        return None;
    }
    let sealed = crate::provider_tokens::read(settings, headers).sealed?;
    let opened = crate::provider_tokens::open(
        &settings.keys,
        settings.cookies.tokens_name(),
        &sealed,
        identity,
    )?;
    match opened.held {
        Held::All(tokens) => tokens.id_token().cloned(),
        Held::WithoutIdToken(_) | Held::RefreshTokenOnly(_) => None,
    }
}

/// The after-logout URL, absolute: a path (checked as `return_to` is) on the public URL or
/// this request's loopback or allowed host, or an absolute URL on that same origin. Never
/// another origin: the provider would send the browser there.
fn post_logout_redirect_uri(settings: &Settings, head: &RequestHead) -> Result<Url, AuthError> {
    let target = settings.after_logout.as_str();
    if let Some(path) = return_to::validate(target) {
        return callback_url(settings, path, head);
    }
    let own = callback_url(settings, "/", head)?;
    Url::parse(target)
        .ok()
        .filter(|url| url.origin() == own.origin())
        .ok_or_else(|| {
            AuthError::internal(
                "the after-logout URL is not on this app's origin, so the provider cannot send \
                 the browser back to it",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SocialAuthLayer;

    fn settings(
        configure: impl FnOnce(crate::SocialAuthLayerBuilder) -> crate::SocialAuthLayerBuilder,
    ) -> std::sync::Arc<Settings> {
        let builder = SocialAuthLayer::builder()
            .secret([7u8; 32])
            .provider(crate::Oidc::new("https://idp.example", "id", "secret"));
        configure(builder).build().unwrap().settings
    }

    fn head(host: &str) -> RequestHead {
        RequestHead::from_request(
            http::Request::post("/auth/logout")
                .header(http::header::HOST, host)
                .body(())
                .unwrap(),
        )
    }

    fn uri(settings: &Settings, host: &str) -> Option<String> {
        post_logout_redirect_uri(settings, &head(host))
            .ok()
            .map(String::from)
    }

    #[test]
    fn a_path_is_made_absolute_on_the_public_url_or_a_loopback_host() {
        let local = settings(|b| b.after_logout_redirect("/bye?x=1"));
        assert_eq!(
            uri(&local, "127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000/bye?x=1")
        );
        assert_eq!(uri(&local, "evil.example"), None, "not a loopback host");
        let public = settings(|b| b.public_url("https://app.example/base"));
        assert_eq!(
            uri(&public, "evil.example").as_deref(),
            Some("https://app.example/base/"),
            "the Host header is not used with a public URL"
        );
        let allowed = settings(|b| b.allowed_hosts(["app.example"]));
        assert_eq!(
            uri(&allowed, "app.example").as_deref(),
            Some("https://app.example/")
        );
    }

    #[test]
    fn an_absolute_url_must_be_on_this_app_origin() {
        let same = settings(|b| {
            b.public_url("https://app.example")
                .after_logout_redirect("https://app.example/signed-out")
        });
        assert_eq!(
            uri(&same, "app.example").as_deref(),
            Some("https://app.example/signed-out")
        );
        for other in [
            "https://www.example/",
            "http://app.example/",
            "https://app.example:8443/",
        ] {
            let settings = settings(|b| {
                b.public_url("https://app.example")
                    .after_logout_redirect(other)
            });
            assert_eq!(uri(&settings, "app.example"), None, "{other}");
        }
    }
}
