//! What every JWT a provider signs shares, whatever it is for (an ID token, an access
//! token): the compact JWS (RFC 7515 §7.1), its JOSE header and the rules the layer holds it
//! to, and the signature checked with a key from the provider's JWKS.
//!
//! Only the signature is checked by `jsonwebtoken`; the header is read here into a fixed
//! type, so each rule is explicit and tested. The claims' types are `claim_types`.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Longer tokens are refused unread.
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;

pub(crate) use crate::provider::claim_types::Rule;

/// The parts of the JOSE header the layer uses.
#[derive(Debug)]
pub(crate) struct TokenHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// The media type of the whole token (RFC 7515 §4.1.9), e.g. `at+jwt` (RFC 9068).
    pub(crate) typ: Option<String>,
}

/// The header as sent. `jku`, `x5u` and `jwk` are read only to refuse the token: keys come
/// from the provider's JWKS and nowhere else.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// The three parts of a compact JWS.
fn parts(token: &str) -> Result<(&str, &str, &str), Rule> {
    if token.len() > MAX_TOKEN_LEN {
        return Err("token too long");
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(claims), Some(signature), None) => Ok((header, claims, signature)),
        _ => Err("not a signed JWT"),
    }
}

/// A JOSE header or claims set: UTF-8 JSON (RFC 7515 §4, RFC 7519 §7.2) that is an object.
/// `serde_json` alone would also read a struct from an array, member by member.
pub(crate) fn json_object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Option<T> {
    let text = std::str::from_utf8(json).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Reads the header: `alg` must be one of `allowed` (so never `none`, never HMAC), and a
/// header with `jku`, `x5u`, `jwk` or `crit` is refused.
pub(crate) fn read_header(token: &str, allowed: &[Algorithm]) -> Result<TokenHeader, Rule> {
    let (header, _, _) = parts(token)?;
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| "header not base64url")?;
    let raw: RawHeader = json_object(&json).ok_or("header not a JSON object")?;
    if raw.jku.is_some() || raw.x5u.is_some() || raw.jwk.is_some() {
        return Err("header names its own key (jku, x5u or jwk)");
    }
    if raw.crit.is_some() {
        return Err("header has critical extensions");
    }
    let alg = Algorithm::from_str(&raw.alg).map_err(|_| "alg unknown or none")?;
    if !allowed.contains(&alg) {
        return Err("alg not allowed");
    }
    Ok(TokenHeader {
        alg,
        kid: raw.kid,
        typ: raw.typ,
    })
}

/// Whether a `typ` names a logout token (`logout+jwt`, or with the `application/` prefix
/// RFC 7515 §4.1.9 allows to omit), compared without regard to case.
pub(crate) fn is_logout_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "logout+jwt" || typ == "application/logout+jwt"
}

/// Verifies the signature with `jwk` and returns the claims' JSON bytes, unread.
pub(crate) fn verify(token: &str, jwk: &Jwk, alg: Algorithm) -> Result<Vec<u8>, Rule> {
    let (header, claims, signature) = parts(token)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "key unusable")?;
    // The message is the token up to the last `.`: `header.claims`.
    let message = token
        .get(..header.len() + 1 + claims.len())
        .ok_or("not a signed JWT")?;
    let valid = jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg)
        .map_err(|_| "signature unreadable")?;
    if !valid {
        return Err("bad signature");
    }
    URL_SAFE_NO_PAD
        .decode(claims)
        .map_err(|_| "claims not base64url")
}

/// The `iss` a compact JWS claims, read without checking anything but its shape: a header
/// that is a JSON object naming an `alg`, and claims that are a JSON object with a string
/// `iss`. Only to choose whose keys to verify it with; `None` for anything else (an opaque
/// token).
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Header {
        #[allow(dead_code, reason = "read only to require a JOSE header")]
        alg: String,
    }
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let (header, claims, _) = parts(token).ok()?;
    let _: Header = json_object(&URL_SAFE_NO_PAD.decode(header).ok()?)?;
    let claims: Issuer = json_object(&URL_SAFE_NO_PAD.decode(claims).ok()?)?;
    Some(claims.iss)
}

/// Whether `token` has the shape of a compact JWS: three base64url parts, the first a JSON
/// object with an `alg`.
pub(crate) fn looks_like_jws(token: &str) -> bool {
    #[derive(Deserialize)]
    struct Header {
        #[allow(dead_code, reason = "read only to require a JOSE header")]
        alg: String,
    }
    let Ok((header, _, _)) = parts(token) else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|json| json_object::<Header>(&json))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token_with_header(header: serde_json::Value) -> String {
        let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", b64(&header), b64(&json!({"iss": "i"})))
    }

    #[test]
    fn headers_are_checked() {
        let allowed = [Algorithm::RS256, Algorithm::ES256];
        let header = read_header(
            &token_with_header(json!({"alg": "RS256", "kid": "k1", "typ": "at+jwt"})),
            &allowed,
        )
        .unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let refused = [
            (json!({"alg": "none"}), "alg unknown or none"),
            (json!({"alg": "HS256"}), "alg not allowed"),
            (json!({"alg": "RS384"}), "alg not allowed"),
            (
                json!({"alg": "RS256", "jku": "https://evil.example/jwks"}),
                "header names its own key (jku, x5u or jwk)",
            ),
            (
                json!({"alg": "RS256", "x5u": "https://evil.example/cert"}),
                "header names its own key (jku, x5u or jwk)",
            ),
            (
                json!({"alg": "RS256", "jwk": {"kty": "oct", "k": "AA"}}),
                "header names its own key (jku, x5u or jwk)",
            ),
            (
                json!({"alg": "RS256", "crit": ["exp"]}),
                "header has critical extensions",
            ),
            (json!({"alg": 256}), "header not a JSON object"),
            (
                json!({"alg": "RS256", "typ": 1}),
                "header not a JSON object",
            ),
        ];
        for (header, rule) in refused {
            assert_eq!(
                read_header(&token_with_header(header.clone()), &allowed).unwrap_err(),
                rule,
                "{header}"
            );
        }
        assert_eq!(
            read_header("a.b", &allowed).unwrap_err(),
            "not a signed JWT"
        );
        assert_eq!(
            read_header("a.b.c.d", &allowed).unwrap_err(),
            "not a signed JWT"
        );
        let duplicated = format!(
            "{}.e30.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","alg":"none"}"#)
        );
        assert_eq!(
            read_header(&duplicated, &allowed).unwrap_err(),
            "header not a JSON object"
        );
    }

    #[test]
    fn the_issuer_is_peeked_only_from_a_jws_shape() {
        let token = token_with_header(json!({"alg": "RS256"}));
        assert!(looks_like_jws(&token));
        assert_eq!(unverified_issuer(&token).as_deref(), Some("i"));
        for opaque in ["", "abc", "a.b.c", "2YotnFZFEjr1zCsicMWpAA", "e30.e30.e30"] {
            assert!(!looks_like_jws(opaque), "{opaque}");
            assert_eq!(unverified_issuer(opaque), None, "{opaque}");
        }
        let no_iss = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":5}"#)
        );
        assert!(looks_like_jws(&no_iss));
        assert_eq!(unverified_issuer(&no_iss), None);
    }
}
