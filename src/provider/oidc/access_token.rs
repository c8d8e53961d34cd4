//! JWT access tokens (RFC 9068, and the shapes Keycloak, Entra ID, Auth0 and Okta issue
//! without it): the claims a resource server reads, and the rules that tell an access token
//! for this API from everything else the provider signs with the same keys (an ID token, a
//! logout token, an access token for another API).
//!
//! The signature is checked as for every JWT (`jws`); here are only the claims, read into
//! fixed types and checked against a fixed clock in the tests.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::provider::access_token::{first_string, Rule, Scopes, TokenFacts};
use crate::provider::claim_types::{
    numeric_date, optional_numeric_date, Audience, Verified, LEEWAY_SECS, MAX_SUB_LEN,
};

/// The claims the layer reads from an access token. Every member it reads has a fixed JSON
/// type: in a correctly signed token, a member of another type refuses the token.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: Audience,
    #[serde(deserialize_with = "numeric_date")]
    pub(crate) exp: u64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub(crate) iat: Option<u64>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub(crate) nbf: Option<u64>,
    /// The client (RFC 9068 §2.2 `client_id`; Keycloak, Auth0 and Entra ID v2.0 `azp`; Okta
    /// `cid`; Entra ID v1.0 `appid`).
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    cid: Option<String>,
    #[serde(default)]
    appid: Option<String>,
    /// RFC 9068 §2.2.3 (and Keycloak, Auth0): a space-separated string.
    #[serde(default)]
    scope: Option<Scopes>,
    /// Entra ID (a string) and Okta (an array).
    #[serde(default)]
    scp: Option<Scopes>,
    /// Keycloak's token type claim: `Bearer` for access tokens, `ID`, `Refresh`, `Logout`
    /// for the others.
    #[serde(default)]
    typ: Option<String>,
    /// The tenant of a multi-tenant issuer (Entra ID).
    #[serde(default)]
    pub(crate) tid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Verified>,
    /// ID token (`nonce`, `at_hash`, `c_hash`, `s_hash`) and logout or security event token
    /// (`events`) claims, and a confirmation key (`cnf`): read only to refuse the token.
    #[serde(default)]
    nonce: Option<Value>,
    #[serde(default)]
    at_hash: Option<Value>,
    #[serde(default)]
    c_hash: Option<Value>,
    #[serde(default)]
    s_hash: Option<Value>,
    #[serde(default)]
    events: Option<Value>,
    #[serde(default)]
    cnf: Option<Value>,
}

/// What the claims must say.
#[derive(Debug)]
pub(crate) struct Expected<'a> {
    /// The issuer, and any other spelling the provider uses in `iss`.
    pub(crate) issuers: &'a [&'a str],
    /// The API's identifier at the provider.
    pub(crate) audience: &'a str,
    /// The JOSE header's `typ`, as sent.
    pub(crate) typ: Option<&'a str>,
}

/// RFC 9068 §2.1: the media type `application/at+jwt`, which RFC 7515 §4.1.9 lets a header
/// shorten to `at+jwt`, compared without regard to case.
fn is_at_jwt(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "at+jwt" || typ == "application/at+jwt"
}

/// Checks the claims of an access token at time `now`.
pub(crate) fn check_claims(claims: &Claims, expected: &Expected<'_>, now: u64) -> Result<(), Rule> {
    check_type(claims, expected.typ)?;
    if !expected.issuers.contains(&claims.iss.as_str()) {
        return Err("iss is not the issuer");
    }
    if !claims.aud.holds(expected.audience) {
        return Err("aud does not hold the API's audience");
    }
    if claims.exp.saturating_add(LEEWAY_SECS) < now {
        return Err("expired");
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(LEEWAY_SECS))
    {
        return Err("issued in the future");
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
    {
        return Err("not yet valid");
    }
    if claims.sub.is_empty() || claims.sub.len() > MAX_SUB_LEN {
        return Err("sub empty or too long");
    }
    if claims.cnf.is_some() {
        return Err("bound to a key of the client (cnf): a proof this layer does not check");
    }
    Ok(())
}

/// That the token is an access token: RFC 9068's `typ` with the claims it requires, or,
/// without it, an access token's claims. Either way, none of an ID token's or a logout
/// token's.
fn check_type(claims: &Claims, typ: Option<&str>) -> Result<(), Rule> {
    let other_kind = claims.nonce.is_some()
        || claims.at_hash.is_some()
        || claims.c_hash.is_some()
        || claims.s_hash.is_some()
        || claims.events.is_some()
        || claims
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("bearer"));
    if other_kind {
        return Err("an ID token's or a logout token's claims");
    }
    match typ {
        Some(typ) if is_at_jwt(typ) => {
            // RFC 9068 §2.2: REQUIRED in such a token.
            if claims.client_id.is_none() || claims.iat.is_none() {
                return Err("an at+jwt without client_id or iat");
            }
            Ok(())
        }
        None => Ok(()),
        Some(typ) if typ.eq_ignore_ascii_case("jwt") => Ok(()),
        Some(_) => Err("typ names another kind of token"),
    }
    .and_then(|()| {
        let access_claims = claims.scope.is_some()
            || claims.scp.is_some()
            || claims.client_id.is_some()
            || claims.cid.is_some()
            || claims.appid.is_some()
            || claims.typ.is_some();
        if access_claims {
            Ok(())
        } else {
            Err("no claim of an access token (scope, scp, client_id, cid, appid, typ)")
        }
    })
}

