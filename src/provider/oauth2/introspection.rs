//! Token introspection (RFC 7662): asking the provider whether a token presented to the app
//! is active, with the client's own authentication, and reading its answer strictly.
//!
//! An answer is the provider's word on the token: `active: false` refuses it; an active
//! token must be for this API (`aud`), of this issuer (`iss`, when sent), unexpired (`exp`,
//! required), a bearer token (`token_type`, when sent) and not bound to a key of the client
//! (`cnf`). An answer that is not RFC 7662's (another status, HTML, a member of the wrong
//! type) is no word at all: the token is then neither valid nor invalid.

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::client_auth::{authenticate, form_post, ClientAuth, Credentials};
use crate::error::AuthErrorKind;
use crate::outbound::Outbound;
use crate::provider::access_token::{first_string, Refusal, Rule, Scopes, TokenFacts};
use crate::provider::claim_types::{
    optional_numeric_date, Audience, Verified, LEEWAY_SECS, MAX_SUB_LEN,
};

/// A request to the provider's introspection endpoint, with the client's authentication.
pub(crate) struct Introspection<'a> {
    pub(crate) endpoint: &'a Url,
    pub(crate) credentials: &'a Credentials,
    pub(crate) auth: &'a ClientAuth,
    /// The `aud` of a client assertion ([`ClientAuth::PrivateKeyJwt`]).
    pub(crate) assertion_audience: &'a str,
    /// The time, for a client assertion's `iat` and `exp`.
    pub(crate) now: u64,
}

/// What an active token's answer must say.
#[derive(Debug)]
pub(crate) struct Expected<'a> {
    /// The issuer, and any other spelling the provider uses in `iss`.
    pub(crate) issuers: &'a [&'a str],
    /// The API's identifier at the provider.
    pub(crate) audience: &'a str,
    /// False for a provider whose emails are never verified.
    pub(crate) verified_emails: bool,
}

impl Introspection<'_> {
    /// Asks about `token` (RFC 7662 §2.1: a form `POST` with `token` and the hint
    /// `token_type_hint=access_token`) and reads the answer at time `now`.
    pub(crate) async fn ask(
        &self,
        outbound: &Outbound,
        token: &str,
        expected: &Expected<'_>,
    ) -> Result<TokenFacts, Refusal> {
        let (body, basic) = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", token)
                .append_pair("token_type_hint", "access_token");
            let basic = authenticate(
                self.auth,
                self.credentials,
                self.assertion_audience,
                self.now,
                &mut form,
            )
            .map_err(|_| Refusal::Unavailable("client assertion not signed"))?;
            (form.finish(), basic)
        };
        let request = form_post(outbound, self.endpoint.clone(), body, basic);
        let reply = outbound
            .send(request, "introspection")
            .await
            .map_err(|error| match error.kind() {
                AuthErrorKind::ProviderTimeout => Refusal::Unavailable("introspection timed out"),
                _ => Refusal::Unavailable("introspection unreachable or unusable"),
            })?;
        if matches!(reply.status.as_u16(), 401 | 403) {
            tracing::error!(
                status = reply.status.as_u16(),
                "the introspection endpoint refused the app's client authentication"
            );
            return Err(Refusal::Unavailable(
                "introspection refused the client's authentication",
            ));
        }
        if reply.status != http::StatusCode::OK {
            return Err(Refusal::Unavailable(
                "introspection answered another status",
            ));
        }
        read_answer(&reply.body, expected, self.now)
    }
}

/// The members of an answer the layer reads (RFC 7662 §2.2, and Keycloak's `typ`), each of
/// a fixed JSON type.
#[derive(Deserialize)]
struct Active {
    active: bool,
    #[serde(default)]
    scope: Option<Scopes>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    exp: Option<u64>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    iat: Option<u64>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    nbf: Option<u64>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    cnf: Option<Value>,
    /// Keycloak: `Bearer` for an access token, `Refresh` for a refresh token.
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Verified>,
}

/// Reads an introspection answer's body at time `now`: the facts of an active token for
/// this API, [`Refusal::Invalid`] for any other token, [`Refusal::Unavailable`] for an
/// answer that is not RFC 7662's.
pub(crate) fn read_answer(
    body: &[u8],
    expected: &Expected<'_>,
    now: u64,
) -> Result<TokenFacts, Refusal> {
    let malformed = Refusal::Unavailable("introspection answer malformed");
    // A JSON object (the map), each member the layer reads of its type and sent once (the
    // struct: `serde_json` refuses a repeated field, and alone would read a struct from an
    // array).
    let all: Map<String, Value> = serde_json::from_slice(body).map_err(|_| malformed)?;
    let active: Active = serde_json::from_slice(body).map_err(|_| malformed)?;
    if !active.active {
        return Err(Refusal::Invalid("inactive"));
    }
    check(&active, expected, now).map_err(Refusal::Invalid)?;
    let exp = active.exp.ok_or(Refusal::Invalid("no exp"))?;
    let subject = active
        .sub
        .clone()
        .filter(|sub| !sub.is_empty())
        .or_else(|| active.client_id.clone())
        .filter(|subject| !subject.is_empty() && subject.len() <= MAX_SUB_LEN)
        .ok_or(Refusal::Invalid("no sub nor client_id, or too long"))?;
    let name = [active.name, active.preferred_username, active.username]
        .into_iter()
        .flatten()
        .find(|name| !name.is_empty());
    let email = active
        .email
        .filter(|e| !e.is_empty())
        .filter(|_| expected.verified_emails && active.email_verified == Some(Verified(true)));
    Ok(TokenFacts {
        subject,
        client_id: active.client_id,
        scopes: active.scope.unwrap_or_default().0,
        issued_at: active.iat,
        expires_at: exp,
        name: name.or_else(|| first_string(&all, &["username"])),
        email,
        claims: all,
    })
}

