//! The provider's signing keys (its JWKS): fetched at the first login (or the first access
//! token) and kept. A token naming a key the cache lacks makes one new fetch (keys rotate),
//! shared by every request that misses at the same time and at most one per
//! [`REFETCH_INTERVAL`]: a flood of tokens with made-up key ids cannot turn into a flood of
//! requests to the provider, nor, being logged at debug level, of warnings.
//!
//! Keys are only ever found here, by `kid` and algorithm. A token's `jku`, `x5u` or `jwk`
//! header is never followed nor trusted (see `id_token`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use url::Url;

use crate::error::{AuthError, AuthErrorKind};
use crate::outbound::Outbound;
use crate::provider::ProviderHttp;

/// At most one fetch for an unknown key per this interval.
pub(super) const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Keys older than this are fetched again at the next login, so keys the provider withdrew
/// stop being trusted.
pub(super) const MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// The keys as last fetched.
#[derive(Clone, Default)]
struct Snapshot {
    keys: Arc<Vec<Jwk>>,
    fetched_at: Option<Instant>,
    /// The last fetch failed (the keys are those of the fetch before).
    last_failed: bool,
}

/// One provider's key cache.
#[derive(Default)]
pub(super) struct JwksCache {
    current: Mutex<Snapshot>,
    /// Fetches completed (successful or not), to tell a login that waited for the fetch lock
    /// that another one fetched meanwhile.
    completed: AtomicU64,
    /// Held while fetching; holds when the last unknown-key refetch began.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("keys", &self.snapshot().keys.len())
            .finish_non_exhaustive()
    }
}

/// What a search of the keys found.
enum Found<'a> {
    One(&'a Jwk),
    None,
    /// No `kid` and several keys fit: refused rather than guessed.
    Ambiguous,
}

impl JwksCache {
    fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key that verifies a token signed with `alg` under `kid`.
    ///
    /// A miss on fresh keys refetches them once (unless a refetch began less than
    /// [`REFETCH_INTERVAL`] ago); logins missing at the same time wait for that one fetch.
    /// A key still unknown is `login_failed`; a failed fetch is `provider_error`.
    pub(super) async fn key(
        &self,
        outbound: &Outbound,
        jwks_uri: &Url,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Jwk, AuthError> {
        let completed = self.completed.load(Ordering::SeqCst);
        let snapshot = self.snapshot();
        let fresh = snapshot.fetched_at.is_some_and(|at| at.elapsed() < MAX_AGE);
        if fresh {
            match find(&snapshot.keys, kid, alg) {
                Found::One(jwk) => return Ok(jwk.clone()),
                Found::Ambiguous => return Err(ambiguous()),
                Found::None => {}
            }
        }

        let mut last_refetch = self.refetch.lock().await;
        if self.completed.load(Ordering::SeqCst) != completed {
            // Another login fetched while this one waited: its answer is this one's too.
            let snapshot = self.snapshot();
            return match find(&snapshot.keys, kid, alg) {
                Found::One(jwk) => Ok(jwk.clone()),
                Found::Ambiguous => Err(ambiguous()),
                Found::None if snapshot.last_failed => Err(fetch_failed()),
                Found::None => Err(unknown_key()),
            };
        }
        if fresh {
            // The keys are current yet lack this one: the provider may have rotated.
            if last_refetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
                tracing::debug!("token signed with an unknown key; keys refetched recently");
                return Err(unknown_key());
            }
            *last_refetch = Some(Instant::now());
            tracing::debug!("token signed with an unknown key; refetching the keys");
        }
        let fetched = fetch(outbound, jwks_uri).await;
        let snapshot = {
            let mut current = self.lock();
            match fetched {
                Ok(keys) => {
                    *current = Snapshot {
                        keys: Arc::new(keys),
                        fetched_at: Some(Instant::now()),
                        last_failed: false,
                    };
                    Ok(current.clone())
                }
                Err(error) => {
                    current.last_failed = true;
                    Err(error)
                }
            }
        };
        // Only now, with the keys stored: a login that read the old count waits for the
        // fetch lock, then sees the new count and uses these keys.
        self.completed.fetch_add(1, Ordering::SeqCst);
        drop(last_refetch);
        let snapshot = snapshot?;
        match find(&snapshot.keys, kid, alg) {
            Found::One(jwk) => Ok(jwk.clone()),
            Found::Ambiguous => Err(ambiguous()),
            Found::None => {
                tracing::warn!("token signed with a key the provider does not publish");
                Err(unknown_key())
            }
        }
    }
}

/// The key for `kid` (or the only fitting key when the token names none) that fits `alg`.
fn find<'a>(keys: &'a [Jwk], kid: Option<&str>, alg: Algorithm) -> Found<'a> {
    let mut fitting = keys
        .iter()
        .filter(|jwk| fits(jwk, alg))
        .filter(|jwk| kid.is_none_or(|kid| jwk.common.key_id.as_deref() == Some(kid)));
    match (fitting.next(), fitting.next()) {
        (Some(jwk), None) => Found::One(jwk),
        (None, _) => Found::None,
        (Some(_), Some(_)) => Found::Ambiguous,
    }
}

