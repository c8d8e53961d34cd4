//! "Sign in with Microsoft": the [`Oidc`] provider preset for Microsoft Entra ID (v2.0
//! endpoints), single-tenant or multi-tenant.

use jsonwebtoken::Algorithm;

use crate::provider::oidc::tenant::{TenantIssuer, TENANT_PLACEHOLDER};
use crate::provider::Oidc;

const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The tenants that stand for many: any work or school account, any personal account, both.
const MULTI_TENANT: [&str; 3] = ["organizations", "consumers", "common"];

/// Microsoft sign-in (Entra ID, formerly Azure AD) over OpenID Connect: an [`Oidc`] provider
/// named `microsoft` for `https://login.microsoftonline.com/<tenant>/v2.0`.
///
/// `tenant` is the directory (tenant) id of one organization, or one of `organizations`
/// (any work or school account), `consumers` (personal Microsoft accounts) and `common`
/// (both). For these three, Microsoft's discovery document gives the issuer as
/// `https://login.microsoftonline.com/{tenantid}/v2.0`: each ID token's `iss` must be that
/// template with the token's own `tid`, and with [`allowed_tenants`](Self::allowed_tenants)
/// that tenant must be one of the list. A single tenant's issuer is checked as it is.
///
/// Entra ID's `email` claim is not verified by Microsoft (any tenant admin, or the user, may
/// set it), so the identity never carries it as an email; the identity is `sub` and the
/// name, and the [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook sees the
/// tenant (`tid`) and the sign-in name (`preferred_username`) with
/// [`UserProfile::claim`](crate::UserProfile::claim). `sub` is specific to this app; an
/// app that wants Microsoft's directory object id asks for `oid` with
/// [`profile_claim`](Self::profile_claim).
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

    /// For a multi-tenant `tenant`, the tenant ids whose users may sign in (default: any).
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
        self
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
        self
    }
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
        for tenant in MULTI_TENANT {
            let many = Oidc::from(Microsoft::new(tenant, "id", "s").allowed_tenants(["t1"]));
            assert_eq!(
                many.issuer(),
                format!("https://login.microsoftonline.com/{tenant}/v2.0")
            );
            let template = many.tenant_issuer.as_ref().unwrap();
            assert!(template.names_this_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"));
            assert_eq!(
                template.issuer_for(Some("t1")).unwrap(),
                "https://login.microsoftonline.com/t1/v2.0"
            );
            assert!(template.issuer_for(Some("t2")).is_err());
        }
    }
}
