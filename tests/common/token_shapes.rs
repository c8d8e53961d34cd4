//! The tokens of real enterprise providers, in their shape and size, for the fake OpenID
//! Connect provider ([`FakeOidc::set_token_shape`](super::fake_oidc::FakeOidc)): the claims
//! Keycloak and Microsoft Entra ID put in their access and ID tokens, and their refresh
//! tokens, so that a login keeping them meets what a browser and a proxy meet with them.
//! The access tokens are JWTs signed by the fake's own RSA key (its JWKS verifies them).
//!
//! - **Keycloak** (a realm with its default client scopes, "Server Administration Guide",
//!   https://www.keycloak.org/docs/latest/server_admin/#_oidc_token_and_saml_assertion_mappers
//!   and the default "roles" and "web-origins" scopes): an RS256 access token with `typ`
//!   `Bearer`, `realm_access` and `resource_access` roles, `allowed-origins`, `scope`, `sid`
//!   and the profile claims, about 1.6 KB; a refresh token that is itself a JWT (`typ`
//!   `Refresh`, HS512 with the realm's HMAC key), about 0.7 KB; an ID token (`typ` `ID`,
//!   `at_hash`, `sid`, `acr`, profile claims) about 1.3 KB.
//! - **Microsoft Entra ID** ("Access token claims reference",
//!   https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference,
//!   and "ID token claims reference",
//!   https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference): a
//!   Microsoft Graph access token (v1.0 format: `aud` Graph's app id, `iss`
//!   `https://sts.windows.net/<tid>/`, `aio`, `amr`, `scp`, `wids`, `xms_st`, ..., and
//!   `groups` when the app asks for them, a GUID each) of 2.1-2.6 KB; an opaque refresh token
//!   ("Refresh tokens in the Microsoft identity platform",
//!   https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens: "Refresh tokens
//!   replace themselves with a fresh token upon every use. The Microsoft identity platform
//!   doesn't revoke old refresh tokens when used to fetch new access tokens") of 1.1-1.7 KB;
//!   a v2.0 ID token (`aio`, `oid`, `rh`, `sid`, `tid`, `uti`, `preferred_username`) of about
//!   1.4 KB.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha512;

use super::server::random_token;

/// Whose tokens the fake issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenShape {
    /// Keycloak's, with a realm's default scopes and two client roles.
    Keycloak,
    /// Entra ID's for Microsoft Graph: `groups` group ids in the access token, and refresh
    /// tokens of `refresh_len` characters.
    Entra { groups: usize, refresh_len: usize },
}

impl TokenShape {
    /// Entra ID's tokens of middling size: no groups, a 1.4 KB refresh token.
    pub fn entra() -> Self {
        Self::Entra {
            groups: 0,
            refresh_len: 1400,
        }
    }

    /// Entra ID's tokens at the large end: 12 groups, a 1.7 KB refresh token.
    pub fn entra_large() -> Self {
        Self::Entra {
            groups: 12,
            refresh_len: 1700,
        }
    }
}

/// What every token of one login is about.
pub struct Subject<'a> {
    pub issuer: String,
    pub client_id: &'a str,
    pub sub: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub now: u64,
    pub lifetime: u64,
}