/// Whether `jwk` may verify a signature made with `alg`: the key type matches the
/// algorithm (an RSA key never verifies an HMAC or EC signature), and the key's own `alg`,
/// `use` and `key_ops`, when given, allow it. Symmetric keys never fit.
pub(super) fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let key_type = match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
            ec.curve == EllipticCurve::P384
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    let common = &jwk.common;
    key_type
        && common
            .key_algorithm
            .is_none_or(|key_alg| key_alg == KeyAlgorithm::from(alg))
        && common
            .public_key_use
            .as_ref()
            .is_none_or(|key_use| *key_use == PublicKeyUse::Signature)
        && common
            .key_operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&KeyOperations::Verify))
}

async fn fetch(outbound: &Outbound, jwks_uri: &Url) -> Result<Vec<Jwk>, AuthError> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let reply = ProviderHttp { outbound }
        .get(jwks_uri.clone(), "oidc_jwks")
        .send()
        .await?;
    if !reply.status.is_success() {
        tracing::warn!(status = reply.status.as_u16(), "JWKS fetch failed");
        return Err(fetch_failed());
    }
    let document: Document = reply.json()?;
    // A key this crate cannot use (another type, a malformed member) is skipped, not fatal:
    // providers publish encryption keys and newer key types beside their signing keys.
    let keys: Vec<Jwk> = document
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter(|jwk| {
            matches!(
                jwk.algorithm,
                AlgorithmParameters::RSA(_)
                    | AlgorithmParameters::EllipticCurve(_)
                    | AlgorithmParameters::OctetKeyPair(_)
            )
        })
        .collect();
    tracing::debug!(keys = keys.len(), "JWKS fetched");
    Ok(keys)
}

fn unknown_key() -> AuthError {
    AuthError::new(
        AuthErrorKind::LoginFailed,
        "the provider's ID token is signed with an unknown key",
    )
}

fn ambiguous() -> AuthError {
    tracing::debug!("token names no key and several keys fit");
    AuthError::new(
        AuthErrorKind::LoginFailed,
        "the provider's ID token does not say which key signed it",
    )
}

fn fetch_failed() -> AuthError {
    AuthError::provider("the provider's signing keys could not be fetched")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    fn rsa(kid: &str) -> serde_json::Value {
        json!({"kty": "RSA", "kid": kid, "n": "sXch", "e": "AQAB"})
    }

    fn ec(kid: &str, crv: &str) -> serde_json::Value {
        json!({"kty": "EC", "kid": kid, "crv": crv, "x": "AA", "y": "AA"})
    }

    #[test]
    fn key_types_must_match_the_algorithm() {
        let rsa_key = jwk(rsa("r"));
        let p256 = jwk(ec("e", "P-256"));
        assert!(fits(&rsa_key, Algorithm::RS256));
        assert!(fits(&rsa_key, Algorithm::PS512));
        assert!(!fits(&rsa_key, Algorithm::HS256));
        assert!(!fits(&rsa_key, Algorithm::ES256));
        assert!(fits(&p256, Algorithm::ES256));
        assert!(!fits(&p256, Algorithm::ES384));
        assert!(!fits(&p256, Algorithm::RS256));
        assert!(!fits(&p256, Algorithm::HS256));
        let oct = jwk(json!({"kty": "oct", "k": "c2VjcmV0"}));
        for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
            assert!(!fits(&oct, alg));
        }
    }

    #[test]
    fn a_keys_own_alg_use_and_ops_are_honoured() {
        let mut value = rsa("r");
        value["alg"] = json!("RS384");
        assert!(!fits(&jwk(value.clone()), Algorithm::RS256));
        assert!(fits(&jwk(value), Algorithm::RS384));
        let mut value = rsa("r");
        value["use"] = json!("enc");
        assert!(!fits(&jwk(value), Algorithm::RS256));
        let mut value = rsa("r");
        value["key_ops"] = json!(["encrypt"]);
        assert!(!fits(&jwk(value), Algorithm::RS256));
    }

    #[test]
    fn keys_are_found_by_kid_or_as_the_only_fitting_one() {
        let keys = vec![jwk(rsa("a")), jwk(rsa("b")), jwk(ec("c", "P-256"))];
        assert!(
            matches!(find(&keys, Some("b"), Algorithm::RS256), Found::One(k) if k.common.key_id.as_deref() == Some("b"))
        );
        assert!(matches!(
            find(&keys, Some("c"), Algorithm::RS256),
            Found::None
        ));
        assert!(matches!(
            find(&keys, Some("z"), Algorithm::RS256),
            Found::None
        ));
        assert!(matches!(
            find(&keys, None, Algorithm::RS256),
            Found::Ambiguous
        ));
        assert!(matches!(find(&keys, None, Algorithm::ES256), Found::One(_)));
    }
}
