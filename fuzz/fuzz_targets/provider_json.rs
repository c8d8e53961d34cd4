//! What OpenID Connect providers send the layer: an ID token's JOSE header, and its
//! claims (parsed into fixed types, then checked against issuer, audience, nonce and time).
//! Never a panic; a header is accepted only with an allowed algorithm and none of `jku`,
//! `x5u`, `jwk`, `crit`; claims are accepted only when `serde_json` reads the same `sub`,
//! `iss`, `aud` and `nonce` from them.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

/// The clock of the claims checks.
const NOW: u64 = 1_700_000_000;

/// `bytes` as a JSON value, or `None` when only the content of a member is what
/// `serde_json::Value` refuses (invalid UTF-8, a lone surrogate, a number out of range):
/// `serde_json`, deserializing the layer's fixed structs, skips unknown members checking
/// their syntax only, so such members are accepted when the layer ignores them (reported:
/// RFC 7515 wants the whole header UTF-8 JSON). Any other refusal is a failure.
fn value(bytes: &[u8]) -> Option<serde_json::Value> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(error) => {
            let text = error.to_string();
            let content = std::str::from_utf8(bytes).is_err()
                || ["out of range", "code point", "surrogate", "hex escape"]
                    .iter()
                    .any(|kind| text.contains(kind));
            assert!(content, "accepted, yet not JSON: {text}");
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // A JOSE header (JSON), in a token with made-up claims and signature.
        let token = format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(rest));
        if let Ok((alg, kid)) = fuzzing::id_token_header(&token) {
            assert!(alg == "RS256" || alg == "ES256", "{alg}");
            let Some(header) = value(rest).filter(|h| h.is_object()) else {
                // Not an object: accepted all the same, `serde` reading a struct from an
                // array member by member (reported; see tests/security/jws_headers.rs).
                return;
            };
            for refused in ["jku", "x5u", "jwk", "crit"] {
                assert!(header.get(refused).is_none(), "{refused} accepted");
            }
            assert_eq!(header.get("kid").and_then(|k| k.as_str()), kid.as_deref());
        }
        // The same bytes as a whole compact token: never a panic.
        if let Ok(text) = std::str::from_utf8(rest) {
            let _ = fuzzing::id_token_header(text);
        }
    } else if let Ok(sub) = fuzzing::id_token_claims(rest, NOW) {
        let Some(claims) = value(rest).filter(|c| c.is_object()) else {
            return;
        };
        assert_eq!(claims["sub"], sub.as_str());
        assert_eq!(claims["iss"], "https://idp.example");
        assert_eq!(claims["nonce"], "nonce");
        let aud = &claims["aud"];
        assert!(
            aud == "client"
                || aud
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "client")),
            "{aud}"
        );
    }
});
