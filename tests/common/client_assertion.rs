//! `private_key_jwt` (RFC 7523 §2.2 and §3) on the test side, independent of the crate under
//! test: client keys made here with `aws-lc-rs` (private PEM for the layer, public JWK for a
//! provider), assertions forged with them by hand-written JWS code, and the checks a strict
//! token endpoint makes of a client assertion.

use std::collections::HashSet;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey,
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::request::Parts;
use serde_json::{json, Value};

use super::server;

/// `client_assertion_type` for JWT client assertions (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's public key, as registered at a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// RS256: the PKCS#1 `RSAPublicKey` DER, and the modulus and exponent.
    Rs256 {
        der: Vec<u8>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// ES256: the uncompressed P-256 point.
    Es256(Vec<u8>),
}

impl PublicKey {
    pub fn alg(&self) -> &'static str {
        match self {
            PublicKey::Rs256 { .. } => "RS256",
            PublicKey::Es256(_) => "ES256",
        }
    }

    /// The JWK (RFC 7517) a provider registers, with `kid` when given.
    pub fn jwk(&self, kid: Option<&str>) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = match self {
            PublicKey::Rs256 { n, e, .. } => json!({"kty": "RSA", "n": b64(n), "e": b64(e)}),
            PublicKey::Es256(point) => json!({"kty": "EC", "crv": "P-256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        };
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg());
        if let Some(kid) = kid {
            jwk["kid"] = json!(kid);
        }
        jwk
    }

    /// Whether `signature` over `message` verifies with this key.
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rs256 { der, .. } => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).verify(message, signature)
            }
            PublicKey::Es256(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature)
            }
        }
        .is_ok()
    }
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A client's key pair, made for one test.
pub struct ClientKey {
    /// The private key as PKCS#8 PEM: what the layer is configured with.
    pub pem: String,
    pub public: PublicKey,
    pair: Pair,
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

impl ClientKey {
    /// A new RSA 2048 key.
    pub fn rs256() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        ClientKey {
            pem: pem(pair.as_der().expect("PKCS#8").as_ref()),
            public: PublicKey::Rs256 {
                der: pair.public_key().as_ref().to_vec(),
                n: components.n,
                e: components.e,
            },
            pair: Pair::Rsa(pair),
        }
    }

    /// A new P-256 key.
    pub fn es256() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
        ClientKey {
            pem: pem(pair.to_pkcs8v1().expect("PKCS#8").as_ref()),
            public: PublicKey::Es256(pair.public_key().as_ref().to_vec()),
            pair: Pair::Ec(pair),
        }
    }

    /// A compact JWS of `header` and `claims` (any JSON), signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let signed = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, signed.as_bytes(), &mut signature)
                    .expect("RSA signature");
                signature
            }
            Pair::Ec(pair) => pair
                .sign(&rng, signed.as_bytes())
                .expect("ECDSA signature")
                .as_ref()
                .to_vec(),
        };
        format!("{signed}.{}", b64(&signature))
    }
}

/// What a strict token endpoint expects of one client's assertions.
pub struct Expected<'a> {
    pub client_id: &'a str,
    pub public_key: &'a PublicKey,
    /// The `kid` the key is registered under; when set, the header must name it.
    pub key_id: Option<&'a str>,
    /// The `aud` values accepted (the token endpoint URL, the issuer).
    pub audiences: &'a [String],
    pub now: u64,
}

