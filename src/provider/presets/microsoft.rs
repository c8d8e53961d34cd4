//! "Sign in with Microsoft": the [`Oidc`] provider preset for Microsoft Entra ID (v2.0
//! endpoints), single-tenant or multi-tenant.

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;
use crate::provider::oidc::tenant::{TenantIssuer, TENANT_PLACEHOLDER};
use crate::provider::Oidc;

const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The tenants that stand for many: any work or school account, any personal account, both.
const MULTI_TENANT: [&str; 3] = ["organizations", "consumers", "common"];

/// Microsoft sign-in (Entra ID, formerly Azure AD) over OpenID Connect: an [`Oidc`] provider
/// named `microsoft` for `https://login.microsoftonline.com/<tenant>/v2.0`.
///
/// `tenant` is the directory (tenant) id of one organization, a GUID, or one of
/// `organizations` (any work or school account), `consumers` (personal Microsoft accounts)
/// and `common` (both). For these three, Microsoft's discovery document gives the issuer as
/// `https://login.microsoftonline.com/{tenantid}/v2.0`: each ID token's `iss` must be that
/// template with the token's own `tid`, and with [`allowed_tenants`](Self::allowed_tenants)
/// that tenant must be one of the list. A single tenant's issuer is checked as it is.
///
/// **A domain name is refused** (`contoso.onmicrosoft.com`, `contoso.com`): Entra answers
/// it, but its discovery document and tokens name the tenant by id, so the issuer could
/// never match the configured one. Accepting it would mean taking the issuer from the
/// discovery document instead of checking it against the configuration, the check that
/// stops a mix-up of providers; the id is one copy away (the app registration's overview
/// page, "Directory (tenant) ID"), so the layer's build reports a [`ConfigError`] that says
/// to use it. `allowed_tenants` entries are tenant ids as well.
///
/// **Multi-tenant apps admit every tenant in the world** unless told otherwise: anyone can
/// create an Entra tenant and sign in from it. Without `allowed_tenants`, building the
/// provider logs a warning; an app for any organization checks `tid` in the
/// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook against its own customers.
///
/// Entra ID's `email` claim is not verified by Microsoft (any tenant admin, or the user, may
/// set it), so the identity never carries it as an email; the identity is `sub` and the
/// name, and the authorize hook sees the tenant (`tid`) and the sign-in name
/// (`preferred_username`) with [`UserProfile::claim`](crate::UserProfile::claim).
/// **`preferred_username` is mutable** (the user or an admin may change it, and a tenant
/// may hand a former user's name to a new one): show it, never decide access or link
/// accounts on it. `sub` is specific to this app; an app that wants Microsoft's directory
/// object id asks for `oid` with [`profile_claim`](Self::profile_claim).
///
/// Checked on 2026-12-06 against
/// <https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc>,
/// <https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference> and
/// <https://learn.microsoft.com/en-us/entra/identity-platform/howto-convert-app-to-be-multi-tenant>.
///
/// Set-up at Microsoft: in the Entra admin center, "App registrations > New registration";
/// choose who may sign in (this matches `tenant`), add the Web redirect URI
/// `https://<your host>/auth/microsoft`, then under "Certificates & secrets" create a client
/// secret. The overview page shows the application (client) id and the directory (tenant)
/// id.
///
/// ```
/// use socialauth::Microsoft;
/// let staff = Microsoft::new("72f988bf-86f1-41af-91ab-2d7cd011db47", "client-id", "secret");
/// let partners = Microsoft::new("organizations", "client-id", "secret")
///     .allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"]);
/// # let _ = (staff, partners);
/// ```
#[derive(Debug, Clone)]
pub struct Microsoft {
    pub(super) oidc: Oidc,
    tenant: String,
    allowed: Vec<String>,
}

impl Microsoft {
    /// A Microsoft provider for `tenant` (a tenant id, `organizations`, `consumers` or
    /// `common`) with the app registration's client id and secret.
    pub fn new(
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let mut oidc = Oidc::new(AUTHORITY, client_id, client_secret)
            .name("microsoft")
            .allowed_algorithms(&[Algorithm::RS256])
            .userinfo(false)
            .profile_claim("tid")
            .profile_claim("preferred_username");
        // Entra ID's `email` is whatever the tenant or the user set: never a verified one.
        oidc.verified_emails = false;
        Self {
            oidc,
            tenant: tenant.into(),
            allowed: Vec::new(),
        }
        .authority_url(AUTHORITY)
    }

