//! `return_to` validation. Whatever it keeps must be the input itself, free of controls,
//! and must stay on the app's origin when a browser resolves it (the `url` crate is the
//! WHATWG URL parser browsers implement), also after being percent-decoded once more by an
//! app that decodes its paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Some(kept) = fuzzing::return_to(value) else {
        return;
    };
    assert_eq!(kept, value);
    assert!(!kept.chars().any(char::is_control), "{kept:?}");
    let origin = url::Url::parse("https://app.example/").unwrap();
    let landed = origin
        .join(kept)
        .unwrap_or_else(|e| panic!("{kept:?} kept but not a URL: {e}"));
    assert_eq!(
        landed.origin(),
        origin.origin(),
        "{kept:?} leaves the origin"
    );
    assert!(
        landed.username().is_empty() && landed.password().is_none(),
        "{kept:?}"
    );
});
