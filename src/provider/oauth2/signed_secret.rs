//! A client secret the layer signs itself: an ES256 JWT naming the client, re-signed before
//! it expires (Sign in with Apple's `client_secret`).

use std::fmt;
use std::sync::Mutex;

use serde::Serialize;

use super::signing_key::SigningKey;
use crate::error::{AuthError, ConfigError};
use crate::secret::ClientSecret;

/// How long one signed secret is valid (the provider may allow more: Apple six months).
const LIFETIME_SECS: u64 = 24 * 3600;
/// A secret with less than this left is signed anew.
const RENEW_BEFORE_SECS: u64 = 3600;

/// Who the secret JWT names, and who it is for.
#[derive(Debug, Clone)]
pub(crate) struct SecretClaims {
    /// `kid`: the signing key's id at the provider.
    pub(crate) key_id: String,
    /// `iss`: the account that owns the key (Apple's team id).
    pub(crate) issuer: String,
    /// `sub`: the client id.
    pub(crate) subject: String,
    /// `aud`: the provider.
    pub(crate) audience: String,
}

/// An ES256 client-secret JWT, signed on first use and again shortly before it expires.
pub(crate) struct SignedSecret {
    key: SigningKey,
    claims: SecretClaims,
    /// The current secret and its `exp`.
    current: Mutex<Option<(ClientSecret, u64)>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl SignedSecret {
    /// A signer with the PKCS#8 PEM P-256 key (Apple's `.p8` file). A key that is not one
    /// is a [`ConfigError`].
    pub(crate) fn new(
        setting: &'static str,
        private_key_pem: &str,
        claims: SecretClaims,
    ) -> Result<Self, ConfigError> {
        let key = SigningKey::es256_pem(private_key_pem).ok_or(ConfigError::InvalidSetting {
            setting,
            reason: "must be the PEM text of a P-256 private key (a .p8 file)",
        })?;
        Ok(Self {
            key,
            claims,
            current: Mutex::new(None),
        })
    }

    /// The secret to send at `now`: the kept one, or a new one when it expires within the
    /// hour.
    pub(crate) fn at(&self, now: u64) -> Result<ClientSecret, AuthError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((secret, exp)) = current.as_ref() {
            if now.saturating_add(RENEW_BEFORE_SECS) < *exp {
                return Ok(secret.clone());
            }
        }
        let claims = Claims {
            iss: &self.claims.issuer,
            sub: &self.claims.subject,
            aud: &self.claims.audience,
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        let secret = self
            .key
            .sign(Some(&self.claims.key_id), &claims)
            .map(ClientSecret::new)
            .map_err(|_| {
                tracing::error!("could not sign the client secret JWT");
                AuthError::internal("could not sign the client secret")
            })?;
        *current = Some((secret.clone(), claims.exp));
        Ok(secret)
    }
}

impl fmt::Debug for SignedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedSecret")
            .field("claims", &self.claims)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::oauth2::signing_key::tests::header_and_claims;
    pub(crate) use crate::oauth2::signing_key::tests::p256_pem as test_p8;

    fn claims() -> SecretClaims {
        SecretClaims {
            key_id: "ABC123DEFG".into(),
            issuer: "TEAM123456".into(),
            subject: "com.example.web".into(),
            audience: "https://appleid.apple.com".into(),
        }
    }

    fn decoded(secret: &ClientSecret) -> (serde_json::Value, serde_json::Value) {
        header_and_claims(secret.secret())
    }

    #[test]
    fn the_secret_is_an_es256_jwt_naming_team_client_and_audience() {
        let signer = SignedSecret::new("k", &test_p8(), claims()).unwrap();
        let (header, claims) = decoded(&signer.at(1_000_000).unwrap());
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "ABC123DEFG");
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert_eq!(claims["iat"], 1_000_000);
        assert_eq!(claims["exp"], 1_000_000 + LIFETIME_SECS);
    }

    #[test]
    fn the_secret_is_kept_then_signed_anew_before_it_expires() {
        let signer = SignedSecret::new("k", &test_p8(), claims()).unwrap();
        let first = signer.at(1_000_000).unwrap();
        let later = signer
            .at(1_000_000 + LIFETIME_SECS - RENEW_BEFORE_SECS - 1)
            .unwrap();
        assert_eq!(first.secret(), later.secret());
        let renewed = signer
            .at(1_000_000 + LIFETIME_SECS - RENEW_BEFORE_SECS)
            .unwrap();
        assert_ne!(first.secret(), renewed.secret());
        assert_eq!(
            decoded(&renewed).1["iat"],
            1_000_000 + LIFETIME_SECS - RENEW_BEFORE_SECS
        );
    }

    #[test]
    fn a_malformed_key_is_a_config_error_and_debug_hides_the_key() {
        for pem in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                SignedSecret::new("apple private_key", pem, claims()).is_err(),
                "{pem}"
            );
        }
        let pem = test_p8();
        let debug = format!("{:?}", SignedSecret::new("k", &pem, claims()).unwrap());
        let body = pem.lines().nth(1).unwrap();
        assert!(!debug.contains(body), "{debug}");
    }
}
