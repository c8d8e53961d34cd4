//! Per-customer sign-in's outside input: the tenant key of `/auth/sso/<tenant>` and the
//! email address or domain of `/auth/sso?login=start&email=...`. A key kept is the input
//! itself, route-safe; a domain kept is lowercase ASCII labels joined by dots, the input's
//! own part after its last `@`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(key) = fuzzing::tenant_key(value) {
        assert_eq!(key, value);
        assert!((1..=63).contains(&key.len()));
        assert!(key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
    }
    if let Some(domain) = fuzzing::email_domain(value) {
        let tail = value.rsplit_once('@').map_or(value, |(_, tail)| tail);
        assert_eq!(domain, tail.to_ascii_lowercase());
        assert!(domain.len() <= 253 && domain.contains('.'));
        assert!(domain.split('.').all(|label| !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')));
    }
});
