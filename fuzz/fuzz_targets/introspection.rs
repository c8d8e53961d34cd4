//! What a provider's introspection endpoint answers (RFC 7662 §2.2), as the layer reads it
//! for a token an API client sent. Never a panic; a token is taken only from an answer that
//! is a JSON object saying `"active": true`, for this API (`aud`), unexpired (`exp`), of
//! this issuer when it names one, with the subject and scopes `serde_json` reads in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

/// The clock of the checks.
const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(facts) = fuzzing::introspection_answer(data, NOW) else {
        return;
    };
    let answer: serde_json::Value = match serde_json::from_slice(data) {
        Ok(answer) => answer,
        Err(_) => return,
    };
    assert_eq!(answer["active"], true);
    let aud = &answer["aud"];
    assert!(
        aud == "https://api.example"
            || aud
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "https://api.example")),
        "{aud}"
    );
    assert!(answer.get("iss").is_none_or(|iss| iss == "https://idp.example"));
    let exp = answer["exp"].as_f64().expect("exp is required");
    assert!(exp + 60.0 >= NOW as f64, "expired accepted: {exp}");
    let subject = answer
        .get("sub")
        .and_then(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .or_else(|| answer["client_id"].as_str());
    assert_eq!(subject, Some(facts.subject.as_str()));
    assert!(answer.get("cnf").is_none(), "a bound token accepted");
    if let Some(scope) = answer.get("scope").and_then(|s| s.as_str()) {
        let read: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        assert_eq!(facts.scopes, read);
    }
});
