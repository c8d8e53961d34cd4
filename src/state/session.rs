//! A login session: the id every identity token of one sign-in shares, and when it began.
//!
//! Sliding renewal and `/auth/token` issue new tokens for the same session: they keep its id
//! and its start, so revoking the session (or every session a user began before some time)
//! reaches every token it ever had.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::AuthError;

/// Length of a session id as written: 16 bytes in unpadded base64url.
const ENCODED_LEN: usize = 22;

/// The id of one sign-in (128 random bits), written in its identity tokens as `sid`, as 22
/// base64url characters.
///
/// Read it with [`Identity::session_id`](crate::Identity::session_id), keep it (say, in a
/// "your devices" page), and end that session with
/// [`Revocations::revoke_session`](crate::revocation::Revocations::revoke_session). It is not
/// a credential: knowing it signs nobody in.
///
/// ```
/// use socialauth::SessionId;
/// let id: SessionId = "AAECAwQFBgcICQoLDA0ODw".parse().unwrap();
/// assert_eq!(id.to_string(), "AAECAwQFBgcICQoLDA0ODw");
/// assert!("not-a-session-id".parse::<SessionId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u128);

impl SessionId {
    /// A new random id.
    pub(crate) fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|_| AuthError::internal("the system's random number generator failed"))?;
        Ok(Self(u128::from_be_bytes(bytes)))
    }

    /// The id as a number (its 16 bytes, big-endian).
    pub(crate) fn as_u128(self) -> u128 {
        self.0
    }

    /// The id whose number is `n`.
    pub(crate) fn from_u128(n: u128) -> Self {
        Self(n)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 24];
        let len = URL_SAFE_NO_PAD
            .encode_slice(self.0.to_be_bytes(), &mut text)
            .map_err(|_| fmt::Error)?;
        let text = text.get(..len).ok_or(fmt::Error)?;
        f.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

unit_error!(
    /// A string that is not a session id (22 base64url characters).
    InvalidSessionId,
    "a session id is 22 base64url characters"
);

impl FromStr for SessionId {
    type Err = InvalidSessionId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != ENCODED_LEN {
            return Err(InvalidSessionId);
        }
        // One spelling per id: the decoder refuses a last character whose unused bits are
        // not zero.
        let mut bytes = [0u8; 18];
        let len = URL_SAFE_NO_PAD
            .decode_slice(text, &mut bytes)
            .map_err(|_| InvalidSessionId)?;
        let exact: [u8; 16] = bytes
            .get(..len)
            .and_then(|b| b.try_into().ok())
            .ok_or(InvalidSessionId)?;
        Ok(Self(u128::from_be_bytes(exact)))
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = SessionId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session id")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SessionId, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// The session an identity belongs to: its id, and when the sign-in happened (Unix
/// milliseconds), which renewal keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) started_ms: u64,
}

impl Session {
    /// When a session that lasts `lifetime` from its sign-in ends (Unix seconds): no token
    /// of it is valid after, however often it was renewed.
    pub(crate) fn ends_at(self, lifetime: std::time::Duration) -> u64 {
        (self.started_ms / 1000).saturating_add(lifetime.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_round_trip_through_text_and_json() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), ENCODED_LEN);
        assert_eq!(text.parse::<SessionId>().unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), a);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "AAECAwQFBgcICQoLDA0OD",
            "AAECAwQFBgcICQoLDA0ODwA",
            "AAECAwQFBgcICQoLDA0OD+",
            // Same bytes, but nonzero unused bits in the last character.
            "AAECAwQFBgcICQoLDA0ODx",
        ] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<SessionId>("12").is_err());
    }
}
