//! ID token verification (OpenID Connect Core 1.0 §3.1.3.7): the JOSE header, the signature
//! with a key from the provider's JWKS (both read as every JWT is: `jws`), then every claim
//! the layer relies on, with a fixed clock in the tests.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::jws;
pub(crate) use super::jws::{read_header, Rule};
use crate::error::{AuthError, AuthErrorKind};
pub(crate) use crate::provider::claim_types::Verified;
use crate::provider::claim_types::{
    numeric_date, optional_numeric_date, Audience, LEEWAY_SECS, MAX_SUB_LEN,
};
use crate::secret::constant_time_eq;

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

/// Verifies the signature with `jwk` and reads the claims. A bad signature is
/// `login_failed`; claims of the wrong JSON type in a correctly signed token are a provider
/// error.
pub(crate) fn verify_signature(
    token: &str,
    jwk: &Jwk,
    alg: Algorithm,
) -> Result<Claims, AuthError> {
    let json = jws::verify(token, jwk, alg).map_err(rejected)?;
    jws::json_object(&json).ok_or_else(|| {
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
    let audiences = claims.aud.as_slice();
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
}
