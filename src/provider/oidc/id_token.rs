//! ID token verification (OpenID Connect Core 1.0 §3.1.3.7): the JOSE header, the signature
//! with a key from the provider's JWKS, then every claim the layer relies on.
//!
//! Only the signature is checked by `jsonwebtoken`; the header and claims are read here
//! into fixed types, so each rule is explicit and tested with a fixed clock.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::error::{AuthError, AuthErrorKind};
use crate::secret::constant_time_eq;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 60;
/// Longer tokens are refused unread.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// OpenID Connect Core 1.0 §2: `sub` is at most 255 ASCII characters.
const MAX_SUB_LEN: usize = 255;

/// Why a token was refused, for the logs: a fixed string, never token content.
pub(crate) type Rule = &'static str;

/// The parts of the JOSE header the layer uses.
#[derive(Debug)]
pub(crate) struct TokenHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// The explicit type (RFC 8725 §3.11), when the token states one.
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

/// The claims the layer reads. Every member has a fixed JSON type: in a correctly signed
/// token, a member of another type is a provider error.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: Audience,
    #[serde(deserialize_with = "numeric_date")]
    pub(crate) exp: u64,
    #[serde(deserialize_with = "numeric_date")]
    pub(crate) iat: u64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub(crate) nbf: Option<u64>,
    #[serde(default)]
    pub(crate) nonce: Option<String>,
    #[serde(default)]
    pub(crate) azp: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) preferred_username: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) email_verified: Option<Verified>,
    /// The tenant of a multi-tenant issuer (Microsoft Entra ID).
    #[serde(default)]
    pub(crate) tid: Option<String>,
    /// Present in logout tokens only: an ID token holding it is a logout token sent in its
    /// place.
    #[serde(default)]
    events: Option<serde_json::Value>,
    /// Every other claim, for [`Oidc::profile_claim`](crate::Oidc::profile_claim).
    #[serde(flatten)]
    pub(crate) other: serde_json::Map<String, serde_json::Value>,
}

impl Claims {
    /// The claim `name`, as sent.
    pub(crate) fn get(&self, name: &str) -> Option<serde_json::Value> {
        let text = |value: &Option<String>| value.clone().map(serde_json::Value::from);
        match name {
            "sub" => Some(self.sub.clone().into()),
            "name" => text(&self.name),
            "preferred_username" => text(&self.preferred_username),
            "tid" => text(&self.tid),
            _ => self.other.get(name).cloned(),
        }
    }
}

/// `aud`: one audience or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

/// `email_verified`: a boolean, or the strings `"true"`/`"false"` some providers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified(pub(crate) bool);

impl<'de> Deserialize<'de> for Verified {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bool(b) => Ok(Verified(b)),
            Raw::Text(t) if t == "true" => Ok(Verified(true)),
            Raw::Text(t) if t == "false" => Ok(Verified(false)),
            Raw::Text(_) => Err(de::Error::custom("email_verified is not a boolean")),
        }
    }
}

/// A NumericDate (RFC 7519 §2): non-negative seconds, fractions dropped.
pub(super) fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = serde_json::Number::deserialize(deserializer)?;
    if let Some(secs) = value.as_u64() {
        return Ok(secs);
    }
    match value.as_f64() {
        Some(secs) if secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64 => Ok(secs as u64),
        _ => Err(de::Error::custom("not a NumericDate")),
    }
}

pub(super) fn optional_numeric_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "numeric_date")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(secs)| secs))
}

/// What an ID token's `nonce` must be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum NonceRule<'a> {
    /// Present, and the nonce sent in this login's authorization request.
    Required(&'a str),
    /// That nonce when present: for a provider whose ID tokens carry none (LinkedIn), turned
    /// on by the weakening `id_token_nonce(false)`.
    IfPresent(&'a str),
    /// Not checked: an ID token from a refresh answers no authorization request (OpenID
    /// Connect Core 1.0 §12.2).
    Refresh,
}

/// What the claims must say for this login.
#[derive(Debug)]
pub(crate) struct Expected<'a> {
    /// The issuer, and any other spelling the provider uses in `iss`.
    pub(crate) issuers: &'a [&'a str],
    pub(crate) client_id: &'a str,
    /// What the token's `nonce` must be.
    pub(crate) nonce: NonceRule<'a>,
}