/// The rules an active token's answer must pass.
fn check(active: &Active, expected: &Expected<'_>, now: u64) -> Result<(), Rule> {
    let is_bearer = |kind: &Option<String>| {
        kind.as_deref()
            .is_none_or(|kind| kind.eq_ignore_ascii_case("bearer"))
    };
    if !is_bearer(&active.token_type) || !is_bearer(&active.typ) {
        return Err("not a bearer access token (token_type or typ)");
    }
    if active.cnf.is_some() {
        return Err("bound to a key of the client (cnf): a proof this layer does not check");
    }
    match active.exp {
        None => return Err("no exp"),
        Some(exp) if exp.saturating_add(LEEWAY_SECS) < now => return Err("expired"),
        Some(_) => {}
    }
    if active
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
    {
        return Err("not yet valid");
    }
    if active
        .iss
        .as_deref()
        .is_some_and(|iss| !expected.issuers.contains(&iss))
    {
        return Err("iss is not the issuer");
    }
    if !active
        .aud
        .as_ref()
        .is_some_and(|aud| aud.holds(expected.audience))
    {
        return Err("aud missing or without the API's audience");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuers: &["https://idp.example"],
            audience: "https://api.example",
            verified_emails: true,
        }
    }

    /// An active access token's answer, as oidc-provider gives it.
    fn active() -> Value {
        json!({
            "active": true, "sub": "user-1", "client_id": "app", "exp": NOW + 300,
            "iat": NOW, "iss": "https://idp.example", "aud": "https://api.example",
            "scope": "read write", "token_type": "Bearer",
        })
    }

    fn read(value: &Value) -> Result<TokenFacts, Refusal> {
        read_answer(value.to_string().as_bytes(), &expected(), NOW)
    }

    fn with(changes: Value) -> Value {
        let mut value = active();
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
    fn an_active_token_for_this_api_gives_its_facts() {
        let facts = read(&active()).unwrap();
        assert_eq!(facts.subject, "user-1");
        assert_eq!(facts.client_id.as_deref(), Some("app"));
        assert_eq!(facts.scopes, ["read", "write"]);
        assert_eq!(facts.expires_at, NOW + 300);
        // A client's own token (client credentials): no sub, the client is the subject.
        let own = read(&with(json!({"sub": null}))).unwrap();
        assert_eq!(own.subject, "app");
        // Members RFC 7662 makes optional may be missing; others are kept for the hook.
        let lean = read(&with(
            json!({"iss": null, "token_type": null, "scope": null, "x": 1}),
        ))
        .unwrap();
        assert!(lean.scopes.is_empty());
        assert_eq!(lean.claims["x"], 1);
        // Keycloak names its user.
        let named = read(&with(json!({"preferred_username": "ann", "typ": "Bearer"}))).unwrap();
        assert_eq!(named.name.as_deref(), Some("ann"));
    }

    #[test]
    fn inactive_and_refused_tokens_are_invalid() {
        assert_eq!(
            read(&json!({"active": false})).unwrap_err(),
            Refusal::Invalid("inactive")
        );
        let cases = [
            (
                json!({"aud": "https://other.example"}),
                "aud missing or without the API's audience",
            ),
            (
                json!({"aud": null}),
                "aud missing or without the API's audience",
            ),
            (
                json!({"iss": "https://evil.example"}),
                "iss is not the issuer",
            ),
            (json!({"exp": null}), "no exp"),
            (json!({"exp": NOW - 61}), "expired"),
            (json!({"nbf": NOW + 61}), "not yet valid"),
            (
                json!({"token_type": "refresh_token"}),
                "not a bearer access token (token_type or typ)",
            ),
            (
                json!({"token_type": "DPoP"}),
                "not a bearer access token (token_type or typ)",
            ),
            (
                json!({"typ": "Refresh"}),
                "not a bearer access token (token_type or typ)",
            ),
            (
                json!({"cnf": {"jkt": "x"}}),
                "bound to a key of the client (cnf): a proof this layer does not check",
            ),
            (
                json!({"sub": null, "client_id": null}),
                "no sub nor client_id, or too long",
            ),
            (
                json!({"sub": "x".repeat(256)}),
                "no sub nor client_id, or too long",
            ),
        ];
        for (changes, rule) in cases {
            assert_eq!(
                read(&with(changes.clone())).unwrap_err(),
                Refusal::Invalid(rule),
                "{changes}"
            );
        }
    }

    #[test]
    fn answers_that_are_not_rfc_7662_are_no_word_at_all() {
        let malformed = Refusal::Unavailable("introspection answer malformed");
        for body in [
            &b"<html>oops</html>"[..],
            b"",
            b"[]",
            b"{}",
            br#"{"active": "true"}"#,
            br#"{"active": 1}"#,
            br#"{"active": true, "exp": "soon"}"#,
            br#"{"active": true, "scope": 5}"#,
            br#"{"active": true, "active": false}"#,
        ] {
            assert_eq!(
                read_answer(body, &expected(), NOW).unwrap_err(),
                malformed,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