impl Claims {
    /// The facts of a token whose claims passed [`check_claims`]; `all` is every claim as
    /// sent. `verified_emails` is false for a provider whose emails are never verified.
    pub(crate) fn into_facts(self, all: Map<String, Value>, verified_emails: bool) -> TokenFacts {
        let client_id = self.client_id.or(self.azp).or(self.cid).or(self.appid);
        let scopes = self.scope.or(self.scp).unwrap_or_default().0;
        let name = self
            .name
            .filter(|n| !n.is_empty())
            .or(self.preferred_username.filter(|n| !n.is_empty()));
        let email = self
            .email
            .filter(|e| !e.is_empty())
            .filter(|_| verified_emails && self.email_verified == Some(Verified(true)));
        TokenFacts {
            subject: self.sub,
            client_id,
            scopes,
            issued_at: self.iat,
            expires_at: self.exp,
            name: name.or_else(|| first_string(&all, &["username"])),
            email,
            claims: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn claims(value: Value) -> Claims {
        serde_json::from_value(value).unwrap()
    }

    /// An RFC 9068 token, as oidc-provider issues it.
    fn rfc9068() -> Value {
        json!({
            "iss": "https://idp.example", "sub": "user-1", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW, "jti": "j", "client_id": "app", "scope": "read write",
        })
    }

    fn with(base: Value, changes: Value) -> Value {
        let mut value = base;
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                value.as_object_mut().unwrap().remove(k);
            } else {
                value[k] = v.clone();
            }
        }
        value
    }

    fn check(value: Value, typ: Option<&str>) -> Result<(), Rule> {
        let expected = Expected {
            issuers: &["https://idp.example"],
            audience: "https://api.example",
            typ,
        };
        check_claims(&claims(value), &expected, NOW)
    }

    #[test]
    fn rfc_9068_and_the_common_shapes_pass() {
        assert_eq!(check(rfc9068(), Some("at+jwt")), Ok(()));
        assert_eq!(check(rfc9068(), Some("application/AT+JWT")), Ok(()));
        // Keycloak: typ JWT, azp, scope, typ claim Bearer, aud among several.
        let keycloak = json!({
            "iss": "https://idp.example", "sub": "u", "aud": ["account", "https://api.example"],
            "exp": NOW + 300, "iat": NOW, "azp": "app", "typ": "Bearer", "scope": "profile",
        });
        assert_eq!(check(keycloak, Some("JWT")), Ok(()));
        // Entra ID v2.0: scp, azp, no typ in the header checked beyond JWT.
        let entra = json!({
            "iss": "https://idp.example", "sub": "u", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW, "nbf": NOW, "azp": "app", "scp": "Orders.Read",
            "ver": "2.0", "tid": "t",
        });
        assert_eq!(check(entra.clone(), Some("JWT")), Ok(()));
        let facts = claims(entra.clone()).into_facts(Map::new(), true);
        assert_eq!(facts.scopes, ["Orders.Read"]);
        assert_eq!(facts.client_id.as_deref(), Some("app"));
        // Okta: cid, scp as an array, no typ.
        let okta = json!({
            "iss": "https://idp.example", "sub": "u@example.com", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW, "cid": "app", "scp": ["a", "b"], "uid": "00u1",
        });
        assert_eq!(check(okta.clone(), None), Ok(()));
        let facts = claims(okta).into_facts(Map::new(), true);
        assert_eq!(facts.scopes, ["a", "b"]);
        assert_eq!(facts.client_id.as_deref(), Some("app"));
    }

