//! Multi-tenant issuers: one discovery document for many tenants, each tenant's ID tokens
//! carrying its own `iss` (Microsoft Entra ID's `common`, `organizations` and `consumers`).

use super::id_token::Rule;

/// Where a multi-tenant issuer's template holds the tenant.
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// A multi-tenant issuer: `iss` is the template with the token's own tenant id (`tid`) in
/// place of `{tenantid}`, and that tenant must be allowed.
#[derive(Debug, Clone)]
pub(crate) struct TenantIssuer {
    prefix: String,
    suffix: String,
    /// The tenants whose users may sign in; empty means any.
    pub(crate) allowed: Vec<String>,
}

impl TenantIssuer {
    /// An issuer from a template holding `{tenantid}` once.
    pub(crate) fn new(template: &str) -> Option<Self> {
        let (prefix, suffix) = template.split_once(TENANT_PLACEHOLDER)?;
        if suffix.contains(TENANT_PLACEHOLDER) {
            return None;
        }
        Some(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            allowed: Vec::new(),
        })
    }

    /// Whether a discovery document's `issuer` is this one: the template itself (Entra's
    /// `common` and `organizations`) or the template with one tenant (`consumers`).
    pub(crate) fn names_this_issuer(&self, issuer: &str) -> bool {
        self.tenant_in(issuer)
            .is_some_and(|tenant| tenant == TENANT_PLACEHOLDER || is_tenant_id(tenant))
    }

    /// The `iss` an ID token of tenant `tid` must carry, if that tenant may sign in.
    pub(crate) fn issuer_for(&self, tid: Option<&str>) -> Result<String, Rule> {
        let tid = tid
            .filter(|t| is_tenant_id(t))
            .ok_or("tid missing or malformed")?;
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == tid) {
            return Err("tenant not allowed");
        }
        Ok(format!("{}{tid}{}", self.prefix, self.suffix))
    }

    fn tenant_in<'a>(&self, issuer: &'a str) -> Option<&'a str> {
        issuer
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())
    }
}

/// A tenant id as it can stand in an issuer URL: 1 to 64 of `A-Za-z0-9-`.
fn is_tenant_id(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn the_token_issuer_is_the_template_with_its_own_tenant() {
        let issuer = TenantIssuer::new(TEMPLATE).unwrap();
        assert_eq!(
            issuer.issuer_for(Some(TENANT)).unwrap(),
            format!("https://login.microsoftonline.com/{TENANT}/v2.0")
        );
        for tid in [None, Some(""), Some("a/b"), Some("{tenantid}")] {
            assert!(issuer.issuer_for(tid).is_err(), "{tid:?}");
        }
    }

    #[test]
    fn an_allow_list_admits_only_its_tenants() {
        let mut issuer = TenantIssuer::new(TEMPLATE).unwrap();
        issuer.allowed = vec![TENANT.to_owned()];
        assert!(issuer.issuer_for(Some(TENANT)).is_ok());
        assert_eq!(
            issuer.issuer_for(Some("9188040d-6c67-4c5b-b112-36a304b66dad")),
            Err("tenant not allowed")
        );
    }

    #[test]
    fn discovery_may_name_the_template_or_one_tenant() {
        let issuer = TenantIssuer::new(TEMPLATE).unwrap();
        assert!(issuer.names_this_issuer(TEMPLATE));
        assert!(
            issuer.names_this_issuer(&format!("https://login.microsoftonline.com/{TENANT}/v2.0"))
        );
        for other in [
            "https://login.microsoftonline.com/v2.0",
            "https://evil.example/{tenantid}/v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
        ] {
            assert!(!issuer.names_this_issuer(other), "{other}");
        }
        assert!(TenantIssuer::new("https://login.microsoftonline.com/common/v2.0").is_none());
    }
}
