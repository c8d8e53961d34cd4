//! OAuth 1.0a provider answers (`request_token`, `access_token`) read as forms: never a
//! panic, and a body that is accepted round-trips through form encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some(pairs) = fuzzing::oauth1_form(data) else {
        return;
    };
    assert!(!data.is_empty());
    let text = std::str::from_utf8(data).expect("accepted bodies are UTF-8");
    assert!(!text.contains(['<', '{', ' ', '\n']), "{text:?}");
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let again = fuzzing::oauth1_form(encoded.as_bytes()).unwrap_or_default();
    if !encoded.is_empty() {
        assert_eq!(again, pairs, "{text:?}");
    }
});
