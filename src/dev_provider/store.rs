//! What the dev provider remembers between requests: pending sign-ins (the page's tickets),
//! authorization codes and access tokens, each with an expiry, in bounded maps.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// How long the sign-in page may stay open.
pub(super) const TICKET_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long an authorization code may wait for the token request.
pub(super) const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long an access token (and the ID token) is valid.
pub(super) const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The most entries of each kind kept at once.
const MAX_ENTRIES: usize = 10_000;

/// A checked authorization request, waiting for the user or for the token request.
#[derive(Debug, Clone)]
pub(super) struct Authorization {
    pub(super) redirect_uri: String,
    pub(super) state: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: String,
    pub(super) scope: String,
}

/// The signed-in user.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) sub: String,
    pub(super) name: String,
    pub(super) email: String,
}

impl User {
    /// A user whose `sub` is derived from the email (case-insensitively), so the same email
    /// is the same user at every start.
    pub(super) fn new(name: String, email: String) -> Self {
        let digest = Sha256::digest(format!("socialauth-dev:{}", email.to_lowercase()));
        let sub = format!("dev-{}", URL_SAFE_NO_PAD.encode(&digest[..15]));
        User { sub, name, email }
    }
}

/// An authorization code: for whom, issued against which request.
#[derive(Debug)]
pub(super) struct IssuedCode {
    pub(super) authorization: Authorization,
    pub(super) user: User,
    /// Set when the code is redeemed; a second use revokes this token (RFC 6749 §4.1.2).
    pub(super) redeemed: Option<String>,
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    expires: Instant,
}

/// The store is full: too many sign-ins at once.
#[derive(Debug)]
pub(super) struct Full;

#[derive(Debug)]
struct Map<T> {
    entries: HashMap<String, Entry<T>>,
    lifetime: Duration,
}

impl<T> Map<T> {
    fn new(lifetime: Duration) -> Self {
        Map {
            entries: HashMap::new(),
            lifetime,
        }
    }

    fn insert(&mut self, key: String, value: T) -> Result<(), Full> {
        let now = Instant::now();
        self.entries.retain(|_, entry| entry.expires > now);
        if self.entries.len() >= MAX_ENTRIES {
            return Err(Full);
        }
        let expires = now + self.lifetime;
        self.entries.insert(key, Entry { value, expires });
        Ok(())
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut T> {
        let now = Instant::now();
        self.entries
            .get_mut(key)
            .filter(|entry| entry.expires > now)
            .map(|entry| &mut entry.value)
    }

    /// Removes every entry whose value `remove` picks.
    fn remove_where(&mut self, remove: impl Fn(&T) -> bool) {
        self.entries.retain(|_, entry| !remove(&entry.value));
    }

    fn remove(&mut self, key: &str) -> Option<T> {
        let now = Instant::now();
        self.entries
            .remove(key)
            .filter(|entry| entry.expires > now)
            .map(|entry| entry.value)
    }
}

/// Every pending sign-in, code and access token.
#[derive(Debug)]
pub(super) struct Store {
    tickets: Map<Authorization>,
    codes: Map<IssuedCode>,
    tokens: Map<User>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            tickets: Map::new(TICKET_LIFETIME),
            codes: Map::new(CODE_LIFETIME),
            tokens: Map::new(TOKEN_LIFETIME),
        }
    }
}

impl Store {
    pub(super) fn add_ticket(&mut self, ticket: String, auth: Authorization) -> Result<(), Full> {
        self.tickets.insert(ticket, auth)
    }

    /// The pending sign-in, left in place (the page may be shown again with an error).
    pub(super) fn ticket(&mut self, ticket: &str) -> Option<Authorization> {
        self.tickets.get_mut(ticket).map(|auth| auth.clone())
    }

    pub(super) fn take_ticket(&mut self, ticket: &str) -> Option<Authorization> {
        self.tickets.remove(ticket)
    }

    pub(super) fn add_code(&mut self, code: String, grant: IssuedCode) -> Result<(), Full> {
        self.codes.insert(code, grant)
    }

    /// The code's grant, unexpired, whether redeemed already or not.
    pub(super) fn code(&mut self, code: &str) -> Option<&mut IssuedCode> {
        self.codes.get_mut(code)
    }

    pub(super) fn add_token(&mut self, token: String, user: User) -> Result<(), Full> {
        self.tokens.insert(token, user)
    }

    pub(super) fn token(&mut self, token: &str) -> Option<User> {
        self.tokens.get_mut(token).map(|user| user.clone())
    }

    pub(super) fn revoke_token(&mut self, token: &str) {
        self.tokens.remove(token);
    }

    /// Revokes every access token of the user `sub`: how a logout ends what the dev
    /// provider issued.
    pub(super) fn revoke_user(&mut self, sub: &str) {
        self.tokens.remove_where(|user| user.sub == sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_is_stable_per_email_and_ignores_case() {
        let a = User::new("A".into(), "ada@example.com".into());
        let b = User::new("B".into(), "ADA@example.com".into());
        let c = User::new("A".into(), "bob@example.com".into());
        assert_eq!(a.sub, b.sub);
        assert_ne!(a.sub, c.sub);
        assert!(a.sub.starts_with("dev-") && a.sub.len() == 24, "{}", a.sub);
    }

    #[test]
    fn expired_entries_are_gone_and_maps_are_bounded() {
        let mut map = Map::new(Duration::ZERO);
        map.insert("a".into(), 1).unwrap();
        assert!(map.get_mut("a").is_none());
        assert!(map.remove("a").is_none());

        let mut map = Map::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES {
            map.insert(i.to_string(), i).unwrap();
        }
        assert!(map.insert("one more".into(), 0).is_err());
        assert_eq!(map.remove("7"), Some(7));
        assert!(map.insert("one more".into(), 0).is_ok());
    }
}
