//! [`SigningKey`]: a private key from PEM text that signs JWTs the client sends about itself
//! (Apple's client secret, RFC 7523 client assertions), written once for both.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use crate::secret::new_secret_type;

/// A private key that signs compact JWS (RFC 7515), with the one algorithm its type allows.
///
/// The key pair is parsed once; `Debug` shows the algorithm only.
pub(crate) struct SigningKey {
    pair: KeyPair,
}

new_secret_type! {
    /// The private key itself.
    struct KeyPair(Pair) reads Pair;
}

enum Pair {
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(RsaKeyPair),
    /// ES256: ECDSA on P-256 with SHA-256, the signature as `r || s`.
    P256(EcdsaKeyPair),
}

/// Signing failed: the system's random number generator, or the key, refused.
#[derive(Debug)]
pub(crate) struct SignError;

impl SigningKey {
    /// An RS256 key from the PEM text of an RSA private key, PKCS#8 (`PRIVATE KEY`) or
    /// PKCS#1 (`RSA PRIVATE KEY`); `None` for anything else (aws-lc-rs takes 2048 to 8192
    /// bits).
    pub(crate) fn rs256_pem(pem: &str) -> Option<Self> {
        let pair = if let Some(der) = pem_block(pem, "PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&der).ok()?
        } else {
            RsaKeyPair::from_der(&pem_block(pem, "RSA PRIVATE KEY")?).ok()?
        };
        Some(Self {
            pair: KeyPair::new(Pair::Rsa(pair)),
        })
    }

    /// An ES256 key from the PEM text of a P-256 private key, PKCS#8 (`PRIVATE KEY`, as
    /// Apple's `.p8` files) or SEC 1 (`EC PRIVATE KEY`); `None` for anything else, a key on
    /// another curve included.
    pub(crate) fn es256_pem(pem: &str) -> Option<Self> {
        let der = pem_block(pem, "PRIVATE KEY").or_else(|| pem_block(pem, "EC PRIVATE KEY"))?;
        let pair =
            EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).ok()?;
        Some(Self {
            pair: KeyPair::new(Pair::P256(pair)),
        })
    }

    /// The JWS algorithm this key signs with.
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self.pair.secret() {
            Pair::Rsa(_) => Algorithm::RS256,
            Pair::P256(_) => Algorithm::ES256,
        }
    }

    /// The public half as a JWK (RFC 7517), with `kid`, `use` and `alg`: what the provider
    /// registers to verify the signatures.
    pub(crate) fn public_jwk(&self, key_id: Option<&str>) -> serde_json::Value {
        let mut jwk = match self.pair.secret() {
            Pair::Rsa(pair) => {
                let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                serde_json::json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&public.n),
                    "e": URL_SAFE_NO_PAD.encode(&public.e),
                })
            }
            Pair::P256(pair) => {
                // An uncompressed point: 0x04, then x and y, 32 bytes each.
                let point = pair.public_key().as_ref();
                let coordinates = point.get(1..).unwrap_or_default();
                let (x, y) = coordinates.split_at(coordinates.len() / 2);
                serde_json::json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
        };
        jwk["use"] = "sig".into();
        jwk["alg"] = format!("{:?}", self.algorithm()).into();
        if let Some(kid) = key_id {
            jwk["kid"] = kid.into();
        }
        jwk
    }

    /// The public key's bytes: two keys are the same key when these are equal.
    pub(crate) fn public_key_bytes(&self) -> &[u8] {
        match self.pair.secret() {
            Pair::Rsa(pair) => pair.public_key().as_ref(),
            Pair::P256(pair) => pair.public_key().as_ref(),
        }
    }

    /// `claims` as a compact JWS signed with this key, with `kid` in the header when given;
    /// the caller keeps it as the secret it is.
    pub(crate) fn sign(
        &self,
        key_id: Option<&str>,
        claims: &impl Serialize,
    ) -> Result<String, SignError> {
        let mut header = Header::new(self.algorithm());
        header.kid = key_id.map(str::to_owned);
        let part = |value: Vec<u8>| URL_SAFE_NO_PAD.encode(value);
        let header = part(serde_json::to_vec(&header).map_err(|_| SignError)?);
        let claims = part(serde_json::to_vec(claims).map_err(|_| SignError)?);
        let message = format!("{header}.{claims}");
        let rng = SystemRandom::new();
        let signature = match self.pair.secret() {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message.as_bytes(), &mut signature)
                    .map_err(|_| SignError)?;
                signature
            }
            Pair::P256(pair) => pair
                .sign(&rng, message.as_bytes())
                .map_err(|_| SignError)?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{message}.{}", part(signature)))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("key", &self.pair)
            .finish()
    }
}

