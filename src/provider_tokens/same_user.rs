//! A refreshed ID token must name the login's user (OpenID Connect Core 1.0 §12.2: the same
//! `iss` and `sub` as the ID token of the original authentication), or the refresh is not
//! kept: a token endpoint answering for another user would otherwise have the app act, and
//! end sessions at the provider (`id_token_hint`), as someone else.
//!
//! Both tokens' signatures and claims were verified by their provider when they arrived (the
//! login's at the login, then sealed in the tokens cookie; the refreshed one by the refresh),
//! so only their `iss` and `sub` are read here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use crate::secret::IdToken;

/// Who an ID token is about.
#[derive(Deserialize, PartialEq, Eq)]
struct Subject {
    iss: String,
    sub: String,
}

/// The `iss` and `sub` of a compact JWS's claims, if it is one.
fn subject(token: &IdToken) -> Option<Subject> {
    let mut parts = token.secret().split('.');
    let (_, claims, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(claims).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Whether `refreshed` names the same issuer and subject as `login` (both readable).
pub(super) fn same_user(login: &IdToken, refreshed: &IdToken) -> bool {
    match (subject(login), subject(refreshed)) {
        (Some(login), Some(refreshed)) => login == refreshed,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> IdToken {
        let b64 = |v: String| URL_SAFE_NO_PAD.encode(v);
        IdToken::new(format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256"}"#.into()),
            b64(claims.to_string())
        ))
    }

    #[test]
    fn only_the_same_issuer_and_subject_is_the_same_user() {
        use serde_json::json;
        let login = token(json!({"iss": "https://idp.example", "sub": "u1", "nonce": "n"}));
        let again = token(json!({"iss": "https://idp.example", "sub": "u1", "iat": 2}));
        assert!(same_user(&login, &again));
        for other in [
            token(json!({"iss": "https://idp.example", "sub": "u2"})),
            token(json!({"iss": "https://other.example", "sub": "u1"})),
            token(json!({"iss": "https://idp.example", "sub": 1})),
            token(json!({"iss": "https://idp.example"})),
            IdToken::new("not a jwt"),
            IdToken::new("a.b.c.d"),
        ] {
            assert!(!same_user(&login, &other));
        }
    }
}
