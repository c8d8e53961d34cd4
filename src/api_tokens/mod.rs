//! Provider access tokens on the bearer path: `Authorization: Bearer <token>` where the token
//! is not the layer's own but one a provider issued to an API client
//! ([`Oidc::access_tokens`](crate::Oidc::access_tokens)).
//!
//! Which provider a token is for: a JWT names its issuer (checked when it is verified); any
//! other token goes to the one provider that introspects. What the layer concluded is kept
//! ([`VerdictCache`](cache::VerdictCache): never past the token's `exp`, refusals too), so
//! only a token not seen lately is checked, once however many requests carry it at the same
//! time ([`Flights`](flight::Flights)), and introspection calls stay within each provider's
//! [`Budget`](budget::Budget).
//!
//! [`ApiTokens::lookup`] answers from what is kept, at once: the layer's service calls it on
//! the request's own task and passes the request on without a future of its own when it
//! answers. Only a token to check makes the request wait, on [`ApiTokens::verify`].

mod budget;
mod cache;
mod flight;
mod verdict;

use std::fmt;
use std::sync::Arc;

use url::Url;

use self::budget::{Budget, Denied};
use self::cache::{digest, Digest, VerdictCache};
use self::flight::Flights;
pub(crate) use self::verdict::Verdict;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::hook::AuthorizeHook;
use crate::outbound::Outbound;
use crate::provider::access_token::{AccessTokenCheck, Method, Refusal};
use crate::provider::oidc::jws::{self, MAX_TOKEN_LEN};
use crate::provider::ProviderContext;

/// How many verdicts the layer keeps: at about 0.3 KiB for a valid token's identity with a
/// few scopes, some 5 MiB when full of them.
const CACHED_VERDICTS: usize = 16_384;

/// The providers whose access tokens the app accepts, and what the layer keeps about tokens.
pub(crate) struct ApiTokens {
    providers: Vec<Accepting>,
    /// The one provider that introspects tokens that are no provider's JWT.
    introspector: Option<usize>,
    cache: VerdictCache,
    flights: Flights,
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .providers
            .iter()
            .map(|p| p.check.provider_name())
            .collect();
        f.debug_struct("ApiTokens")
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

/// One provider whose tokens the app accepts.
struct Accepting {
    check: Arc<dyn AccessTokenCheck>,
    /// This provider's JWTs are verified with its keys (else introspected).
    jwt: bool,
    /// How long a verdict is kept, in seconds.
    ttl: u64,
    /// The layer's client, naming this provider in spans and metrics.
    outbound: Outbound,
    budget: Budget,
    /// The callback URL of a context with no callback.
    nowhere: Url,
}

/// What the layer knows of a token without checking it.
pub(crate) enum Lookup {
    /// The verdict, kept or plain (not a token at all, or no provider's).
    Known(Verdict),
    /// A token to check.
    Unknown(Pending),
}

/// A token to check: whose, how, and its digest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    key: Digest,
    provider: usize,
    method: Method,
}