/// A token refused by one of the rules: `login_failed` (401), the rule logged.
pub(crate) fn rejected(rule: Rule) -> AuthError {
    tracing::warn!(rule, "ID token rejected");
    AuthError::new(
        AuthErrorKind::LoginFailed,
        "the provider's ID token did not verify; start the login again",
    )
}

/// The three parts of a compact JWS.
pub(super) fn parts(token: &str) -> Result<(&str, &str, &str), Rule> {
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
pub(super) fn json_object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Option<T> {
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

/// The claims set of `token` once its signature verifies with `jwk` and `alg`: the raw
/// JSON, for each kind of token to read into its own type.
pub(super) fn verified_payload(token: &str, jwk: &Jwk, alg: Algorithm) -> Result<Vec<u8>, Rule> {
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

/// Verifies the signature with `jwk` and reads the claims. A bad signature is
/// `login_failed`; claims of the wrong JSON type in a correctly signed token are a provider
/// error.
pub(crate) fn verify_signature(
    token: &str,
    jwk: &Jwk,
    alg: Algorithm,
) -> Result<Claims, AuthError> {
    let json = verified_payload(token, jwk, alg).map_err(rejected)?;
    json_object(&json).ok_or_else(|| {
        tracing::warn!("ID token claims missing or of the wrong type");
        AuthError::provider("the provider's ID token lacks a claim or has one of the wrong type")
    })
}

/// Checks the claims (OpenID Connect Core 1.0 §3.1.3.7) at time `now`.
pub(crate) fn check_claims(claims: &Claims, expected: &Expected<'_>, now: u64) -> Result<(), Rule> {
    // OpenID Connect Back-Channel Logout 1.0 §2.4: a logout token is not an ID token, and
    // must never be taken for one.
    if claims.events.is_some() {
        return Err("a logout token (events), not an ID token");
    }
    if !expected.issuers.contains(&claims.iss.as_str()) {
        return Err("iss is not the issuer");
    }
    let audiences: &[String] = match &claims.aud {
        Audience::One(aud) => std::slice::from_ref(aud),
        Audience::Many(auds) => auds,
    };
    if !audiences.iter().any(|aud| aud == expected.client_id) {
        return Err("aud does not hold the client id");
    }
    match &claims.azp {
        Some(azp) if azp != expected.client_id => return Err("azp is not the client id"),
        None if audiences.len() > 1 => return Err("several audiences and no azp"),
        _ => {}
    }
    if claims.exp.saturating_add(LEEWAY_SECS) < now {
        return Err("expired");
    }
    if claims.iat > now.saturating_add(LEEWAY_SECS) {
        return Err("issued in the future");
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
    {
        return Err("not yet valid");
    }
    let nonce_ok = match (expected.nonce, claims.nonce.as_deref()) {
        (NonceRule::Required(sent) | NonceRule::IfPresent(sent), Some(nonce)) => {
            constant_time_eq(nonce.as_bytes(), sent.as_bytes())
        }
        (NonceRule::Required(_), None) => false,
        (NonceRule::IfPresent(_), None) | (NonceRule::Refresh, _) => true,
    };
    if !nonce_ok {
        return Err("nonce is not this login's");
    }
    if claims.sub.is_empty() || claims.sub.len() > MAX_SUB_LEN {
        return Err("sub empty or too long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn claims(value: serde_json::Value) -> Claims {
        serde_json::from_value(value).unwrap()
    }

    fn good() -> serde_json::Value {
        json!({
            "iss": "https://idp.example", "sub": "user-1", "aud": "client",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-123",
        })
    }

    fn check(value: serde_json::Value) -> Result<(), Rule> {
        check_nonce(value, true)
    }

    fn check_nonce(value: serde_json::Value, nonce_required: bool) -> Result<(), Rule> {
        let expected = Expected {
            issuers: &["https://idp.example", "idp.example"],
            client_id: "client",
            nonce: if nonce_required {
                NonceRule::Required("n-123")
            } else {
                NonceRule::IfPresent("n-123")
            },
        };
        check_claims(&claims(value), &expected, NOW)
    }

    #[test]
    fn a_refreshed_token_needs_no_nonce_and_every_other_rule() {
        let refreshed = |value| {
            let expected = Expected {
                issuers: &["https://idp.example"],
                client_id: "client",
                nonce: NonceRule::Refresh,
            };
            check_claims(&claims(value), &expected, NOW)
        };
        assert_eq!(refreshed(with(json!({"nonce": null}))), Ok(()));
        assert_eq!(
            refreshed(with(json!({"nonce": null, "aud": "other"}))),
            Err("aud does not hold the client id")
        );
        assert_eq!(
            refreshed(with(json!({"iss": "https://evil.example"}))),
            Err("iss is not the issuer")
        );
    }

    #[test]
    fn without_a_required_nonce_a_token_may_lack_one_but_not_carry_another() {
        assert_eq!(check_nonce(with(json!({"nonce": null})), false), Ok(()));
        assert_eq!(check_nonce(good(), false), Ok(()));
        assert_eq!(
            check_nonce(with(json!({"nonce": "n-124"})), false),
            Err("nonce is not this login's")
        );
    }

    fn with(changes: serde_json::Value) -> serde_json::Value {
        let mut value = good();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                value.as_object_mut().unwrap().remove(k);
            } else {
                value[k] = v.clone();
            }
        }
        value
    }

    #[test]
    fn a_good_token_passes() {
        assert_eq!(check(good()), Ok(()));
        assert_eq!(check(with(json!({"iss": "idp.example"}))), Ok(()));
        assert_eq!(check(with(json!({"aud": ["client"]}))), Ok(()));
        assert_eq!(
            check(with(json!({"aud": ["client", "other"], "azp": "client"}))),
            Ok(())
        );
        // Within the leeway on every side.
        assert_eq!(
            check(with(
                json!({"exp": NOW - 59, "iat": NOW + 59, "nbf": NOW + 59})
            )),
            Ok(())
        );
    }

    #[test]
    fn each_rule_refuses() {
        let cases = [
            (
                json!({"iss": "https://evil.example"}),
                "iss is not the issuer",
            ),
            (
                json!({"iss": "https://idp.example/"}),
                "iss is not the issuer",
            ),
            (json!({"aud": "other"}), "aud does not hold the client id"),
            (json!({"aud": []}), "aud does not hold the client id"),
            (
                json!({"aud": ["client", "other"]}),
                "several audiences and no azp",
            ),
            (json!({"azp": "other"}), "azp is not the client id"),
            (json!({"exp": NOW - 61}), "expired"),
            (json!({"iat": NOW + 61}), "issued in the future"),
            (json!({"nbf": NOW + 61}), "not yet valid"),
            (json!({"nonce": "n-124"}), "nonce is not this login's"),
            (json!({"nonce": null}), "nonce is not this login's"),
            (json!({"sub": ""}), "sub empty or too long"),
            (json!({"sub": "x".repeat(256)}), "sub empty or too long"),
        ];
        for (changes, rule) in cases {
            assert_eq!(check(with(changes.clone())), Err(rule), "{changes}");
        }
    }

    #[test]
    fn claims_of_the_wrong_type_do_not_parse() {
        for changes in [
            json!({"sub": 5}),
            json!({"exp": "tomorrow"}),
            json!({"exp": -1}),
            json!({"iat": null}),
            json!({"aud": [1]}),
            json!({"email_verified": "yes"}),
            json!({"email": ["a@b.c"]}),
        ] {
            assert!(
                serde_json::from_value::<Claims>(with(changes.clone())).is_err(),
                "{changes}"
            );
        }
        let parsed = claims(with(json!({"exp": 1.7e9, "email_verified": "false"})));
        assert_eq!(parsed.exp, 1_700_000_000);
        assert_eq!(parsed.email_verified, Some(Verified(false)));
    }

    fn token_with_header(header: serde_json::Value) -> String {
        let b64 = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.c2ln", b64(&header), b64(&good()))
    }

    #[test]
    fn headers_are_checked() {
        let allowed = [Algorithm::RS256, Algorithm::ES256];
        let header = read_header(
            &token_with_header(json!({"alg": "RS256", "kid": "k1"})),
            &allowed,
        )
        .unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
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
}
