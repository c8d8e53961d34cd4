//! Per-customer sign-in (enterprise SSO): each customer (tenant) of the app signs in with its
//! own identity provider, looked up at request time by a [`TenantResolver`] the app
//! implements, and cached, bounded.
//!
//! A tenant signs in at `/auth/sso/<tenant>?login=start`, and its provider calls back to the
//! same URL: that is the redirect URI the customer registers at its provider. A user who
//! types an email address goes to `/auth/sso?login=start&email=ada@acme.example` (or
//! `domain=acme.example`), and the resolver's
//! [`tenant_for_domain`](TenantResolver::tenant_for_domain) names the tenant.
//!
//! The tenant is sealed in the flow cookie with the login attempt and checked at the
//! callback, and the identity's provider is `sso:<tenant>` ([`Identity::tenant`]), so the
//! same user id at two tenants is two users, for revocation too
//! (`revoke_user("sso:acme", id)`).
//!
//! ```
//! use socialauth::tenants::{TenantError, TenantKey, Tenants};
//! use socialauth::{Oidc, Provider, SocialAuthLayer};
//!
//! # fn main() -> Result<(), socialauth::ConfigError> {
//! let tenants = Tenants::new(|tenant: TenantKey| async move {
//!     // Look the tenant up in the app's database.
//!     let provider: Option<Provider> = match tenant.as_str() {
//!         "acme" => Some(Oidc::new("https://acme.okta.example", "app-id", "app-secret").into()),
//!         _ => None,
//!     };
//!     Ok::<_, TenantError>(provider)
//! })
//! .email_domains(|domain: String| async move {
//!     Ok((domain == "acme.example").then(|| TenantKey::new("acme")).transpose()?)
//! });
//! let layer = SocialAuthLayer::builder()
//!     .secret([7u8; 32])
//!     .tenants(tenants.clone())
//!     .build()?;
//! // When a customer edits its settings:
//! tenants.invalidate("acme");
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```
//!
//! [`Identity::tenant`]: crate::Identity::tenant

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

mod cache;
mod key;
mod resolver;

pub(crate) use self::cache::{Failure, Lookup, Resolved};
pub(crate) use self::key::email_domain;
pub use self::key::{InvalidTenantKey, TenantKey};
pub use self::resolver::{TenantError, TenantResolver};

use self::cache::TenantCache;
use self::resolver::{DomainFn, DynResolver};
use crate::error::ConfigError;
use crate::identity::TENANT_PROVIDER_PREFIX;

/// How many tenants are cached unless [`Tenants::max_cached`] says otherwise.
const DEFAULT_MAX_CACHED: usize = 1_000;
/// How long a tenant's configuration (and its discovery document and keys) is kept unless
/// [`Tenants::cache_ttl`] says otherwise.
const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// The app's tenants: its [`TenantResolver`], and the cache of what it answered.
///
/// Give a clone to [`SocialAuthLayerBuilder::tenants`](crate::SocialAuthLayerBuilder::tenants)
/// and keep one, to [`invalidate`](Self::invalidate) a tenant when its settings change.
/// Clones share one cache; set [`max_cached`](Self::max_cached) and
/// [`cache_ttl`](Self::cache_ttl) before cloning.
#[derive(Clone)]
pub struct Tenants {
    resolver: Arc<dyn DynResolver>,
    domains: Option<Arc<dyn DomainFn>>,
    cache: Arc<TenantCache>,
    max_cached: usize,
    ttl: Duration,
    /// Where a sign-in by email goes when no tenant has the domain (else `404`).
    pub(crate) unknown_domain_redirect: Option<String>,
    /// Logins talking to one tenant's provider at once; set by the builder.
    pub(crate) slots: usize,
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("cached", &self.cache.len())
            .field("max_cached", &self.max_cached)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tenants {
    /// Tenants looked up by `resolver` (a [`TenantResolver`], or a closure from
    /// [`TenantKey`] to the tenant's provider), at most 1,000 of them cached, each for 10
    /// minutes.
    pub fn new(resolver: impl TenantResolver) -> Self {
        Self {
            resolver: Arc::new(resolver),
            domains: None,
            cache: Arc::new(TenantCache::new(DEFAULT_MAX_CACHED, DEFAULT_TTL)),
            max_cached: DEFAULT_MAX_CACHED,
            ttl: DEFAULT_TTL,
            unknown_domain_redirect: None,
            slots: 1,
        }
    }

    /// Looks up the tenant of an email domain with `lookup` rather than with the
    /// resolver's [`tenant_for_domain`](TenantResolver::tenant_for_domain) (for a closure
    /// resolver). `lookup` gets the domain lowercased, e.g. `acme.example`.
    ///
    /// ```
    /// use socialauth::tenants::{TenantError, TenantKey, Tenants};
    /// let tenants = Tenants::new(|_: TenantKey| async { Ok::<_, TenantError>(None) })
    ///     .email_domains(|domain: String| async move {
    ///         Ok(domain.strip_suffix(".example").and_then(|t| TenantKey::new(t).ok()))
    ///     });
    /// # let _ = tenants;
    /// ```
    pub fn email_domains<F, Fut>(mut self, lookup: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Option<TenantKey>, TenantError>> + Send + 'static,
    {
        self.domains = Some(Arc::new(lookup));
        self
    }

    /// Where `/auth/sso?login=start&email=...` sends the browser (`303`) when no tenant
    /// signs in with the email's domain, e.g. the app's page of other ways to sign in; a
    /// path or an absolute URL, checked by `build()`. Without it, the answer is `404
    /// unknown_tenant`.
    ///
    /// ```
    /// # use socialauth::tenants::{TenantError, TenantKey, Tenants};
    /// let tenants = Tenants::new(|_: TenantKey| async { Ok::<_, TenantError>(None) })
    ///     .unknown_domain_redirect("/login");
    /// # let _ = tenants;
    /// ```
    pub fn unknown_domain_redirect(mut self, location: impl Into<String>) -> Self {
        self.unknown_domain_redirect = Some(location.into());
        self
    }

    /// How many tenants' configurations (with their discovery documents and keys) are kept
    /// at most (default 1,000); the oldest goes first. At least 1.
    ///
    /// ```
    /// # use socialauth::tenants::{TenantError, TenantKey, Tenants};
    /// let tenants = Tenants::new(|_: TenantKey| async { Ok::<_, TenantError>(None) }).max_cached(10_000);
    /// # let _ = tenants;
    /// ```
    pub fn max_cached(mut self, tenants: usize) -> Self {
        self.max_cached = tenants;
        self.cache = Arc::new(TenantCache::new(tenants, self.ttl));
        self
    }

    /// How long a tenant's configuration, discovery document and keys are kept before the
    /// resolver is asked again (default 10 minutes). An unknown tenant is remembered for at
    /// most 30 s, a failing one for a pause of 1 s doubling up to 30 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use socialauth::tenants::{TenantError, TenantKey, Tenants};
    /// let tenants = Tenants::new(|_: TenantKey| async { Ok::<_, TenantError>(None) })
    ///     .cache_ttl(Duration::from_secs(60));
    /// # let _ = tenants;
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.cache = Arc::new(TenantCache::new(self.max_cached, ttl));
        self
    }

    /// Forgets what was cached for `tenant`: its next login asks the resolver again, and
    /// fetches its discovery document and keys anew. Call it when a customer edits its
    /// settings. Logins already at the provider finish with the configuration they started
    /// with.
    pub fn invalidate(&self, tenant: &str) {
        self.cache.invalidate(tenant);
    }

    /// How many tenants are cached now (at most [`max_cached`](Self::max_cached)).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.max_cached == 0 || self.ttl.is_zero() {
            return Err(ConfigError::InvalidSetting {
                setting: "tenants max_cached / cache_ttl",
                reason: "must be more than zero",
            });
        }
        Ok(())
    }

    /// The tenant's provider: cached, or asked of the resolver within `timeout` and built.
    pub(crate) async fn resolve(&self, tenant: &TenantKey, timeout: Duration) -> Lookup {
        self.cache
            .get(tenant.as_str(), || async {
                let asked = tokio::time::timeout(timeout, self.resolver.provider(tenant)).await;
                match asked {
                    Err(_) => {
                        tracing::warn!(%tenant, "the tenant resolver did not answer in time");
                        Err(Failure::TooSlow)
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(%tenant, %error, "the tenant resolver failed");
                        Err(Failure::Unavailable)
                    }
                    Ok(Ok(None)) => Ok(Lookup::Unknown),
                    Ok(Ok(Some(provider))) => match provider.built {
                        Ok(provider) => {
                            tracing::debug!(%tenant, "tenant resolved");
                            Ok(Lookup::Found(Arc::new(Resolved {
                                provider,
                                slots: tokio::sync::Semaphore::new(self.slots),
                            })))
                        }
                        Err(error) => {
                            tracing::warn!(%tenant, %error, "the tenant's provider configuration is not valid");
                            Err(Failure::Unavailable)
                        }
                    },
                }
            })
            .await
    }

    /// The tenant of a session whose identity's provider is `provider` (`sso:<tenant>`) and
    /// its lookup, through the same cache as the tenant's logins: for a logout at the
    /// tenant's provider and a refresh of the session's kept tokens. `None` when `provider`
    /// names no tenant.
    pub(crate) async fn resolve_session(
        &self,
        provider: &str,
        timeout: Duration,
    ) -> Option<(TenantKey, Lookup)> {
        let tenant = TenantKey::new(provider.strip_prefix(TENANT_PROVIDER_PREFIX)?).ok()?;
        let lookup = self.resolve(&tenant, timeout).await;
        Some((tenant, lookup))
    }

    /// The tenant whose users sign in with addresses at `domain`, asked within `timeout`.
    pub(crate) async fn tenant_for_domain(
        &self,
        domain: String,
        timeout: Duration,
    ) -> Result<Option<TenantKey>, Failure> {
        let asked = match &self.domains {
            Some(lookup) => tokio::time::timeout(timeout, lookup.call(domain)).await,
            None => tokio::time::timeout(timeout, self.resolver.tenant_for_domain(&domain)).await,
        };
        match asked {
            Ok(Ok(tenant)) => Ok(tenant),
            Ok(Err(error)) => {
                tracing::warn!(%error, "the tenant resolver failed to look a domain up");
                Err(Failure::Unavailable)
            }
            Err(_) => {
                tracing::warn!("the tenant resolver did not look a domain up in time");
                Err(Failure::TooSlow)
            }
        }
    }
}
