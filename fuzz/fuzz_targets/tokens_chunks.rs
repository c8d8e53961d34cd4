//! The provider tokens cookies a browser sends back: any `Cookie` headers (one per input
//! line), read as the layer reads the numbered chunks of the tokens cookie; and values cut
//! into chunks as the layer writes them, read back.
//!
//! No panic; what is read is visible ASCII, non-empty and within the reader's cap; a value
//! cut into cookies, each within 4,096 bytes with its attributes, and sent back among other
//! cookies, reads back whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socialauth::fuzzing::{split_tokens, tokens_chunks, MAX_TOKENS_CHUNKED_LEN};

/// The standard base64 alphabet, which sealed values are written in.
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

fuzz_target!(|data: &[u8]| {
    let headers: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if let Some(value) = tokens_chunks(&headers) {
        assert!(!value.is_empty() && value.len() <= MAX_TOKENS_CHUNKED_LEN);
        assert!(value.bytes().all(|b| (b'!'..=b'~').contains(&b)), "{value:?}");
    }

    // A sealed value of the input's length times 1 to 16 (the first byte says), in base64:
    // long enough for several chunks.
    let Some((&times, rest)) = data.split_first() else {
        return;
    };
    let value: String = rest
        .iter()
        .cycle()
        .take(rest.len() * (usize::from(times % 16) + 1))
        .map(|b| char::from(BASE64[usize::from(*b) % BASE64.len()]))
        .collect();
    let attributes = usize::from(times) % 128;
    let Some(parts) = split_tokens(&value, attributes) else {
        assert!(value.is_empty() || value.len() > 4096 - attributes - 27);
        return;
    };
    for (name, part) in &parts {
        assert!(name.len() + 1 + part.len() + attributes <= 4096, "{name}");
    }
    let pairs: Vec<String> = parts.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let header = format!("_ga=GA1.1.1; {}; theme=dark", pairs.join("; "));
    let read = tokens_chunks(&[header.as_bytes()]);
    if value.is_empty() {
        assert_eq!(read, None);
    } else {
        assert_eq!(read.as_deref(), Some(value.as_str()));
    }
});