    #[test]
    fn id_tokens_logout_tokens_and_other_types_are_refused() {
        // An ID token for the same audience: no access claim, and a nonce or at_hash.
        let id_token = json!({
            "iss": "https://idp.example", "sub": "u", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW, "nonce": "n", "at_hash": "h", "azp": "https://api.example",
        });
        for typ in [None, Some("JWT"), Some("at+jwt")] {
            assert_eq!(
                check(id_token.clone(), typ),
                Err("an ID token's or a logout token's claims")
            );
        }
        // An ID token without nonce or hashes (a refresh's): no claim of an access token.
        let bare = with(id_token.clone(), json!({"nonce": null, "at_hash": null}));
        assert_eq!(
            check(bare, Some("JWT")),
            Err("no claim of an access token (scope, scp, client_id, cid, appid, typ)")
        );
        // A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
        let logout = json!({
            "iss": "https://idp.example", "sub": "u", "aud": "https://api.example",
            "exp": NOW + 300, "iat": NOW, "jti": "j", "sid": "s",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        assert_eq!(
            check(logout.clone(), Some("logout+jwt")),
            Err("an ID token's or a logout token's claims")
        );
        // Keycloak's ID and refresh tokens say so in their typ claim.
        for kind in ["ID", "Refresh", "Logout"] {
            let token = with(rfc9068(), json!({"typ": kind}));
            assert_eq!(
                check(token, Some("JWT")),
                Err("an ID token's or a logout token's claims"),
                "{kind}"
            );
        }
        // Another media type in the header.
        for typ in ["logout+jwt", "secevent+jwt", "dpop+jwt", "id_token+jwt"] {
            assert_eq!(
                check(rfc9068(), Some(typ)),
                Err("typ names another kind of token")
            );
        }
        // at+jwt without what RFC 9068 requires.
        assert_eq!(
            check(with(rfc9068(), json!({"client_id": null})), Some("at+jwt")),
            Err("an at+jwt without client_id or iat")
        );
    }

    #[test]
    fn each_claim_rule_refuses() {
        let cases = [
            (
                json!({"iss": "https://evil.example"}),
                "iss is not the issuer",
            ),
            (
                json!({"aud": "https://other.example"}),
                "aud does not hold the API's audience",
            ),
            (
                json!({"aud": ["app", "https://api.example/"]}),
                "aud does not hold the API's audience",
            ),
            (json!({"exp": NOW - 61}), "expired"),
            (json!({"iat": NOW + 61}), "issued in the future"),
            (json!({"nbf": NOW + 61}), "not yet valid"),
            (json!({"sub": ""}), "sub empty or too long"),
            (
                json!({"cnf": {"jkt": "x"}}),
                "bound to a key of the client (cnf): a proof this layer does not check",
            ),
        ];
        for (changes, rule) in cases {
            assert_eq!(
                check(with(rfc9068(), changes.clone()), Some("at+jwt")),
                Err(rule),
                "{changes}"
            );
        }
        assert_eq!(
            check(
                with(rfc9068(), json!({"exp": NOW - 59, "nbf": NOW + 59})),
                Some("at+jwt")
            ),
            Ok(())
        );
    }

    #[test]
    fn claims_of_the_wrong_type_do_not_parse() {
        for changes in [
            json!({"sub": 5}),
            json!({"exp": "soon"}),
            json!({"exp": null}),
            json!({"aud": [1]}),
            json!({"scope": 5}),
            json!({"client_id": ["a"]}),
            json!({"typ": 1}),
        ] {
            assert!(
                serde_json::from_value::<Claims>(with(rfc9068(), changes.clone())).is_err(),
                "{changes}"
            );
        }
    }

    #[test]
    fn only_a_verified_email_is_kept() {
        let token = with(rfc9068(), json!({"email": "a@b.c", "name": "Ann"}));
        let facts = claims(token.clone()).into_facts(Map::new(), true);
        assert_eq!((facts.name.as_deref(), facts.email), (Some("Ann"), None));
        let verified = with(token, json!({"email_verified": true}));
        let facts = claims(verified.clone()).into_facts(Map::new(), true);
        assert_eq!(facts.email.as_deref(), Some("a@b.c"));
        let facts = claims(verified).into_facts(Map::new(), false);
        assert_eq!(facts.email, None);
    }
}
