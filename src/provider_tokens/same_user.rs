//! A refreshed ID token must name the login's user (OpenID Connect Core 1.0 §12.2: the same
//! `iss` and `sub` as the ID token of the original authentication), or the refresh is not
//! kept: a token endpoint answering for another user would otherwise have the app act, and
//! end sessions at the provider (`id_token_hint`), as someone else.
//!
//! Both tokens' signatures and claims were verified by their provider when they arrived (the
//! login's at the login; the refreshed one by the refresh), so only their `iss` and `sub` are
//! read here. The tokens cookie keeps a digest of the login's ([`user_of`]), which stays when
//! the ID token itself is dropped to fit the cookie budget.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

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

/// Who an ID token is about, as the tokens cookie keeps it: the first 16 bytes of SHA-256
/// over `iss`, a zero byte and `sub`, in base64url (22 characters); `None` for a token whose
/// claims cannot be read.
pub(super) fn user_of(token: &IdToken) -> Option<String> {
    let subject = subject(token)?;
    let mut digest = Sha256::new();
    digest.update(subject.iss.as_bytes());
    digest.update([0]);
    digest.update(subject.sub.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(digest.finalize().get(..16)?))
}

/// Whether `refreshed` names the user `login` (a [`user_of`] the login's ID token).
pub(super) fn same_user(login: &str, refreshed: &IdToken) -> bool {
    user_of(refreshed).is_some_and(|refreshed| refreshed == login)
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
        let login = user_of(&login).unwrap();
        assert_eq!(login.len(), 22);
        let again = token(json!({"iss": "https://idp.example", "sub": "u1", "iat": 2}));
        assert!(same_user(&login, &again));
        // The zero byte keeps `iss` and `sub` apart.
        let shifted = token(json!({"iss": "https://idp.exampleu", "sub": "1"}));
        assert!(!same_user(&login, &shifted));
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
