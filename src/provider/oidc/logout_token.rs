//! Logout token validation (OpenID Connect Back-Channel Logout 1.0 §2.6): what the claims
//! of a logout token whose signature verified must say.
//!
//! A logout token is not an ID token, and the two are kept apart both ways: this module
//! refuses a token without the back-channel logout event or with a `nonce` (an ID token),
//! and the ID token checks refuse a token with `events` or the `logout+jwt` type.

use std::fmt;

use serde::Deserialize;

use super::jws::json_object;
use crate::provider::claim_types::{numeric_date, optional_numeric_date, Audience, Rule};

/// §2.4: the member of `events` that makes a JWT a logout token.
pub(crate) const BACKCHANNEL_LOGOUT_EVENT: &str =
    "http://schemas.openid.net/event/backchannel-logout";
/// How long after its `iat` a logout token is accepted (§2.6 leaves the window to the RP;
/// providers send them at once, and oidc-provider gives them 120 s).
pub(crate) const MAX_AGE_SECS: u64 = 5 * 60;
/// Clock skew tolerated on `iat` and `exp`, as for ID tokens.
const LEEWAY_SECS: u64 = crate::provider::claim_types::LEEWAY_SECS;
/// The longest `jti`, `sid` or `sub` accepted (OpenID Connect Core 1.0 §2 caps `sub` at 255).
const MAX_ID_LEN: usize = 255;

/// The claims of a logout token, each of a fixed JSON type. `nonce` is read as any value
/// only to refuse the token.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    #[serde(deserialize_with = "numeric_date")]
    iat: u64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    exp: Option<u64>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    events: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    nonce: Option<serde_json::Value>,
    /// The tenant of a multi-tenant issuer, for its issuer.
    #[serde(default)]
    tid: Option<String>,
}

/// What a valid logout token says: which session or user the provider ended, and until when
/// its `jti` must be remembered.
pub(crate) struct LogoutToken {
    /// The provider's session (`sid`). Never logged.
    pub(crate) sid: Option<String>,
    /// The user (`sub`).
    pub(crate) sub: Option<String>,
    /// The token's id, to accept it once.
    pub(crate) jti: String,
    /// Past this (Unix seconds), the token is refused anyway: its `jti` may be forgotten.
    pub(crate) replayable_until: u64,
}

impl fmt::Debug for LogoutToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutToken")
            .field("sid", &self.sid.as_ref().map(|_| "[redacted]"))
            .field("sub", &self.sub)
            .field("replayable_until", &self.replayable_until)
            .finish_non_exhaustive()
    }
}

/// The claims JSON of a logout token whose signature verified, read; and the tenant it
/// names (for a multi-tenant issuer).
pub(crate) struct Unchecked {
    claims: Claims,
}

impl Unchecked {
    /// Reads the claims set: a JSON object whose members have their types.
    pub(crate) fn read(json: &[u8]) -> Result<Self, Rule> {
        json_object(json)
            .map(|claims| Self { claims })
            .ok_or("claims missing (iss, aud, iat) or of the wrong type")
    }

    /// The tenant the token names (`tid`).
    pub(crate) fn tenant(&self) -> Option<&str> {
        self.claims.tid.as_deref()
    }

    /// Checks every claim (§2.6 steps 4 to 8, but the replay) at time `now`, against the
    /// accepted issuers and the client id.
    pub(crate) fn check(
        self,
        issuers: &[&str],
        client_id: &str,
        now: u64,
    ) -> Result<LogoutToken, Rule> {
        let claims = self.claims;
        if !issuers.contains(&claims.iss.as_str()) {
            return Err("iss is not the issuer");
        }
        let audiences: &[String] = match &claims.aud {
            Audience::One(aud) => std::slice::from_ref(aud),
            Audience::Many(auds) => auds,
        };
        if !audiences.iter().any(|aud| aud == client_id) {
            return Err("aud does not hold the client id");
        }
        match &claims.azp {
            Some(azp) if azp != client_id => return Err("azp is not the client id"),
            None if audiences.len() > 1 => return Err("several audiences and no azp"),
            _ => {}
        }
        if claims.iat > now.saturating_add(LEEWAY_SECS) {
            return Err("issued in the future");
        }
        let accepted_until = claims
            .iat
            .saturating_add(MAX_AGE_SECS)
            .saturating_add(LEEWAY_SECS);
        if accepted_until < now {
            return Err("iat too old");
        }
        if let Some(exp) = claims.exp {
            if exp.saturating_add(LEEWAY_SECS) < now {
                return Err("expired");
            }
        }
        let jti = claims.jti.filter(|jti| !jti.is_empty()).ok_or("no jti")?;
        if jti.len() > MAX_ID_LEN {
            return Err("jti too long");
        }
        let events = claims.events.ok_or("no events")?;
        if !events
            .get(BACKCHANNEL_LOGOUT_EVENT)
            .is_some_and(serde_json::Value::is_object)
        {
            return Err("events lacks the back-channel logout event");
        }
        if claims.nonce.is_some() {
            return Err("has a nonce (an ID token?)");
        }
        let id = |value: Option<String>| -> Result<Option<String>, Rule> {
            match value {
                Some(text) if text.is_empty() || text.len() > MAX_ID_LEN => {
                    Err("sid or sub empty or too long")
                }
                other => Ok(other),
            }
        };
        let (sid, sub) = (id(claims.sid)?, id(claims.sub)?);
        if sid.is_none() && sub.is_none() {
            return Err("neither sid nor sub");
        }
        let replayable_until = match claims.exp {
            Some(exp) => accepted_until.min(exp.saturating_add(LEEWAY_SECS)),
            None => accepted_until,
        };
        Ok(LogoutToken {
            sid,
            sub,
            jti,
            replayable_until: replayable_until.saturating_add(1),
        })
    }
}

