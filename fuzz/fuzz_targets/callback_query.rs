//! Callback query parsing and how each protocol reads the attempt's key from it. Never a
//! panic; a key to continue with is never empty and is the parameter it came from; a query
//! with a repeated parameter is refused by all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing::{self, CallbackOutcome};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let (outcomes, values) = fuzzing::callback(query);
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    };
    let names = ["OAuth 2.0", "OpenID Connect", "OAuth 1.0a"];
    for (outcome, protocol) in outcomes.iter().zip(names) {
        match outcome {
            CallbackOutcome::Continue(key) => {
                assert!(!key.is_empty(), "{protocol}: empty key from {query:?}");
                let from = if protocol == "OAuth 1.0a" {
                    "oauth_token"
                } else {
                    "state"
                };
                assert_eq!(Some(key.clone()), value(from), "{protocol}: {query:?}");
                if protocol != "OAuth 1.0a" {
                    assert!(
                        value("error").is_none(),
                        "{protocol}: error ignored in {query:?}"
                    );
                }
            }
            CallbackOutcome::Cancelled { key: Some(key), .. } => {
                assert!(!key.is_empty(), "{protocol}: {query:?}");
            }
            _ => {}
        }
    }
    // RFC 9207: an OpenID Connect callback naming another issuer never continues.
    if value("iss").is_some_and(|iss| iss != "https://idp.example") {
        assert_eq!(outcomes[1], CallbackOutcome::Refused, "{query:?}");
    }
});
