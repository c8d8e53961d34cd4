//! The two pieces of outside input a per-customer login names a tenant by: the tenant key in
//! the route (`/auth/sso/<tenant>`) and the email address or domain of a sign-in by email
//! domain. Each is checked once, here, and carried as its checked type.

use std::fmt;

/// Longest tenant key, in bytes.
const MAX_KEY_LEN: usize = 63;
/// Longest domain name (RFC 1035), in bytes.
const MAX_DOMAIN_LEN: usize = 253;
/// Longest label of a domain name, in bytes.
const MAX_LABEL_LEN: usize = 63;

/// The name of one customer (tenant) of the app: 1 to 63 of `a-z`, `0-9`, `-` and `_`, as
/// it appears in its route `/auth/sso/<tenant>`.
///
/// ```
/// use socialauth::tenants::TenantKey;
/// assert_eq!(TenantKey::new("acme")?.as_str(), "acme");
/// assert!(TenantKey::new("Acme Corp").is_err());
/// # Ok::<(), socialauth::tenants::InvalidTenantKey>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantKey(String);

/// A string that is not a [`TenantKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTenantKey;

impl fmt::Display for InvalidTenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tenant key is 1 to 63 characters of a-z, 0-9, '-' and '_'")
    }
}

impl std::error::Error for InvalidTenantKey {}

impl TenantKey {
    /// Checks `key`: 1 to 63 of `a-z`, `0-9`, `-` and `_`.
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidTenantKey> {
        let key = key.into();
        let ok = (1..=MAX_KEY_LEN).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(key))
        } else {
            Err(InvalidTenantKey)
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TenantKey").field(&self.0).finish()
    }
}

/// The domain of `email` (its part after the last `@`) or `email` itself when it has no
/// `@`: lowercased, and only when it is an ASCII domain name (labels of `a-z`, `0-9` and
/// `-`, neither starting nor ending with `-`, at least two of them). An internationalized
/// domain must come in its `xn--` form.
pub(crate) fn email_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@').map_or(email, |(_, domain)| domain);
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LEN {
        return None;
    }
    let domain = domain.to_ascii_lowercase();
    let mut labels = 0usize;
    for label in domain.split('.') {
        let ok = (1..=MAX_LABEL_LEN).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return None;
        }
        labels += 1;
    }
    (labels >= 2).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_are_route_safe() {
        for good in ["acme", "a", "globex-eu_1", &"x".repeat(63)] {
            assert!(TenantKey::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "a/b",
            "a.b",
            "a b",
            "..",
            "é",
            &"x".repeat(64),
            "a%2Fb",
        ] {
            assert_eq!(TenantKey::new(bad), Err(InvalidTenantKey), "{bad}");
        }
    }

    #[test]
    fn an_email_or_a_domain_gives_its_lowercased_domain() {
        assert_eq!(
            email_domain("ada@Acme.Example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            email_domain("acme.example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            email_domain("\"a@b\"@acme.example").as_deref(),
            Some("acme.example")
        );
        assert_eq!(
            email_domain("xn--bcher-kva.example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        for bad in [
            "",
            "ada@",
            "localhost",
            "ada@acme..example",
            "ada@-acme.example",
            "ada@acme-.example",
            "ada@acme.example/",
            "ada@acme example.com",
            "ada@bücher.example",
            "ada@acme.example.",
        ] {
            assert_eq!(email_domain(bad), None, "{bad:?}");
        }
        let long = format!("{}.example", "a".repeat(64));
        assert_eq!(email_domain(&long), None);
    }
}
