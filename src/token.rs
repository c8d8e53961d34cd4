//! The identity token: a JWT (HS256) holding an [`Identity`], signed with the layer's key.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::identity::Identity;
use crate::keys::Keys;

/// `iss` of every identity token.
const ISSUER: &str = "socialauth";
/// `aud` of identity tokens. Flow cookies are not JWTs at all, and any other token this
/// crate may sign gets its own audience, so no token can stand in for another.
const IDENTITY_AUDIENCE: &str = "socialauth:identity";
/// Tokens longer than this are refused before any parsing.
pub(crate) const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 30;

/// The claims of an identity token. Every member has a fixed JSON type: a member of another
/// type makes the whole token invalid, never silently absent.
#[derive(Debug, Serialize, Deserialize)]
struct IdentityClaims {
    iss: String,
    aud: String,
    sub: String,
    provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    iat: u64,
    exp: u64,
}

/// Signs and verifies identity tokens.
#[derive(Debug)]
pub(crate) struct IdentityCodec {
    validation: Validation,
}

impl IdentityCodec {
    pub(crate) fn new() -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[IDENTITY_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Self { validation }
    }

    /// Signs a token for `identity`.
    pub(crate) fn sign(&self, keys: &Keys, identity: &Identity) -> Result<String, AuthError> {
        let claims = IdentityClaims {
            iss: ISSUER.to_owned(),
            aud: IDENTITY_AUDIENCE.to_owned(),
            sub: identity.user_id.clone(),
            provider: identity.provider.clone(),
            name: identity.name.clone(),
            email: identity.email.clone(),
            iat: identity.issued_at,
            exp: identity.expires_at,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &keys.identity_signing,
        )
        .map_err(|_| AuthError::internal("could not sign the identity token"))
    }

    /// Verifies a token: size, signature, algorithm, issuer, audience, `exp`, `nbf`, `iat`
    /// and the claims' types. `None` for anything that is not a valid identity token.
    pub(crate) fn verify(&self, keys: &Keys, token: &str, now: u64) -> Option<Identity> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let data = jsonwebtoken::decode::<IdentityClaims>(
            token,
            &keys.identity_verifying,
            &self.validation,
        )
        .ok()?;
        let claims = data.claims;
        if claims.iat > now.saturating_add(LEEWAY_SECS) || claims.sub.is_empty() {
            return None;
        }
        Some(Identity {
            provider: claims.provider,
            user_id: claims.sub,
            name: claims.name,
            email: claims.email,
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn keys() -> Keys {
        Keys::derive(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn identity(iat: u64, exp: u64) -> Identity {
        Identity {
            provider: "twitter".into(),
            user_id: "12345".into(),
            name: Some("jack".into()),
            email: None,
            issued_at: iat,
            expires_at: exp,
        }
    }

    /// Signs arbitrary claims with the layer's key, as an attacker who knew it could not.
    fn sign_raw(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &keys().identity_signing,
        )
        .unwrap()
    }

    #[test]
    fn a_signed_identity_verifies_back_to_itself() {
        let codec = IdentityCodec::new();
        let who = identity(now(), now() + 60);
        let token = codec.sign(&keys(), &who).unwrap();
        assert_eq!(codec.verify(&keys(), &token, now()), Some(who));
    }

    #[test]
    fn expired_tokens_and_tokens_from_the_future_are_refused() {
        let codec = IdentityCodec::new();
        let expired = codec
            .sign(&keys(), &identity(now() - 600, now() - 300))
            .unwrap();
        assert_eq!(codec.verify(&keys(), &expired, now()), None);
        let future = codec
            .sign(&keys(), &identity(now() + 600, now() + 900))
            .unwrap();
        assert_eq!(codec.verify(&keys(), &future, now()), None);
    }

    #[test]
    fn another_key_or_a_flipped_bit_is_refused() {
        let codec = IdentityCodec::new();
        let token = codec.sign(&keys(), &identity(now(), now() + 60)).unwrap();
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        assert_eq!(codec.verify(&other, &token, now()), None);
        let mut bytes = token.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(codec.verify(&keys(), &flipped, now()), None);
    }

    #[test]
    fn claims_of_the_wrong_type_make_the_token_invalid() {
        let codec = IdentityCodec::new();
        let base = serde_json::json!({
            "iss": ISSUER, "aud": IDENTITY_AUDIENCE, "sub": "1", "provider": "twitter",
            "iat": now(), "exp": now() + 60,
        });
        assert!(codec
            .verify(&keys(), &sign_raw(base.clone()), now())
            .is_some());
        for (member, value) in [
            ("email", serde_json::json!(42)),
            ("name", serde_json::json!(["a"])),
            ("exp", serde_json::json!("9999999999")),
            ("iat", serde_json::json!(1.5)),
            ("aud", serde_json::json!("socialauth:flow")),
            ("iss", serde_json::json!("someone-else")),
            ("sub", serde_json::json!("")),
        ] {
            let mut claims = base.clone();
            claims[member] = value;
            assert_eq!(
                codec.verify(&keys(), &sign_raw(claims), now()),
                None,
                "{member}"
            );
        }
    }

    #[test]
    fn alg_none_and_oversized_tokens_are_refused() {
        let codec = IdentityCodec::new();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": ISSUER, "aud": IDENTITY_AUDIENCE, "sub": "1",
                "provider": "twitter", "iat": now(), "exp": now() + 60})
            .to_string(),
        );
        assert_eq!(
            codec.verify(&keys(), &format!("{header}.{claims}."), now()),
            None
        );
        assert_eq!(codec.verify(&keys(), &"a.".repeat(5000), now()), None);
    }
}