/// Checks a logout token's `typ` header (§2.4): when present, `logout+jwt`. A token of
/// another type (an ID token's `JWT`) is still read, and refused by its claims.
pub(crate) fn check_typ(typ: Option<&str>) -> Result<(), Rule> {
    match typ {
        None => Ok(()),
        Some(typ) if super::jws::is_logout_typ(typ) => Ok(()),
        // An ID token's type: its claims (no events, a nonce) refuse it, with a clearer
        // reason.
        Some(typ) if typ.eq_ignore_ascii_case("JWT") => Ok(()),
        Some(_) => Err("typ is not logout+jwt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const NOW: u64 = 1_700_000_000;
    const ISSUER: &str = "https://idp.example";

    fn good() -> Value {
        json!({
            "iss": ISSUER, "aud": "client", "iat": NOW, "exp": NOW + 120, "jti": "j-1",
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}}, "sid": "s-1", "sub": "u-1",
        })
    }

    fn check(value: Value) -> Result<LogoutToken, Rule> {
        Unchecked::read(value.to_string().as_bytes())?.check(&[ISSUER], "client", NOW)
    }

    fn with(changes: &[(&str, Value)]) -> Value {
        let mut value = good();
        for (name, change) in changes {
            match change {
                Value::Null => value.as_object_mut().unwrap().remove(*name),
                other => value
                    .as_object_mut()
                    .unwrap()
                    .insert((*name).into(), other.clone()),
            };
        }
        value
    }

    #[test]
    fn a_valid_token_gives_its_session_user_and_replay_window() {
        let token = check(good()).unwrap();
        assert_eq!(token.sid.as_deref(), Some("s-1"));
        assert_eq!(token.sub.as_deref(), Some("u-1"));
        assert_eq!(token.jti, "j-1");
        assert_eq!(token.replayable_until, NOW + 120 + LEEWAY_SECS + 1);
        assert!(!format!("{token:?}").contains("s-1"));
        // sid alone, sub alone, no exp, several audiences with azp.
        assert!(check(with(&[("sub", Value::Null)])).is_ok());
        assert!(check(with(&[("sid", Value::Null)])).is_ok());
        let no_exp = check(with(&[("exp", Value::Null)])).unwrap();
        assert_eq!(
            no_exp.replayable_until,
            NOW + MAX_AGE_SECS + LEEWAY_SECS + 1
        );
        assert!(check(with(&[
            ("aud", json!(["client", "x"])),
            ("azp", json!("client"))
        ]))
        .is_ok());
    }

    #[test]
    fn each_rule_of_section_2_6_refuses_its_token() {
        let event = json!({BACKCHANNEL_LOGOUT_EVENT: {}});
        let cases: Vec<(Value, Rule)> = vec![
            (
                with(&[("iss", json!("https://evil.example"))]),
                "iss is not the issuer",
            ),
            (
                with(&[("aud", json!("other"))]),
                "aud does not hold the client id",
            ),
            (with(&[("azp", json!("other"))]), "azp is not the client id"),
            (
                with(&[("aud", json!(["client", "x"]))]),
                "several audiences and no azp",
            ),
            (with(&[("iat", json!(NOW + 61))]), "issued in the future"),
            (
                with(&[
                    ("iat", json!(NOW - MAX_AGE_SECS - 61)),
                    ("exp", Value::Null),
                ]),
                "iat too old",
            ),
            (
                with(&[("iat", json!(NOW - 200)), ("exp", json!(NOW - 61))]),
                "expired",
            ),
            (with(&[("jti", Value::Null)]), "no jti"),
            (with(&[("jti", json!(""))]), "no jti"),
            (with(&[("events", Value::Null)]), "no events"),
            (
                with(&[(
                    "events",
                    json!({"http://schemas.openid.net/event/other": {}}),
                )]),
                "events lacks the back-channel logout event",
            ),
            (
                with(&[("events", json!({BACKCHANNEL_LOGOUT_EVENT: "yes"}))]),
                "events lacks the back-channel logout event",
            ),
            (with(&[("nonce", json!("n"))]), "has a nonce (an ID token?)"),
            (
                with(&[("sid", Value::Null), ("sub", Value::Null)]),
                "neither sid nor sub",
            ),
            (with(&[("sid", json!(""))]), "sid or sub empty or too long"),
        ];
        for (value, rule) in cases {
            assert_eq!(check(value.clone()).unwrap_err(), rule, "{value}");
        }
        // Claims of the wrong type, or missing, or not an object.
        for bad in [
            with(&[("iss", Value::Null)]),
            with(&[("iat", json!("now"))]),
            with(&[("events", json!([event]))]),
            with(&[("sid", json!(7))]),
            json!([good()]),
        ] {
            assert!(check(bad.clone()).is_err(), "{bad}");
        }
        // An ID token: typ JWT passes the header check, and its claims refuse it.
        let id_token = json!({"iss": ISSUER, "aud": "client", "iat": NOW, "exp": NOW + 300,
                              "sub": "u-1", "nonce": "n", "sid": "s-1"});
        assert_eq!(check_typ(Some("JWT")), Ok(()));
        assert_eq!(check(id_token).unwrap_err(), "no jti");
    }

    #[test]
    fn the_typ_is_logout_jwt_when_present() {
        assert_eq!(check_typ(None), Ok(()));
        assert_eq!(check_typ(Some("logout+jwt")), Ok(()));
        assert_eq!(check_typ(Some("application/logout+JWT")), Ok(()));
        assert!(check_typ(Some("at+jwt")).is_err());
        assert!(check_typ(Some("secevent+jwt")).is_err());
    }
}
