//! One refresh per sign-in at a time in this process: concurrent requests holding the same
//! expired tokens wait for the one refresh and share its result, and requests that still
//! carry the old cookie shortly after (sent before the browser got the new one) reuse the
//! result instead of spending the refresh token again, which a provider that rotates refresh
//! tokens would refuse.
//!
//! Past that minute, a refresh token the provider rotated away is known to be spent, as is
//! one the provider refused: a request still carrying it (a stale or copied cookie) is
//! answered [`ProviderTokensError::Expired`] without sending it again. Providers that detect the reuse
//! of a rotated refresh token revoke every token of the grant (RFC 9700 §4.14.2), which
//! would sign the user's current cookie out of the provider too.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::ProviderTokensError;
use crate::provider::TokenSet;
use crate::secret::RefreshToken;
use crate::state::session::SessionId;

/// How long a refresh's result answers for the refresh token it spent, in seconds.
const REUSE_FOR_SECS: u64 = 60;
/// Refreshes remembered at most; past it, spent refresh tokens and refreshes older than a
/// minute are forgotten first.
const MAX_REMEMBERED: usize = 10_000;

type Outcome = Result<TokenSet, ProviderTokensError>;

/// The refreshes under way or just done, by sign-in and the refresh token they spend.
#[derive(Default)]
pub(crate) struct Refreshes {
    hasher: RandomState,
    flights: Mutex<HashMap<u64, Flight>>,
}

enum Flight {
    /// A refresh under way, or done: its outcome answers for a minute after `started`
    /// (seconds of the layer's clock).
    Live {
        outcome: Arc<OnceCell<Outcome>>,
        started: u64,
    },
    /// The refresh token was traded for another: sending it again can only be refused.
    Spent,
}

/// What to do for a refresh token.
enum Turn {
    /// Join (or run) this refresh.
    Join(Arc<OnceCell<Outcome>>),
    /// The refresh token is spent.
    Spent,
}

impl Refreshes {
    /// The outcome of the refresh of `session`'s `refresh_token` at `now` (seconds of the
    /// layer's clock): `refresh` runs once for all callers that ask while it runs, or within
    /// a minute after it succeeded; a refresh token that a successful refresh rotated away
    /// (after that minute) or that the provider refused is [`ProviderTokensError::Expired`]
    /// without running `refresh`.
    pub(crate) async fn run<F>(
        &self,
        session: SessionId,
        refresh_token: &RefreshToken,
        now: u64,
        refresh: impl FnOnce() -> F,
    ) -> Outcome
    where
        F: std::future::Future<Output = Outcome>,
    {
        let key = self
            .hasher
            .hash_one((session.as_u128(), refresh_token.secret()));
        let outcome = match self.flight(key, refresh_token, now) {
            Turn::Join(outcome) => outcome,
            Turn::Spent => {
                tracing::warn!(
                    "a provider tokens cookie from before a refresh came back after the refresh \
                     token was rotated; it is not sent again"
                );
                return Err(ProviderTokensError::Expired);
            }
        };
        let result = outcome.get_or_init(refresh).await.clone();
        if let Err(error) = &result {
            // A refusal spends the refresh token for good; another failure is forgotten, so
            // the next request may try again.
            if let Ok(mut flights) = self.flights.lock() {
                let ours = matches!(flights.get(&key),
                    Some(Flight::Live { outcome: kept, .. }) if Arc::ptr_eq(kept, &outcome));
                if ours && *error == ProviderTokensError::Expired {
                    flights.insert(key, Flight::Spent);
                } else if ours {
                    flights.remove(&key);
                }
            }
        }
        result
    }

    fn flight(&self, key: u64, refresh_token: &RefreshToken, now: u64) -> Turn {
        let alone = || Turn::Join(Arc::new(OnceCell::new()));
        let Ok(mut flights) = self.flights.lock() else {
            // Poisoned: refresh alone rather than not at all.
            return alone();
        };
        if flights.len() >= MAX_REMEMBERED {
            flights.retain(|_, flight| {
                matches!(flight, Flight::Live { started, .. }
                    if now < started.saturating_add(REUSE_FOR_SECS))
            });
        }
        if flights.len() >= MAX_REMEMBERED && !flights.contains_key(&key) {
            return alone();
        }
        let flight = flights.entry(key).or_insert_with(|| Flight::Live {
            outcome: Arc::new(OnceCell::new()),
            started: now,
        });
        let Flight::Live { outcome, started } = flight else {
            return Turn::Spent;
        };
        if now < started.saturating_add(REUSE_FOR_SECS) || !outcome.initialized() {
            return Turn::Join(outcome.clone());
        }
        let rotated = match outcome.get() {
            Some(Ok(tokens)) => tokens.refresh_token() != Some(refresh_token),
            _ => false,
        };
        *flight = if rotated {
            Flight::Spent
        } else {
            Flight::Live {
                outcome: Arc::new(OnceCell::new()),
                started: now,
            }
        };
        match flight {
            Flight::Live { outcome, .. } => Turn::Join(outcome.clone()),
            Flight::Spent => Turn::Spent,
        }
    }
}
