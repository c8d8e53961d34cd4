//! Reading profile fields out of a provider's JSON by JSON pointer (RFC 6901).

use serde_json::Value;

use crate::error::{AuthError, ConfigError};

/// Whether a JSON number is read as its decimal string (ids) or refused (names, emails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numbers {
    Allowed,
    Refused,
}

/// The string at `pointer` in `doc`: `None` when the pointer is empty or the value is
/// missing, `null` or `""`; an integer as its decimal string when `numbers` allows; any
/// other type is a provider error.
pub(crate) fn string_field(
    doc: &Value,
    pointer: &str,
    numbers: Numbers,
) -> Result<Option<String>, AuthError> {
    if pointer.is_empty() {
        return Ok(None);
    }
    match doc.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if numbers == Numbers::Allowed && (n.is_u64() || n.is_i64()) => {
            Ok(Some(n.to_string()))
        }
        Some(_) => {
            tracing::warn!("a profile field has an unexpected JSON type");
            Err(AuthError::provider(
                "the provider's profile has a field of an unexpected type",
            ))
        }
    }
}

/// Whether the flag at `pointer` in `doc` is set: `true` or the string `"true"` (some
/// providers send booleans as strings). Missing, `null`, `false` or `"false"` is not set; any
/// other value is a provider error.
pub(crate) fn flag_field(doc: &Value, pointer: &str) -> Result<bool, AuthError> {
    match doc.pointer(pointer) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(Value::String(text)) if text == "true" => Ok(true),
        Some(Value::String(text)) if text == "false" => Ok(false),
        Some(_) => {
            tracing::warn!("a profile flag is not a boolean");
            Err(AuthError::provider(
                "the provider's profile has a field of an unexpected type",
            ))
        }
    }
}

/// Checks a JSON pointer (RFC 6901): empty, or `/` segments with `~` only as `~0` or `~1`.
pub(crate) fn check_pointer(setting: &'static str, pointer: &str) -> Result<(), ConfigError> {
    let invalid = || ConfigError::InvalidSetting {
        setting,
        reason: "must be a JSON pointer such as \"/id\" or \"/data/email\"",
    };
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(invalid());
    }
    let mut bytes = pointer.bytes();
    while let Some(b) = bytes.next() {
        if b == b'~' && !matches!(bytes.next(), Some(b'0' | b'1')) {
            return Err(invalid());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthErrorKind;
    use serde_json::json;

    #[test]
    fn fields_are_read_by_pointer_with_numeric_ids_as_strings() {
        let doc = json!({"id": 42, "data": {"mail": "a@b.c"}, "name": null, "empty": ""});
        let read = |pointer, numbers| string_field(&doc, pointer, numbers).unwrap();
        assert_eq!(read("/id", Numbers::Allowed), Some("42".to_owned()));
        assert_eq!(
            read("/data/mail", Numbers::Refused),
            Some("a@b.c".to_owned())
        );
        for pointer in ["/name", "/empty", "/absent", ""] {
            assert_eq!(read(pointer, Numbers::Refused), None, "{pointer}");
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_provider_error() {
        let doc = json!({"id": 1.5, "name": 7, "email": {"value": "x"}, "ok": true});
        for (pointer, numbers) in [
            ("/id", Numbers::Allowed),
            ("/name", Numbers::Refused),
            ("/email", Numbers::Refused),
            ("/ok", Numbers::Allowed),
        ] {
            let error = string_field(&doc, pointer, numbers).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::ProviderError, "{pointer}");
        }
    }

    #[test]
    fn flags_are_true_only_when_the_provider_says_so() {
        let doc = json!({"yes": true, "no": false, "text": "true", "textno": "false",
                         "null": null, "one": 1, "other": "yes"});
        assert!(flag_field(&doc, "/yes").unwrap());
        assert!(flag_field(&doc, "/text").unwrap());
        for pointer in ["/no", "/textno", "/null", "/absent"] {
            assert!(!flag_field(&doc, pointer).unwrap(), "{pointer}");
        }
        for pointer in ["/one", "/other"] {
            let error = flag_field(&doc, pointer).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::ProviderError, "{pointer}");
        }
    }

    #[test]
    fn pointers_are_checked() {
        assert!(check_pointer("x", "/a~1b").is_ok());
        assert!(check_pointer("x", "").is_ok());
        assert!(check_pointer("x", "/a~2b").is_err());
        assert!(check_pointer("x", "id").is_err());
    }
}
