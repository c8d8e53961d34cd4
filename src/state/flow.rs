//! The flow cookie: what a login needs between "go to the provider" and "the provider came
//! back", encrypted and authenticated (AES-256-GCM, the `cookie` crate's private jar) so the
//! browser that carries it can neither read nor change it.

use serde::{Deserialize, Serialize};

use crate::error::{AuthError, AuthErrorKind};
use crate::secret::FlowSecret;
use crate::state::keys::Keys;

/// One login attempt's state. Serialized with short member names: it travels in a cookie.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FlowState {
    /// The provider the attempt was started with.
    #[serde(rename = "p")]
    pub(crate) provider: String,
    /// Unix time after which the attempt is refused.
    #[serde(rename = "x")]
    pub(crate) expires_at: u64,
    /// What the callback must echo: OAuth 2.0 `state`, or the OAuth 1.0a request token.
    #[serde(rename = "k")]
    pub(crate) key: String,
    /// The PKCE verifier (OAuth 2.0) or the request-token secret (OAuth 1.0a).
    #[serde(rename = "s")]
    pub(crate) secret: FlowSecret,
    /// The OpenID Connect `nonce` the ID token must carry.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    /// Where to send the browser after the login (a validated same-origin path).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub(crate) return_to: Option<String>,
}

impl FlowState {
    /// Encrypts the state for a cookie named `name`. The name is authenticated with the value,
    /// so a sealed value moved to another cookie name (another provider, another attempt) no
    /// longer opens.
    pub(crate) fn seal(&self, keys: &Keys, name: &str) -> Result<String, AuthError> {
        let json = serde_json::to_string(self)
            .map_err(|_| AuthError::internal("could not encode the flow state"))?;
        keys.seal(name, json)
            .ok_or_else(|| AuthError::internal("could not seal the flow state"))
    }

    /// Decrypts and parses a flow cookie's value, with the current key or a previous one
    /// (a login started just before a key rotation still completes); any failure is an
    /// invalid flow cookie.
    pub(crate) fn open(keys: &Keys, name: &str, sealed: &str) -> Result<Self, AuthError> {
        let opened = keys.open(name, sealed).ok_or_else(invalid)?;
        serde_json::from_str(&opened).map_err(|_| invalid())
    }
}

fn invalid() -> AuthError {
    AuthError::new(
        AuthErrorKind::InvalidFlowCookie,
        "the login cookie is not valid for this login; start the login again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::IdentitySecret;

    fn keys() -> Keys {
        Keys::derive(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn state() -> FlowState {
        FlowState {
            provider: "twitter".into(),
            expires_at: 1,
            key: "request-token".into(),
            secret: FlowSecret::new("token-secret"),
            nonce: None,
            return_to: None,
        }
    }

    #[test]
    fn sealed_state_opens_under_its_name_and_hides_the_secret() {
        let sealed = state().seal(&keys(), "flow-a").unwrap();
        assert!(!sealed.contains("token-secret"));
        assert!(!sealed.contains("request-token"));
        let opened = FlowState::open(&keys(), "flow-a", &sealed).unwrap();
        assert_eq!(opened.key, "request-token");
        assert_eq!(opened.secret.secret(), "token-secret");
    }

    #[test]
    fn another_name_another_key_or_a_changed_byte_does_not_open() {
        let sealed = state().seal(&keys(), "flow-a").unwrap();
        let kind = |r: Result<FlowState, AuthError>| r.unwrap_err().kind();
        assert_eq!(
            kind(FlowState::open(&keys(), "flow-b", &sealed)),
            AuthErrorKind::InvalidFlowCookie
        );
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        assert_eq!(
            kind(FlowState::open(&other, "flow-a", &sealed)),
            AuthErrorKind::InvalidFlowCookie
        );
        let mut tampered = sealed.into_bytes();
        tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            kind(FlowState::open(&keys(), "flow-a", &tampered)),
            AuthErrorKind::InvalidFlowCookie
        );
        assert_eq!(
            kind(FlowState::open(&keys(), "flow-a", "")),
            AuthErrorKind::InvalidFlowCookie
        );
    }

    #[test]
    fn a_flow_sealed_before_a_rotation_opens_with_the_key_kept_as_previous() {
        let old_secret = b"0123456789abcdef0123456789abcdef";
        let new_secret = b"fedcba9876543210fedcba9876543210";
        let sealed = state().seal(&keys(), "flow-a").unwrap();
        let rotated =
            Keys::with_previous(new_secret, &[IdentitySecret::new(old_secret.to_vec())]).unwrap();
        assert!(FlowState::open(&rotated, "flow-a", &sealed).is_ok());
        let dropped = Keys::derive(new_secret).unwrap();
        assert!(FlowState::open(&dropped, "flow-a", &sealed).is_err());
        // New flows are sealed with the new key.
        let fresh = state().seal(&rotated, "flow-b").unwrap();
        assert!(FlowState::open(&dropped, "flow-b", &fresh).is_ok());
    }
}
