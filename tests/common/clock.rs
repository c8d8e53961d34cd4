//! The one clock of the tests: what the layer, the fakes and forged tokens call "now".

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as JWT claims and OAuth 1.0a timestamps count them.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}
