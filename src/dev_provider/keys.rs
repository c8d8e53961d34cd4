//! The dev provider's signing key: a P-256 key made at start, published as a JWK and used
//! to sign ID tokens with ES256.

use std::fmt;
use std::io;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A P-256 key pair and its public JWK.
pub(super) struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
    jwk: Value,
}

/// Signing failed (the system's randomness, in practice).
#[derive(Debug)]
pub(super) struct SignError;

impl SigningKey {
    /// A fresh key; its `kid` is its RFC 7638 thumbprint.
    pub(super) fn generate() -> io::Result<Self> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| io::Error::other("could not make a P-256 key"))?;
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        let (x, y) = match (point.first(), point.get(1..33), point.get(33..65)) {
            (Some(4), Some(x), Some(y)) if point.len() == 65 => {
                (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
            }
            _ => return Err(io::Error::other("unexpected P-256 public key encoding")),
        };
        // RFC 7638: the required members, in lexicographic order, without whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical));
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "use": "sig", "alg": "ES256",
        });
        Ok(SigningKey {
            pair,
            rng: SystemRandom::new(),
            kid,
            jwk,
        })
    }

    /// The JWKS document: this one key.
    pub(super) fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// A compact JWS of `claims`, ES256, with this key's `kid`.
    pub(super) fn sign_jwt(&self, claims: &Value) -> Result<String, SignError> {
        self.sign_typed(claims, "JWT")
    }

    /// [`sign_jwt`](Self::sign_jwt) with the header's `typ` (a logout token's
    /// `logout+jwt`).
    pub(super) fn sign_typed(&self, claims: &Value, typ: &str) -> Result<String, SignError> {
        let header = json!({"alg": "ES256", "typ": typ, "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| SignError)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

impl SigningKey {
    /// The claims of a compact JWS this key signed (ES256 under its `kid`), or `None` for
    /// anything else. Only the signature is checked: the caller checks the claims.
    pub(super) fn verify_jwt(&self, token: &str) -> Option<Value> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, claims) = signed.split_once('.')?;
        let json = |part: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
        };
        let header = json(header)?;
        if header["alg"] != "ES256" || header["kid"] != self.kid.as_str() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.pair.public_key().as_ref())
            .verify(signed.as_bytes(), &signature)
            .ok()?;
        json(claims)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_the_published_key() {
        let key = SigningKey::generate().unwrap();
        let token = key
            .sign_jwt(&json!({"sub": "dev-x", "aud": "socialauth-dev"}))
            .unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.jwks()["keys"][0].clone()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["socialauth-dev"]);
        validation.set_required_spec_claims::<&str>(&[]);
        let decoded = jsonwebtoken::decode::<Value>(
            &token,
            &DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "dev-x");
    }

    #[test]
    fn only_its_own_signatures_verify() {
        let key = SigningKey::generate().unwrap();
        let token = key.sign_jwt(&json!({"sub": "dev-x"})).unwrap();
        assert_eq!(key.verify_jwt(&token).unwrap()["sub"], "dev-x");
        let other = SigningKey::generate().unwrap();
        assert!(other.verify_jwt(&token).is_none());
        let mut tampered = token.clone();
        tampered.push('A');
        for bad in [tampered.as_str(), "a.b", "a.b.c.d", "", "...."] {
            assert!(key.verify_jwt(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = SigningKey::generate().unwrap();
        let debug = format!("{key:?}");
        assert!(
            !debug.contains("pair") && debug.contains(&key.kid),
            "{debug}"
        );
    }
}
