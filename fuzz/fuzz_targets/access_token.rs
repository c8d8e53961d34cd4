//! What API clients send as `Authorization: Bearer` and the layer reads before and while
//! checking a provider's JWT access token: the token's shape and the issuer it claims (to
//! choose whose keys verify it), and its claims (checked against issuer, audience, type and
//! time). Never a panic; a token with a claimed issuer has the shape of a JWS; accepted
//! claims say what `serde_json` reads in them, and never carry an ID token's or a logout
//! token's marks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

/// The clock of the claims checks.
const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // A bearer token as sent.
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        let (jws, issuer) = fuzzing::bearer_token_shape(token);
        assert!(issuer.is_none() || jws, "an issuer read from a non-JWS");
        return;
    }
    // Claims, under the header `typ` the mode picks.
    let typ = match mode >> 1 & 3 {
        0 => None,
        1 => Some("at+jwt"),
        2 => Some("JWT"),
        _ => Some("application/at+jwt"),
    };
    let Ok(facts) = fuzzing::access_token_claims(rest, typ, NOW) else {
        return;
    };
    let claims: serde_json::Value = match serde_json::from_slice(rest) {
        Ok(claims) => claims,
        // Members the layer ignores are checked for syntax only (see the README).
        Err(_) => return,
    };
    assert_eq!(claims["iss"], "https://idp.example");
    assert_eq!(claims["sub"], facts.subject.as_str());
    let aud = &claims["aud"];
    assert!(
        aud == "https://api.example"
            || aud
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "https://api.example")),
        "{aud}"
    );
    for mark in ["nonce", "at_hash", "c_hash", "s_hash", "events", "cnf"] {
        assert!(claims.get(mark).is_none(), "{mark} accepted");
    }
    let exp = claims["exp"].as_f64().expect("a number");
    assert!(exp + 60.0 >= NOW as f64, "expired accepted: {exp}");
});
