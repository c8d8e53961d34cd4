//! `return_to`: where the browser goes after a login, accepted only as a same-origin path.

/// Longest `return_to` accepted, in bytes.
pub(crate) const MAX_RETURN_TO_LEN: usize = 2048;

/// Accepts `value` only when it is a path on this site: it starts with a single `/`, holds
/// only visible ASCII (no spaces, tabs, CR/LF, backslashes), and neither it nor its
/// percent-decoded form starts with `//` or `/\` (which browsers read as another host).
/// Everything else (absolute URLs, `javascript:`, scheme-relative and encoded tricks) is `None`,
/// and the caller falls back to its default.
pub(crate) fn validate(value: &str) -> Option<&str> {
    if value.is_empty() || value.len() > MAX_RETURN_TO_LEN || !is_local_path(value) {
        return None;
    }
    // Decode repeatedly, so double encoding (`%252f`) cannot hide a second slash either.
    let mut decoded = value.to_owned();
    for _ in 0..3 {
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8()
            .ok()?
            .into_owned();
        if !starts_locally(&next) || next.chars().any(char::is_control) {
            return None;
        }
        if next == decoded {
            break;
        }
        decoded = next;
    }
    Some(value)
}

/// One leading `/`, not followed by `/` or `\`.
fn starts_locally(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'))
}

/// A local start, and only visible ASCII other than `\`.
fn is_local_path(path: &str) -> bool {
    starts_locally(path)
        && path
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn plain_paths_are_kept() {
        for path in [
            "/",
            "/dashboard",
            "/a/b?x=1&y=%20z",
            "/search?q=a%2Fb#frag",
            "/@user",
        ] {
            assert_eq!(validate(path), Some(path), "{path}");
        }
    }

    #[test]
    fn everything_that_can_leave_the_origin_is_refused() {
        for payload in [
            "//evil.com",
            "/\\evil.com",
            "\\/evil.com",
            "/%09/evil.com",
            "/%2f%2fevil.com",
            "/%2F%2Fevil.com",
            "/%5cevil.com",
            "/%255cevil.com",
            "/%252f%252fevil.com",
            "https:evil.com",
            "http:/evil.com",
            "https://evil.com",
            "javascript:alert(1)",
            "evil.com",
            "/ok\r\nSet-Cookie: a=b",
            "/ok%0d%0aSet-Cookie:%20a=b",
            "/ok\tx",
            "/ok x",
            "/caf\u{e9}",
            "",
        ] {
            assert_eq!(validate(payload), None, "{payload:?}");
        }
        let long = format!("/{}", "a".repeat(super::MAX_RETURN_TO_LEN));
        assert_eq!(validate(&long), None);
    }
}