impl ApiTokens {
    /// The checks of the providers given, when any: at most one of them may introspect.
    pub(crate) fn new(
        checks: Vec<Arc<dyn AccessTokenCheck>>,
        outbound: &Outbound,
    ) -> Result<Option<Self>, ConfigError> {
        let nowhere = Url::parse("about:blank").map_err(|_| ConfigError::InvalidSetting {
            setting: "access_tokens",
            reason: "internal: about:blank does not parse",
        })?;
        let mut providers = Vec::with_capacity(checks.len());
        let mut introspector = None;
        for check in checks {
            let Some(accepted) = check.accepted() else {
                continue;
            };
            if accepted.introspection {
                if introspector.is_some() {
                    return Err(ConfigError::InvalidSetting {
                        setting: "access_tokens",
                        reason: "only one provider may introspect access tokens: an opaque \
                                 token does not say whose it is, and no other provider may \
                                 see it",
                    });
                }
                introspector = Some(providers.len());
            }
            providers.push(Accepting {
                jwt: accepted.jwt,
                ttl: accepted.ttl.as_secs(),
                outbound: outbound.for_provider(check.provider_name()),
                budget: Budget::new(accepted.introspections_per_second),
                nowhere: nowhere.clone(),
                check,
            });
        }
        if providers.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            providers,
            introspector,
            cache: VerdictCache::new(CACHED_VERDICTS),
            flights: Flights::default(),
        }))
    }

    /// What is known of `token` at `now` without checking it: a kept verdict, a plain
    /// refusal (not an RFC 6750 token, a JWT of no accepted issuer, an opaque token and no
    /// provider to introspect it), or the check to make.
    pub(crate) fn lookup(&self, token: &str, now: u64) -> Lookup {
        if token.len() > MAX_TOKEN_LEN {
            return Lookup::Known(Verdict::Invalid);
        }
        let key = digest(token);
        // Only well-formed tokens are kept: a kept verdict needs no second look.
        if let Some(verdict) = self.cache.get(&key, now) {
            return Lookup::Known(verdict);
        }
        if !is_b64token(token) {
            return Lookup::Known(Verdict::Invalid);
        }
        match self.route(token) {
            Some((provider, method)) => Lookup::Unknown(Pending {
                key,
                provider,
                method,
            }),
            None => Lookup::Known(Verdict::Invalid),
        }
    }

    /// Whose token this is, and how to check it.
    fn route(&self, token: &str) -> Option<(usize, Method)> {
        if jws::looks_like_jws(token) {
            let iss = jws::unverified_issuer(token)?;
            let provider = self.providers.iter().position(|p| p.check.issues(&iss))?;
            let method = match self.providers.get(provider)?.jwt {
                true => Method::Jwt,
                false => Method::Introspection,
            };
            return Some((provider, method));
        }
        Some((self.introspector?, Method::Introspection))
    }

    /// Checks a token [`lookup`](Self::lookup) did not know, once however many requests
    /// wait for it, and keeps the verdict: until the token's `exp` or the provider's cache
    /// TTL, whichever is first. `hook` is the app's authorize hook.
    pub(crate) async fn verify(
        &self,
        token: &str,
        pending: Pending,
        hook: Option<&AuthorizeHook>,
        clock: &Clock,
    ) -> Verdict {
        let Some(provider) = self.providers.get(pending.provider) else {
            return Verdict::Invalid;
        };
        self.flights
            .run(pending.key, || async {
                // A check that ended while this request came in left its verdict here.
                if let Some(verdict) = self.cache.get(&pending.key, clock.now()) {
                    return verdict;
                }
                let verdict = provider.check(token, pending.method, hook, clock).await;
                let now = clock.now();
                let until = match &verdict {
                    Verdict::Valid(identity) => {
                        now.saturating_add(provider.ttl).min(identity.expires_at)
                    }
                    Verdict::Invalid | Verdict::Denied(_) => now.saturating_add(provider.ttl),
                    Verdict::Unavailable => now,
                };
                self.cache.put(pending.key, verdict.clone(), until, now);
                verdict
            })
            .await
    }
}

impl Accepting {
    /// Checks `token` at this provider, within its budget.
    async fn check(
        &self,
        token: &str,
        method: Method,
        hook: Option<&AuthorizeHook>,
        clock: &Clock,
    ) -> Verdict {
        let provider = self.check.provider_name();
        let allowed = match method {
            Method::Introspection => self.budget.take(),
            Method::Jwt if self.budget.paused() => Err(Denied::Paused),
            Method::Jwt => Ok(()),
        };
        match allowed {
            Ok(()) => {}
            Err(Denied::Paused) => return Verdict::Unavailable,
            Err(Denied::Exhausted) => {
                if self.budget.warn_exhausted() {
                    tracing::warn!(
                        provider,
                        "more access tokens to introspect than max_introspections_per_second \
                         allows: the others are answered as if the provider were unreachable"
                    );
                }
                return Verdict::Unavailable;
            }
        }
        let cx = ProviderContext {
            provider,
            outbound: &self.outbound,
            callback_url: &self.nowhere,
            clock,
        };
        match self.check.check(&cx, method, token).await {
            Ok(facts) => {
                self.budget.succeeded();
                tracing::debug!(provider, ?method, "access token accepted");
                Verdict::admit(provider, facts, hook, clock.now()).await
            }
            Err(Refusal::Invalid(rule)) => {
                self.budget.succeeded();
                tracing::debug!(provider, ?method, rule, "access token refused");
                Verdict::Invalid
            }
            Err(Refusal::Unavailable(rule)) => {
                if self.budget.failed() {
                    tracing::warn!(
                        provider,
                        ?method,
                        rule,
                        "access tokens cannot be checked: the provider could not be asked"
                    );
                } else {
                    tracing::debug!(provider, ?method, rule, "access token not checked");
                }
                Verdict::Unavailable
            }
        }
    }
}

/// RFC 6750 §2.1's `b64token`, at most [`MAX_TOKEN_LEN`] long: what a bearer token can be.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rfc_6750_tokens_are_looked_at() {
        for good in [
            "a",
            "2YotnFZFEjr1zCsicMWpAA",
            "a.b.c",
            "x-y_z~1+2/3==",
            "abc=",
        ] {
            assert!(is_b64token(good), "{good}");
        }
        for bad in [
            "",
            "=",
            "a b",
            "a\"b",
            "ab=c",
            "é",
            "a,b",
            &"x".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(!is_b64token(bad), "{bad}");
        }
    }
}