/// The longest an assertion may live (`exp - iat`), and the oldest `iat` taken.
/// A compact JWS taken apart: its header and claims as JSON, the signed part and the
/// decoded signature. Nothing verified yet.
pub struct CompactJws<'a> {
    pub header: Value,
    pub claims: Value,
    /// `header.claims`, as signed.
    pub signed: &'a str,
    pub signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits `token` (the request's `name`, for the errors) into its three parts.
    pub fn parse(token: &'a str, name: &str) -> Result<Self, String> {
        let not_jws = || format!("{name} is not a compact JWS");
        let dot = token.rfind('.').ok_or_else(not_jws)?;
        let (signed, signature) = (&token[..dot], &token[dot + 1..]);
        let (header, claims) = signed.split_once('.').ok_or_else(not_jws)?;
        if claims.contains('.') {
            return Err(not_jws());
        }
        let json = |part: &str| -> Result<Value, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("{name}: not base64url"))?;
            serde_json::from_slice(&bytes).map_err(|_| format!("{name}: not JSON"))
        };
        Ok(Self {
            header: json(header)?,
            claims: json(claims)?,
            signed,
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| format!("{name}: the signature is not base64url"))?,
        })
    }
}

const MAX_LIFETIME: u64 = 300;
/// Clock skew allowed for `iat` in the future.
const SKEW: u64 = 5;

/// The client authentication of a token request by `private_key_jwt`: no secret and no
/// Basic header, the RFC 7523 assertion type, `client_id` (when sent) the client's, the
/// assertion signed by the registered key with its algorithm (and `kid`, when registered),
/// `iss` = `sub` = the client id, an accepted `aud`, unexpired, issued at most five minutes
/// ago and not in the future, and a `jti` never seen before (recorded in `seen` once the
/// rest holds). The error says why.
pub fn check(
    parts: &Parts,
    form: &[(String, String)],
    expected: &Expected<'_>,
    seen: &mut HashSet<String>,
) -> Result<(), String> {
    let get = |name| server::param(form, name);
    if parts.headers.contains_key(AUTHORIZATION) || get("client_secret").is_some() {
        return Err("a secret or Basic authentication alongside private_key_jwt".into());
    }
    if get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(format!(
            "client_assertion_type must be {ASSERTION_TYPE}, got {:?}",
            get("client_assertion_type")
        ));
    }
    if get("client_id").is_some_and(|id| id != expected.client_id) {
        return Err("client_id is another client".into());
    }
    let assertion = get("client_assertion").ok_or("no client_assertion")?;
    let jws = CompactJws::parse(assertion, "client_assertion")?;
    let (header_json, claims_json) = (&jws.header, &jws.claims);
    if header_json["alg"] != expected.public_key.alg() {
        return Err(format!("alg must be {}", expected.public_key.alg()));
    }
    if let Some(kid) = expected.key_id {
        if header_json["kid"] != kid {
            return Err(format!("kid must be {kid}, got {}", header_json["kid"]));
        }
    }
    if !expected
        .public_key
        .verifies(jws.signed.as_bytes(), &jws.signature)
    {
        return Err("the signature does not verify with the registered key".into());
    }
    for claim in ["iss", "sub"] {
        if claims_json[claim] != expected.client_id {
            return Err(format!("{claim} must be the client id"));
        }
    }
    let accepted = |aud: &Value| {
        aud.as_str()
            .is_some_and(|a| expected.audiences.iter().any(|x| x == a))
    };
    let aud_ok = match &claims_json["aud"] {
        Value::Array(list) => list.iter().any(accepted),
        aud => accepted(aud),
    };
    if !aud_ok {
        return Err(format!("aud {} is not this server", claims_json["aud"]));
    }
    let now = expected.now;
    let (Some(iat), Some(exp)) = (claims_json["iat"].as_u64(), claims_json["exp"].as_u64()) else {
        return Err("iat and exp must be numbers".into());
    };
    if exp <= now {
        return Err("the assertion has expired".into());
    }
    if iat > now + SKEW
        || now.saturating_sub(iat) > MAX_LIFETIME
        || exp.saturating_sub(iat) > MAX_LIFETIME
    {
        return Err(format!("iat {iat} / exp {exp} out of bounds at {now}"));
    }
    let jti = match claims_json["jti"].as_str() {
        Some(jti) if !jti.is_empty() => jti,
        _ => return Err("no jti".into()),
    };
    if !seen.insert(jti.to_owned()) {
        return Err("jti already used: a replayed assertion".into());
    }
    Ok(())
}
