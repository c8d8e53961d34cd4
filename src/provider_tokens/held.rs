//! Access tokens held in this process's memory, per sign-in, for tokens cookies that keep
//! the refresh token alone ([`TokensKept::RefreshTokenOnly`](super::TokensKept)): the
//! access token of the login (in the process that ran it) or of the last refresh, until it
//! expires, so that most requests do not refresh.
//!
//! Bounded: at most [`MAX_HELD`] sign-ins; past it, expired tokens go first, then the half
//! that expire soonest. A token the provider gave no expiry is held for an hour.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::provider::TokenSet;
use crate::state::session::SessionId;

/// Sign-ins whose access token a process holds at most.
const MAX_HELD: usize = 10_000;

/// How long an access token without an expiry is held, in seconds.
const HOLD_WITHOUT_EXPIRY_SECS: u64 = 60 * 60;

/// The access tokens held, by sign-in.
#[derive(Default)]
pub(crate) struct HeldAccessTokens {
    held: Mutex<HashMap<SessionId, Held>>,
}

struct Held {
    /// The access token, its expiry and scopes: no refresh token, no ID token.
    tokens: TokenSet,
    /// Forgotten from then on (seconds of the layer's clock).
    until: u64,
}

impl HeldAccessTokens {
    /// The access token held for `session`, unless it has expired at `now`.
    pub(crate) fn get(&self, session: SessionId, now: u64) -> Option<TokenSet> {
        let held = self.held.lock().ok()?;
        held.get(&session)
            .filter(|held| now < held.until)
            .map(|held| held.tokens.clone())
    }

    /// Holds the access token of `tokens` for `session`, received at `now`.
    pub(crate) fn put(&self, session: SessionId, tokens: &TokenSet, now: u64) {
        let until = tokens
            .expires_at_secs()
            .unwrap_or_else(|| now.saturating_add(HOLD_WITHOUT_EXPIRY_SECS));
        if until <= now {
            return;
        }
        let Ok(mut held) = self.held.lock() else {
            return;
        };
        if held.len() >= MAX_HELD && !held.contains_key(&session) {
            held.retain(|_, held| now < held.until);
        }
        if held.len() >= MAX_HELD && !held.contains_key(&session) {
            let mut ends: Vec<u64> = held.values().map(|held| held.until).collect();
            let middle = ends.len() / 2;
            let (_, median, _) = ends.select_nth_unstable(middle);
            let median = *median;
            held.retain(|_, held| held.until > median);
        }
        held.insert(
            session,
            Held {
                tokens: tokens.access_only(),
                until,
            },
        );
    }

    /// Forgets `session`'s access token (its sign-out).
    pub(crate) fn forget(&self, session: SessionId) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&session);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().map(|held| held.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(expires_in: Option<u64>, now: u64) -> TokenSet {
        let expires_at = expires_in.map(|lifetime| now + lifetime);
        TokenSet::for_tests("at", Some("rt"), expires_at, Some("a.b.c"))
    }

    #[test]
    fn a_token_is_held_until_it_expires_without_its_refresh_or_id_token() {
        let held = HeldAccessTokens::default();
        let session = SessionId::from_u128(1);
        held.put(session, &tokens(Some(300), 1000), 1000);
        let got = held.get(session, 1299).unwrap();
        assert_eq!(got.access_token().secret(), "at");
        assert!(got.refresh_token().is_none() && got.id_token().is_none());
        assert!(held.get(session, 1300).is_none());
        assert!(held.get(SessionId::from_u128(2), 1000).is_none());
        held.forget(session);
        assert!(held.get(session, 1000).is_none());
        held.put(session, &tokens(None, 1000), 1000);
        assert!(held.get(session, 1000 + 3599).is_some());
        assert!(held.get(session, 1000 + 3600).is_none());
    }

    #[test]
    fn the_number_held_is_bounded() {
        let held = HeldAccessTokens::default();
        for i in 0..(MAX_HELD as u64 + 10) {
            held.put(SessionId::from_u128(i.into()), &tokens(Some(300 + i), 0), 0);
        }
        assert!(held.len() <= MAX_HELD, "{}", held.len());
        let last = SessionId::from_u128(MAX_HELD as u128 + 9);
        assert!(held.get(last, 0).is_some(), "the newest is held");
    }
}
