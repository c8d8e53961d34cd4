//! [`Fact`]: one revocation, and the line of text it is stored and sent as.

use crate::state::provider_session::ProviderSessionKey;
use crate::state::session::SessionId;

/// One revocation, as stores keep it and replicas pass it on.
///
/// Each fact carries its expiry: past it, no token the fact revokes can still be valid (they
/// all expire within the identity lifetime of the revocation), so stores drop it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fact {
    /// Every token of this session is revoked.
    Session {
        /// The session.
        id: SessionId,
        /// When the fact may be forgotten (Unix seconds).
        expires_at: u64,
    },
    /// Every session of this user that began at or before `before_ms` is revoked ("sign out
    /// everywhere", an account disabled).
    User {
        /// The provider's name, as configured.
        provider: String,
        /// The user's id at the provider.
        user_id: String,
        /// Sessions begun at or before this time (Unix milliseconds) are revoked.
        before_ms: u64,
        /// When the fact may be forgotten (Unix seconds).
        expires_at: u64,
    },
    /// Every session that began in this session at the provider is revoked: an OpenID
    /// Connect back-channel logout token named it by its `sid`.
    ProviderSession {
        /// The keyed hash of the provider's name and its `sid`.
        key: ProviderSessionKey,
        /// When the fact may be forgotten (Unix seconds).
        expires_at: u64,
    },
}

unit_error!(
    /// A line that is not a [`Fact`].
    InvalidFact,
    "not a revocation fact"
);

impl Fact {
    /// When the fact may be forgotten (Unix seconds).
    pub fn expires_at(&self) -> u64 {
        match self {
            Self::Session { expires_at, .. }
            | Self::User { expires_at, .. }
            | Self::ProviderSession { expires_at, .. } => *expires_at,
        }
    }

    /// The fact as one line of text, for a store: `s <session id> <expires_at>`,
    /// `u <before_ms> <expires_at> <provider> <user id>` (the user id last, as it may hold
    /// spaces; provider names never do), or `p <provider session key> <expires_at>`.
    ///
    /// A release that does not know a kind reads its line as malformed: a store skips it
    /// with a warning, and the replica does not apply it.
    pub fn to_line(&self) -> String {
        match self {
            Self::Session { id, expires_at } => format!("s {id} {expires_at}"),
            Self::User {
                provider,
                user_id,
                before_ms,
                expires_at,
            } => format!("u {before_ms} {expires_at} {provider} {user_id}"),
            Self::ProviderSession { key, expires_at } => format!("p {key} {expires_at}"),
        }
    }

    /// The fact a line of [`to_line`](Self::to_line) describes.
    pub fn from_line(line: &str) -> Result<Self, InvalidFact> {
        let number = |text: Option<&str>| text.and_then(|t| t.parse::<u64>().ok());
        let mut parts = line.splitn(5, ' ');
        match parts.next() {
            Some("s") => {
                let id = parts
                    .next()
                    .and_then(|id| id.parse().ok())
                    .ok_or(InvalidFact)?;
                let expires_at = number(parts.next()).ok_or(InvalidFact)?;
                if parts.next().is_some() {
                    return Err(InvalidFact);
                }
                Ok(Self::Session { id, expires_at })
            }
            Some("p") => {
                let key = parts
                    .next()
                    .and_then(|key| key.parse().ok())
                    .ok_or(InvalidFact)?;
                let expires_at = number(parts.next()).ok_or(InvalidFact)?;
                if parts.next().is_some() {
                    return Err(InvalidFact);
                }
                Ok(Self::ProviderSession { key, expires_at })
            }
            Some("u") => {
                let before_ms = number(parts.next()).ok_or(InvalidFact)?;
                let expires_at = number(parts.next()).ok_or(InvalidFact)?;
                let provider = parts.next().filter(|p| !p.is_empty()).ok_or(InvalidFact)?;
                let user_id = parts.next().filter(|u| !u.is_empty()).ok_or(InvalidFact)?;
                Ok(Self::User {
                    provider: provider.to_owned(),
                    user_id: user_id.to_owned(),
                    before_ms,
                    expires_at,
                })
            }
            _ => Err(InvalidFact),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_their_line() {
        let session = Fact::Session {
            id: "AAECAwQFBgcICQoLDA0ODw".parse().unwrap(),
            expires_at: 1_800_000_000,
        };
        assert_eq!(session.to_line(), "s AAECAwQFBgcICQoLDA0ODw 1800000000");
        let user = Fact::User {
            provider: "github".into(),
            user_id: "id with spaces".into(),
            before_ms: 1_700_000_000_123,
            expires_at: 1_800_000_000,
        };
        assert_eq!(
            user.to_line(),
            "u 1700000000123 1800000000 github id with spaces"
        );
        let provider_session = Fact::ProviderSession {
            key: "AAECAwQFBgcICQoLDA0ODw".parse().unwrap(),
            expires_at: 1_800_000_000,
        };
        assert_eq!(
            provider_session.to_line(),
            "p AAECAwQFBgcICQoLDA0ODw 1800000000"
        );
        for fact in [session, user, provider_session] {
            assert_eq!(Fact::from_line(&fact.to_line()), Ok(fact));
        }
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "x 1 2",
            "s AAECAwQFBgcICQoLDA0ODw",
            "s AAECAwQFBgcICQoLDA0ODw 12 extra",
            "s short 12",
            "s AAECAwQFBgcICQoLDA0ODw -1",
            "u 1 2 github",
            "u 1 2 github ",
            "u one 2 github 7",
            "u 1 2  7",
            "p AAECAwQFBgcICQoLDA0ODw",
            "p AAECAwQFBgcICQoLDA0ODw 12 extra",
            "p short 12",
        ] {
            assert_eq!(Fact::from_line(bad), Err(InvalidFact), "{bad:?}");
        }
    }
}
