//! [`TenantResolver`]: how the app tells the layer which provider a customer signs in with.

use std::fmt;
use std::future::Future;

use super::TenantKey;
use crate::provider::{BoxFuture, Provider};

/// The app's side of per-customer sign-in: a tenant's provider, looked up where the app
/// keeps its customers (a database, a file), at request time.
///
/// Implement it on a type, or pass a closure `Fn(TenantKey) -> impl Future<Output =
/// Result<Option<Provider>, TenantError>>` (which answers [`provider`](Self::provider) only;
/// add a domain lookup with [`Tenants::email_domains`](super::Tenants::email_domains)).
///
/// ```
/// use socialauth::tenants::{TenantError, TenantKey, TenantResolver};
/// use socialauth::{Oidc, Provider};
///
/// struct Customers; // e.g. a database pool
///
/// impl TenantResolver for Customers {
///     async fn provider(&self, tenant: &TenantKey) -> Result<Option<Provider>, TenantError> {
///         Ok(match tenant.as_str() {
///             "acme" => Some(Oidc::new("https://acme.okta.example", "app-id", "app-secret").into()),
///             _ => None,
///         })
///     }
///
///     async fn tenant_for_domain(&self, domain: &str) -> Result<Option<TenantKey>, TenantError> {
///         Ok((domain == "acme.example").then(|| TenantKey::new("acme")).transpose()?)
///     }
/// }
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The provider `tenant` signs in with (an [`Oidc`](crate::Oidc) issuer with the
    /// tenant's client, or any provider of the crate), or `None` when there is no such
    /// tenant. Its name is not used: the tenant's route is `/auth/sso/<tenant>`.
    fn provider(
        &self,
        tenant: &TenantKey,
    ) -> impl Future<Output = Result<Option<Provider>, TenantError>> + Send;

    /// The tenant whose users sign in with addresses at `domain` (lowercased ASCII, e.g.
    /// `acme.example`), for `/auth/sso?login=start&email=ada@acme.example`. The default
    /// knows no domain.
    fn tenant_for_domain(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<TenantKey>, TenantError>> + Send {
        let _ = domain;
        async { Ok(None) }
    }
}

impl<F, Fut> TenantResolver for F
where
    F: Fn(TenantKey) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Provider>, TenantError>> + Send,
{
    fn provider(
        &self,
        tenant: &TenantKey,
    ) -> impl Future<Output = Result<Option<Provider>, TenantError>> + Send {
        self(tenant.clone())
    }
}

/// Why the app could not say which provider a tenant uses (its database is down, ...).
/// Answered `503 tenant_unavailable`; the message goes to the log only, never to the
/// browser.
#[derive(Debug, Clone)]
pub struct TenantError {
    message: String,
}

impl TenantError {
    /// An error with a message for the log (keep secrets out of it).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TenantError {}

impl From<super::InvalidTenantKey> for TenantError {
    fn from(error: super::InvalidTenantKey) -> Self {
        Self::new(error.to_string())
    }
}

/// [`TenantResolver`] with boxed futures, so the layer can keep any resolver.
pub(crate) trait DynResolver: Send + Sync {
    fn provider<'a>(
        &'a self,
        tenant: &'a TenantKey,
    ) -> BoxFuture<'a, Result<Option<Provider>, TenantError>>;
    fn tenant_for_domain<'a>(
        &'a self,
        domain: &'a str,
    ) -> BoxFuture<'a, Result<Option<TenantKey>, TenantError>>;
}

impl<R: TenantResolver> DynResolver for R {
    fn provider<'a>(
        &'a self,
        tenant: &'a TenantKey,
    ) -> BoxFuture<'a, Result<Option<Provider>, TenantError>> {
        Box::pin(TenantResolver::provider(self, tenant))
    }

    fn tenant_for_domain<'a>(
        &'a self,
        domain: &'a str,
    ) -> BoxFuture<'a, Result<Option<TenantKey>, TenantError>> {
        Box::pin(TenantResolver::tenant_for_domain(self, domain))
    }
}

/// A domain lookup given as a closure, in place of the resolver's own.
pub(crate) trait DomainFn: Send + Sync {
    fn call(&self, domain: String) -> BoxFuture<'static, Result<Option<TenantKey>, TenantError>>;
}

impl<F, Fut> DomainFn for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<TenantKey>, TenantError>> + Send + 'static,
{
    fn call(&self, domain: String) -> BoxFuture<'static, Result<Option<TenantKey>, TenantError>> {
        Box::pin(self(domain))
    }
}
