//! Back-channel logout input: the form body's `logout_token`, and a logout token's `typ`
//! and claims as checked once its signature verified. Never a panic; a token read from a
//! form is never empty; an accepted token has a `jti`, names a `sid` or a `sub`, and may be
//! replayed only until a time after `now`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

/// A fixed clock, so that a crash replays.
const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the typ; the rest is both the form and the claims.
    let Some((pick, rest)) = data.split_first() else {
        return;
    };
    if let Ok(form) = std::str::from_utf8(rest) {
        if let Ok(token) = fuzzing::logout_form(form) {
            assert!(!token.is_empty(), "{form:?}");
        }
    }
    let typ = match pick % 4 {
        0 => None,
        1 => Some("logout+jwt"),
        2 => Some("JWT"),
        _ => Some("at+jwt"),
    };
    if let Ok((sid, sub, jti, until)) = fuzzing::logout_token_claims(typ, rest, NOW) {
        assert!(!jti.is_empty());
        assert!(sid.is_some() || sub.is_some());
        assert!(until > NOW, "{until}");
        assert_ne!(typ, Some("at+jwt"));
    }
});