    /// For a multi-tenant `tenant`, the tenant ids (GUIDs) whose users may sign in (default:
    /// any tenant at all, with a warning when the provider is built).
    ///
    /// ```
    /// let p = socialauth::Microsoft::new("organizations", "id", "secret")
    ///     .allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"]);
    /// # let _ = p;
    /// ```
    pub fn allowed_tenants<I, T>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.allowed = tenants.into_iter().map(Into::into).collect();
        if let Some(issuer) = &mut self.oidc.tenant_issuer {
            issuer.allowed = self.allowed.clone();
        }
        self.check_tenants();
        self
    }

    /// The tenant and the allowed tenants must be tenant ids (or, for the tenant, one of
    /// the three multi-tenant names); anything else waits in the `Oidc` for the build.
    fn check_tenants(&mut self) {
        let tenant_ok = MULTI_TENANT.contains(&self.tenant.as_str()) || is_guid(&self.tenant);
        self.oidc.preset_error = if !tenant_ok {
            Some(ConfigError::InvalidSetting {
                setting: "microsoft tenant",
                reason: "must be the directory (tenant) id, a GUID (the app registration's overview page shows it), or organizations, consumers or common; not a domain name",
            })
        } else if !self.allowed.iter().all(|t| is_guid(t)) {
            Some(ConfigError::InvalidSetting {
                setting: "microsoft allowed_tenants",
                reason: "must be directory (tenant) ids, GUIDs, as ID tokens name them in tid; not domain names",
            })
        } else {
            None
        };
    }

    /// Passes another ID-token claim (e.g. `oid`, `roles`) on to the authorize hook; see
    /// [`Oidc::profile_claim`].
    pub fn profile_claim(mut self, name: impl Into<String>) -> Self {
        self.oidc = self.oidc.profile_claim(name);
        self
    }

    /// Another authority in place of `https://login.microsoftonline.com` (a national cloud
    /// such as `https://login.microsoftonline.us`, or a test server).
    ///
    /// ```
    /// let p = socialauth::Microsoft::new("common", "id", "secret")
    ///     .authority_url("https://login.microsoftonline.us");
    /// # let _ = p;
    /// ```
    pub fn authority_url(mut self, authority: impl AsRef<str>) -> Self {
        let authority = authority.as_ref().trim_end_matches('/');
        self.oidc
            .set_issuer(format!("{authority}/{}/v2.0", self.tenant));
        self.oidc.tenant_issuer = if MULTI_TENANT.contains(&self.tenant.as_str()) {
            let template = format!("{authority}/{TENANT_PLACEHOLDER}/v2.0");
            TenantIssuer::new(&template).map(|mut issuer| {
                issuer.allowed = self.allowed.clone();
                issuer
            })
        } else {
            None
        };
        self.check_tenants();
        self
    }
}

/// A GUID as Entra writes tenant ids: 8-4-4-4-12 hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

code_flow_setters!(Microsoft.oidc.config, name: "microsoft", scope: "openid email profile",
    "Must hold `openid`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_issuers_per_tenant() {
        let one = Oidc::from(Microsoft::new(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "id",
            "s",
        ));
        assert_eq!(
            one.issuer(),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        );
        assert!(
            one.tenant_issuer.is_none(),
            "one tenant: the issuer as it is"
        );
        const T1: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
        const T2: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        for tenant in MULTI_TENANT {
            let many = Oidc::from(Microsoft::new(tenant, "id", "s").allowed_tenants([T1]));
            assert_eq!(
                many.issuer(),
                format!("https://login.microsoftonline.com/{tenant}/v2.0")
            );
            let template = many.tenant_issuer.as_ref().unwrap();
            assert!(template.names_this_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"));
            assert_eq!(
                template.issuer_for(Some(T1)).unwrap(),
                format!("https://login.microsoftonline.com/{T1}/v2.0")
            );
            assert!(template.issuer_for(Some(T2)).is_err());
        }
    }

    #[test]
    fn a_domain_name_tenant_is_refused_with_a_message_naming_the_id() {
        let built = |microsoft: Microsoft| crate::Provider::from(microsoft).built.err();
        let refused = built(Microsoft::new("contoso.onmicrosoft.com", "id", "s"));
        let message = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("(tenant) id, a GUID"), "{message}");
        let allowed = Microsoft::new("organizations", "id", "s").allowed_tenants(["contoso.com"]);
        assert!(built(allowed).is_some());
        let fine = Microsoft::new("organizations", "id", "s")
            .allowed_tenants(["72F988BF-86F1-41AF-91AB-2D7CD011DB47"]);
        assert!(built(fine).is_none());
        assert!(built(Microsoft::new(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "id",
            "s"
        ))
        .is_none());
    }
}
