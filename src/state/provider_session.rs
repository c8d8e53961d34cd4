//! [`ProviderSessionKey`]: what an identity remembers of the provider's session (OpenID
//! Connect's `sid`), so that a back-channel logout token naming that session finds it.
//!
//! The provider's `sid` is never kept as sent: an identity token is signed, not encrypted,
//! and a `sid` is what a logout token (or a front-channel logout) names a session by. The
//! identity keeps a keyed hash of it instead, HMAC-SHA256 under the layer's signing key of
//! the provider's name and the `sid`, cut to 128 bits: every replica (they share the secret)
//! computes the same key from a logout token, and nobody without the secret can go from one
//! to the other.

use std::fmt;
use std::str::FromStr;

use hmac::Mac;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::state::keys::KeySlot;
use crate::state::session::{InvalidSessionId, SessionId};

/// Keeps this hash apart from every other use of the signing key: a JWT's signing input is
/// base64url text, which never holds a NUL byte.
const DOMAIN: &[u8] = b"socialauth provider session\0";

/// The keyed hash of one session at a provider (the provider's name and its `sid`), as
/// identity tokens (`psid`) and revocation facts ([`Fact::ProviderSession`]) hold it: 22
/// base64url characters. Not the provider's `sid`, and no way back to it without the layer's
/// secret.
///
/// [`Fact::ProviderSession`]: crate::revocation::Fact::ProviderSession
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderSessionKey(u128);

impl ProviderSessionKey {
    /// The key of the session `sid` at the provider named `provider`, under `key`.
    pub(crate) fn of(key: &KeySlot, provider: &str, sid: &str) -> Self {
        let mut mac = key.mac.clone();
        mac.update(DOMAIN);
        // The provider's name with its length first, so that name and `sid` cannot trade
        // bytes.
        mac.update(&(provider.len() as u64).to_be_bytes());
        mac.update(provider.as_bytes());
        mac.update(sid.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 16];
        first.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
        Self(u128::from_be_bytes(first))
    }

    /// The key as a number (its 16 bytes, big-endian).
    pub(crate) fn as_u128(self) -> u128 {
        self.0
    }

    /// The key whose number is `n`.
    pub(crate) fn from_u128(n: u128) -> Self {
        Self(n)
    }
}

impl fmt::Display for ProviderSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The same spelling as a session id: 16 bytes, base64url.
        fmt::Display::fmt(&SessionId::from_u128(self.0), f)
    }
}

impl fmt::Debug for ProviderSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderSessionKey({self})")
    }
}

impl FromStr for ProviderSessionKey {
    type Err = InvalidSessionId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<SessionId>().map(|id| Self(id.as_u128()))
    }
}

impl Serialize for ProviderSessionKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProviderSessionKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SessionId::deserialize(deserializer).map(|id| Self(id.as_u128()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::keys::Keys;

    #[test]
    fn the_key_depends_on_the_secret_the_provider_and_the_sid() {
        let keys = Keys::derive(b"0123456789abcdef0123456789abcdef").unwrap();
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        let key = ProviderSessionKey::of(keys.current(), "oidc", "sid-1");
        assert_eq!(key, ProviderSessionKey::of(keys.current(), "oidc", "sid-1"));
        assert_ne!(key, ProviderSessionKey::of(keys.current(), "oidc", "sid-2"));
        assert_ne!(key, ProviderSessionKey::of(keys.current(), "okta", "sid-1"));
        assert_ne!(
            key,
            ProviderSessionKey::of(other.current(), "oidc", "sid-1")
        );
        // The provider and the sid cannot trade bytes.
        assert_ne!(
            ProviderSessionKey::of(keys.current(), "a", "b\0c"),
            ProviderSessionKey::of(keys.current(), "a\0b", "c")
        );
        let text = key.to_string();
        assert_eq!(text.len(), 22);
        assert!(!text.contains("sid"));
        assert_eq!(text.parse::<ProviderSessionKey>().unwrap(), key);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(
            serde_json::from_str::<ProviderSessionKey>(&json).unwrap(),
            key
        );
    }
}
