//! Per-customer sign-in: `/auth/sso/<tenant>`, the login route of a tenant's own provider
//! (start and callback, as any provider's route), and `/auth/sso?login=start&email=...`,
//! which finds the tenant by the email's domain and starts its login.
//!
//! Each tenant has its own route, so each customer registers its own redirect URI
//! (`<public_url>/auth/sso/<tenant>`) and a code its provider issues can only be delivered
//! to that tenant's route, whose flow cookie names the tenant.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response};

use crate::error::{AuthError, AuthErrorKind};
use crate::identity::TENANT_PROVIDER_PREFIX;
use crate::provider::CallbackParams;
use crate::routes::login::{self, LoginTarget};
use crate::routes::request::RequestHead;
use crate::routes::response::redirect;
use crate::routes::SSO as ROUTE;
use crate::settings::Settings;
use crate::tenants::{self, Failure, Lookup, TenantKey, Tenants};

/// Answers a request to `/auth/sso` or `/auth/sso/<tenant>`.
pub(crate) async fn answer<B: http_body::Body>(
    settings: Arc<Settings>,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    let Some(tenants) = &settings.tenants else {
        return login::unknown_provider(&settings.routes);
    };
    let rest = head
        .uri
        .path()
        .strip_prefix(settings.routes.prefix.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(ROUTE))
        .unwrap_or_default();
    match rest.strip_prefix('/') {
        None => by_email_domain(&settings, tenants, head, body).await,
        Some(segment) => match TenantKey::new(segment) {
            Ok(tenant) => tenant_login(&settings, tenants, &tenant, head, body).await,
            Err(_) => refuse(&settings, PROVIDER_UNKNOWN, unknown_tenant()),
        },
    }
}

/// The name login failures with no tenant to name are counted under.
const PROVIDER_UNKNOWN: &str = ROUTE;

/// The tenant's login route, its provider looked up (cached) first.
async fn tenant_login<B: http_body::Body>(
    settings: &Settings,
    tenants: &Tenants,
    tenant: &TenantKey,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    let name = format!("{TENANT_PROVIDER_PREFIX}{tenant}");
    let lookup = tenants.resolve(tenant, settings.outbound.timeout()).await;
    let resolved = match lookup {
        Lookup::Found(resolved) => resolved,
        Lookup::Unknown => {
            tracing::debug!(%tenant, "login route of an unknown tenant");
            return refuse(settings, PROVIDER_UNKNOWN, unknown_tenant());
        }
        Lookup::Failed(failure) => return refuse(settings, &name, failed(failure)),
    };
    let target = LoginTarget {
        provider: resolved.provider.as_ref(),
        slots: &resolved.slots,
        name: &name,
        path: format!("{}/{ROUTE}/{tenant}", settings.routes.prefix),
    };
    login::answer_for(settings, target, head, body).await
}

/// `GET /auth/sso?login=start&email=<address>` (or `domain=<domain>`): the login of the
/// tenant the resolver names for the domain, else the app's fallback or `404`.
async fn by_email_domain<B: http_body::Body>(
    settings: &Settings,
    tenants: &Tenants,
    head: RequestHead,
    body: B,
) -> Response<Bytes> {
    if head.method != Method::GET {
        return AuthError::new(
            AuthErrorKind::MethodNotAllowed,
            "this route answers GET only",
        )
        .into_response();
    }
    let query = head.uri.query().unwrap_or("");
    let params = match CallbackParams::parse(query) {
        Ok(params) => params,
        Err(error) => return refuse(settings, PROVIDER_UNKNOWN, error),
    };
    let given = params.get("email").or_else(|| params.get("domain"));
    let (Some("start"), Some(given)) = (params.get("login"), given) else {
        return AuthError::invalid_request(
            "sign in by email with ?login=start&email=<address> (or &domain=<domain>)",
        )
        .into_response();
    };
    let Some(domain) = tenants::email_domain(given) else {
        return refuse(
            settings,
            PROVIDER_UNKNOWN,
            AuthError::invalid_request("the email address or domain is not valid"),
        );
    };
    match tenants
        .tenant_for_domain(domain, settings.outbound.timeout())
        .await
    {
        Ok(Some(tenant)) => tenant_login(settings, tenants, &tenant, head, body).await,
        Ok(None) => match &settings.unknown_domain_redirect {
            Some(fallback) => redirect(fallback),
            None => refuse(
                settings,
                PROVIDER_UNKNOWN,
                AuthError::new(
                    AuthErrorKind::UnknownTenant,
                    "no organization signs in with addresses at this domain",
                ),
            ),
        },
        Err(failure) => refuse(settings, PROVIDER_UNKNOWN, failed(failure)),
    }
}

fn unknown_tenant() -> AuthError {
    AuthError::new(
        AuthErrorKind::UnknownTenant,
        "no organization signs in at this address",
    )
}

fn failed(failure: Failure) -> AuthError {
    match failure {
        Failure::Unavailable => AuthError::new(
            AuthErrorKind::TenantUnavailable,
            "this organization's sign-in is unavailable right now; try again shortly",
        ),
        Failure::TooSlow => AuthError::new(
            AuthErrorKind::TenantTimeout,
            "this organization's sign-in settings did not load in time; try again shortly",
        ),
    }
}

/// A login that did not reach a provider: counted and logged under `provider`, answered
/// with the error (or the configured failure redirect).
fn refuse(settings: &Settings, provider: &str, error: AuthError) -> Response<Bytes> {
    settings.observer.login_failed(provider, error.kind());
    login::failure_response(settings, error)
}