/// The DER bytes of the PEM block labelled `label` (RFC 7468), wherever it is in `pem`
/// (OpenSSL may put an `EC PARAMETERS` block first).
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let (_, after_begin) = pem.split_once(begin.as_str())?;
    let (body, _) = after_begin.split_once(end.as_str())?;
    let text: String = body.split_whitespace().collect();
    STANDARD.decode(text).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A compact JWS's header and claims, as JSON.
    pub(crate) fn header_and_claims(jws: &str) -> (serde_json::Value, serde_json::Value) {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts = jws.split('.');
        let mut part = || {
            let bytes = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        (part(), part())
    }

    /// `der` as a PEM block labelled `label`, 64 characters a line.
    pub(crate) fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// A P-256 key in PKCS#8 PEM, as Apple's `.p8` files are; made for these tests only.
    pub(crate) fn p256_pem() -> String {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        pem("PRIVATE KEY", key.to_pkcs8v1().unwrap().as_ref())
    }

    /// An RSA 2048 key in PKCS#8 PEM, made once for these tests (RSA keys are slow to make).
    pub(crate) fn rsa_pem() -> String {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::KeySize;
        static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        PEM.get_or_init(|| {
            let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
            pem("PRIVATE KEY", key.as_der().unwrap().as_ref())
        })
        .clone()
    }

    fn parts(jws: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>, String) {
        let (signed, signature) = jws.rsplit_once('.').unwrap();
        let (header, claims) = signed.split_once('.').unwrap();
        let json = |part: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap());
        (
            json(header).unwrap(),
            json(claims).unwrap(),
            URL_SAFE_NO_PAD.decode(signature).unwrap(),
            signed.to_owned(),
        )
    }

    #[test]
    fn rs256_and_es256_signatures_verify_with_the_public_key() {
        use aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256;
        use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
        let claims = serde_json::json!({"sub": "client"});
        for (key, verifier) in [
            (
                SigningKey::rs256_pem(&rsa_pem()).unwrap(),
                &RSA_PKCS1_2048_8192_SHA256 as &dyn aws_lc_rs::signature::VerificationAlgorithm,
            ),
            (
                SigningKey::es256_pem(&p256_pem()).unwrap(),
                &ECDSA_P256_SHA256_FIXED,
            ),
        ] {
            let jws = key.sign(Some("k1"), &claims).unwrap();
            let (header, body, signature, signed) = parts(&jws);
            assert_eq!(header["alg"], format!("{:?}", key.algorithm()));
            assert_eq!(header["kid"], "k1");
            assert_eq!(body, claims);
            UnparsedPublicKey::new(verifier, key.public_key_bytes())
                .verify(signed.as_bytes(), &signature)
                .unwrap();
            let without_kid = parts(&key.sign(None, &claims).unwrap()).0;
            assert!(without_kid.get("kid").is_none(), "{without_kid}");
        }
    }

    #[test]
    fn pkcs1_and_sec1_blocks_are_read_too() {
        use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der};
        // PKCS#8 of an RSA 2048 key: SEQUENCE, version, the rsaEncryption AlgorithmIdentifier,
        // then the PKCS#1 RSAPrivateKey as an OCTET STRING of two length bytes, at byte 22.
        let pkcs8 = pem_block(&rsa_pem(), "PRIVATE KEY").unwrap();
        assert_eq!(pkcs8[22..24], [0x04, 0x82]);
        let pkcs1 = pem("RSA PRIVATE KEY", &pkcs8[26..]);
        let from_pkcs1 = SigningKey::rs256_pem(&pkcs1).unwrap();
        let from_pkcs8 = SigningKey::rs256_pem(&rsa_pem()).unwrap();
        assert_eq!(from_pkcs1.public_key_bytes(), from_pkcs8.public_key_bytes());

        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let sec1: EcPrivateKeyRfc5915Der<'_> = pair.private_key().as_der().unwrap();
        // OpenSSL's `ecparam -genkey` writes the curve's parameters first.
        let text = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            pem("EC PRIVATE KEY", sec1.as_ref())
        );
        let key = SigningKey::es256_pem(&text).unwrap();
        assert_eq!(key.public_key_bytes(), pair.public_key().as_ref());
    }

    #[test]
    fn wrong_keys_are_refused_and_debug_hides_the_key() {
        let (rsa, p256) = (rsa_pem(), p256_pem());
        assert!(
            SigningKey::rs256_pem(&p256).is_none(),
            "an EC key is not RSA"
        );
        assert!(
            SigningKey::es256_pem(&rsa).is_none(),
            "an RSA key is not P-256"
        );
        let p384 =
            EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        let p384 = pem("PRIVATE KEY", p384.to_pkcs8v1().unwrap().as_ref());
        assert!(SigningKey::es256_pem(&p384).is_none(), "P-384 is not P-256");
        for text in [
            "",
            "not a key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        ] {
            assert!(SigningKey::rs256_pem(text).is_none(), "{text}");
            assert!(SigningKey::es256_pem(text).is_none(), "{text}");
        }
        let debug = format!("{:?}", SigningKey::rs256_pem(&rsa).unwrap());
        assert_eq!(
            debug,
            "SigningKey { algorithm: RS256, key: KeyPair([redacted]) }"
        );
    }

    #[test]
    fn the_public_jwk_names_the_key() {
        let key = SigningKey::es256_pem(&p256_pem()).unwrap();
        let jwk = key.public_jwk(Some("k1"));
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["kid"], "k1");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        assert_eq!(x, key.public_key_bytes()[1..33]);
        assert!(jwk.get("d").is_none());
        let rsa = SigningKey::rs256_pem(&rsa_pem()).unwrap().public_jwk(None);
        assert_eq!(
            (rsa["kty"].as_str(), rsa["e"].as_str()),
            (Some("RSA"), Some("AQAB"))
        );
        assert!(rsa.get("kid").is_none() && rsa.get("d").is_none());
    }
}
