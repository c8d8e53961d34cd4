//! Per-customer sign-in (enterprise SSO): each customer of the app signs in with its own
//! OpenID Connect provider, read from `examples/tenants.txt` (in a real app, the database
//! where the app keeps its customers), looked up when a login needs it.
//!
//! ```sh
//! cargo run --example tenants --features axum,dev-provider
//! ```
//!
//! Offline, the two customers `acme` and `globex` are two embedded dev providers. Open
//! <http://127.0.0.1:3000/auth/sso/acme?login=start>, or sign in by email:
//! <http://127.0.0.1:3000/auth/sso?login=start&email=ada@globex.example>, then
//! <http://127.0.0.1:3000/me>. A customer with a real provider registers
//! `http://127.0.0.1:3000/auth/sso/<tenant>` (its own route) as the redirect URI there.

use std::path::Path;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use socialauth::dev_provider::DevProvider;
use socialauth::tenants::{TenantError, TenantKey, TenantResolver, Tenants};
use socialauth::{Algorithm, Identity, Oidc, Provider, SocialAuthLayer};

/// The tenants file, read anew at each lookup (the layer caches what it answers).
struct TenantsFile {
    path: &'static Path,
    /// The embedded dev providers standing in for `dev-1` and `dev-2`.
    dev: Arc<[DevProvider; 2]>,
}

impl TenantsFile {
    /// The line of `tenant`, or of the tenant with this email domain: its fields.
    async fn find(&self, column: usize, value: &str) -> Result<Option<Vec<String>>, TenantError> {
        let text = tokio::fs::read_to_string(self.path)
            .await
            .map_err(|e| TenantError::new(format!("cannot read {}: {e}", self.path.display())))?;
        Ok(text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .map(|line| {
                line.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .find(|fields| fields.get(column).is_some_and(|field| field == value)))
    }
}

impl TenantResolver for TenantsFile {
    async fn provider(&self, tenant: &TenantKey) -> Result<Option<Provider>, TenantError> {
        let Some(fields) = self.find(0, tenant.as_str()).await? else {
            return Ok(None);
        };
        let oidc = match fields.get(2).map(String::as_str) {
            Some("dev-1") => dev_oidc(&self.dev[0]),
            Some("dev-2") => dev_oidc(&self.dev[1]),
            Some(issuer) => match (fields.get(3), fields.get(4)) {
                (Some(id), Some(secret)) => Oidc::new(issuer, id, secret),
                _ => {
                    return Err(TenantError::new(format!(
                        "{tenant}: no client id and secret"
                    )))
                }
            },
            None => return Err(TenantError::new(format!("{tenant}: no issuer"))),
        };
        Ok(Some(oidc.into()))
    }

    async fn tenant_for_domain(&self, domain: &str) -> Result<Option<TenantKey>, TenantError> {
        match self.find(1, domain).await? {
            Some(fields) => Ok(Some(TenantKey::new(fields[0].clone())?)),
            None => Ok(None),
        }
    }
}

/// A dev provider as a tenant's issuer (any name: the route is the tenant's).
fn dev_oidc(dev: &DevProvider) -> Oidc {
    Oidc::new(dev.issuer(), dev.client_id(), dev.client_secret())
        .allowed_algorithms(&[Algorithm::ES256])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret)?;
    let dev = |tenant: &'static str| async move {
        DevProvider::start("127.0.0.1:0".parse().expect("an address"))
            .await
            .map(|dev| dev.redirect_uri(format!("http://127.0.0.1:3000/auth/sso/{tenant}")))
    };
    let dev = Arc::new([dev("acme").await?, dev("globex").await?]);
    let tenants = Tenants::new(TenantsFile {
        path: Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenants.txt")),
        dev,
    });
    let auth = SocialAuthLayer::builder()
        .secret(secret)
        .tenants(tenants)
        .build()?;
    let app = Router::new()
        .route(
            "/",
            get(|| async { "sign in at /auth/sso?login=start&email=ada@acme.example" }),
        )
        .route("/me", get(me))
        .layer(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000 (sign in: /auth/sso/acme?login=start)");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The signed-in user and the customer they signed in through.
async fn me(user: Identity) -> String {
    format!(
        "{} of tenant {} ({})",
        user.display_name(),
        user.tenant().unwrap_or("none"),
        user.email().unwrap_or("no email")
    )
}