/// A random version 4 UUID, as text.
pub fn uuid() -> String {
    let hex = random_token("", 16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `bytes` random bytes in base64url.
fn random_b64(bytes: usize) -> String {
    let raw = hex::decode(random_token("", bytes)).expect("hex");
    URL_SAFE_NO_PAD.encode(raw)
}

fn tenant() -> &'static str {
    "72f988bf-86f1-41af-91ab-2d7cd011db47"
}

/// The access token's claims (to be signed RS256 by the fake), and its JOSE header's extra
/// members.
pub fn access_claims(shape: TokenShape, who: &Subject<'_>) -> (Value, Map<String, Value>) {
    let (now, exp) = (who.now, who.now + who.lifetime);
    match shape {
        TokenShape::Keycloak => (
            json!({
                "exp": exp, "iat": now, "auth_time": now, "jti": format!("onrtac:{}", uuid()),
                "iss": who.issuer, "aud": ["portal-api", "account"], "sub": who.sub,
                "typ": "Bearer", "azp": who.client_id, "session_state": uuid(), "sid": uuid(),
                "acr": "1", "allowed-origins": ["https://portal.example.com"],
                "realm_access": {"roles": ["default-roles-acme", "offline_access",
                                           "uma_authorization", "employee", "finance"]},
                "resource_access": {
                    "portal-api": {"roles": ["reports-viewer", "invoices-editor",
                                             "invoices-approver"]},
                    "account": {"roles": ["manage-account", "manage-account-links",
                                          "view-profile"]}
                },
                "scope": "openid profile email", "groups": ["/staff", "/staff/finance"],
                "email_verified": true, "name": who.name, "preferred_username": "jane.doe",
                "given_name": "Jane", "family_name": "Doe", "email": who.email,
            }),
            Map::new(),
        ),
        TokenShape::Entra { groups, .. } => {
            let mut claims = json!({
                "aud": "00000003-0000-0000-c000-000000000000",
                "iss": format!("https://sts.windows.net/{}/", tenant()),
                "iat": now, "nbf": now, "exp": exp, "acct": 0, "acr": "1",
                "aio": random_b64(90), "amr": ["pwd", "mfa"],
                "app_displayname": "Contoso Expenses", "appid": who.client_id, "appidacr": "1",
                "family_name": "Doe", "given_name": "Jane", "idtyp": "user",
                "ipaddr": "203.0.113.7", "name": who.name, "oid": uuid(), "platf": "3",
                "puid": "10032001A2B3C4D5",
                "rh": format!("1.AXoA{}.", random_b64(42)),
                "scp": "email openid profile User.Read", "sid": uuid(),
                "signin_state": ["kmsi"], "sub": random_b64(32),
                "tenant_region_scope": "EU", "tid": tenant(),
                "unique_name": who.email, "upn": who.email, "uti": random_b64(16), "ver": "1.0",
                "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
                "xms_idrel": "1 20", "xms_st": {"sub": random_b64(32)},
                "xms_tcdt": 1_600_000_000u64,
            });
            if groups > 0 {
                claims["groups"] = json!((0..groups).map(|_| uuid()).collect::<Vec<_>>());
            }
            // Graph access tokens carry a `nonce` in their header (and an `x5t`).
            let mut header = Map::new();
            header.insert("nonce".into(), json!(random_b64(32)));
            header.insert("x5t".into(), json!(random_b64(20)));
            (claims, header)
        }
    }
}

/// A refresh token as the provider issues it.
pub fn refresh_token(shape: TokenShape, who: &Subject<'_>) -> String {
    match shape {
        TokenShape::Keycloak => {
            let header = json!({"alg": "HS512", "typ": "JWT", "kid": uuid()});
            let claims = json!({
                "exp": who.now + 1800, "iat": who.now, "jti": uuid(), "iss": who.issuer,
                "aud": who.issuer, "sub": who.sub, "typ": "Refresh", "azp": who.client_id,
                "session_state": uuid(), "sid": uuid(),
                "scope": "openid profile email web-origins acr roles basic",
            });
            let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
            let signed = format!("{}.{}", b64(&header), b64(&claims));
            let mut mac = Hmac::<Sha512>::new_from_slice(b"the realm's HMAC key").expect("any key");
            mac.update(signed.as_bytes());
            let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            format!("{signed}.{signature}")
        }
        TokenShape::Entra { refresh_len, .. } => {
            // Opaque to clients: version, a dot, then encrypted bytes in base64url.
            let body = random_b64(refresh_len * 3 / 4);
            let token = format!("1.AXoA{body}");
            token[..refresh_len.min(token.len())].to_owned()
        }
    }
}

/// Claims the ID token carries besides those the fake always puts there (`iss`, `sub`,
/// `aud`, times, `nonce`, `name`, `email`).
pub fn id_token_claims(shape: TokenShape, who: &Subject<'_>) -> Map<String, Value> {
    let claims = match shape {
        TokenShape::Keycloak => json!({
            "jti": uuid(), "typ": "ID", "azp": who.client_id, "session_state": uuid(),
            "sid": uuid(), "at_hash": random_b64(16), "acr": "1",
            "preferred_username": "jane.doe", "given_name": "Jane", "family_name": "Doe",
            "locale": "en", "groups": ["/staff", "/staff/finance"],
        }),
        TokenShape::Entra { .. } => json!({
            "nbf": who.now, "aio": random_b64(90), "oid": uuid(),
            "preferred_username": who.email, "rh": format!("1.AXoA{}.", random_b64(42)),
            "sid": uuid(), "tid": tenant(), "uti": random_b64(16), "ver": "2.0",
        }),
    };
    match claims {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
