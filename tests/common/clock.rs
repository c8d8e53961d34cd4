//! The one clock of the tests: what the layer, the fakes and forged tokens call "now" (the
//! crate's own system clock).

/// Seconds since the Unix epoch, as JWT claims and OAuth 1.0a timestamps count them.
pub fn now() -> u64 {
    socialauth::Clock::system().now()
}
