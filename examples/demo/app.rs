//! The demo's app, apart from `main` so that the tests can serve it too: an axum router
//! behind `SocialAuthLayer` with every configured provider and the embedded dev provider.
//!
//! - `GET /`: who you are (provider, id, name, email) and a "Sign out" button, or a
//!   "Sign in with ..." button for each provider;
//! - `GET /whoami`: the same as JSON, or 401 when nobody is signed in;
//! - `/auth/<provider>` and `POST /auth/logout`: answered by the layer itself.

use std::net::SocketAddr;

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use socialauth::dev_provider::DevProvider;
use socialauth::{Facebook, GitHub, Google, Identity, Oidc, Provider, SocialAuthLayer, Twitter};

/// A provider to offer, with the label of its button.
pub struct Enabled {
    pub label: &'static str,
    pub provider: Provider,
}

/// What the demo is built from.
pub struct Config {
    /// At least 32 bytes.
    pub secret: Vec<u8>,
    /// Where the dev provider listens (port 0 for any free port).
    pub dev_provider_addr: SocketAddr,
    /// The real providers, from [`real_providers`].
    pub providers: Vec<Enabled>,
}

/// The built demo. Keep `dev` alive as long as the router: it is the dev provider's server.
pub struct Demo {
    pub router: Router,
    pub dev: DevProvider,
    /// `(route name, label)` of each provider, in button order.
    pub providers: Vec<(String, &'static str)>,
}

/// The real providers whose credentials `setting` knows (the environment or `.env`).
pub fn real_providers(setting: impl Fn(&str) -> Option<String>) -> Vec<Enabled> {
    let pair = |a: &str, b: &str| Some((setting(a)?, setting(b)?));
    let mut enabled = Vec::new();
    if let Some((key, secret)) = pair("TWITTER_CONSUMER_KEY", "TWITTER_CONSUMER_SECRET") {
        let provider = Twitter::new(key, secret).fetch_profile();
        enabled.push(("Twitter", provider.into()));
    }
    if let Some((id, secret)) = pair("FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET") {
        enabled.push(("Facebook", Facebook::new(id, secret).into()));
    }
    if let Some((id, secret)) = pair("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET") {
        enabled.push(("GitHub", GitHub::new(id, secret).into()));
    }
    if let Some((id, secret)) = pair("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET") {
        enabled.push(("Google", Google::new(id, secret).into()));
    }
    if let (Some(issuer), Some((id, secret))) = (
        setting("OIDC_ISSUER"),
        pair("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"),
    ) {
        enabled.push(("OpenID Connect", Oidc::new(issuer, id, secret).into()));
    }
    enabled
        .into_iter()
        .map(|(label, provider)| Enabled { label, provider })
        .collect()
}

/// Starts the dev provider and builds the router.
pub async fn build(config: Config) -> Result<Demo, Box<dyn std::error::Error>> {
    let dev = DevProvider::start(config.dev_provider_addr).await?;
    let mut builder = SocialAuthLayer::builder()
        .secret(&config.secret)
        // A failed or cancelled sign-in comes back to the home page, which says so.
        .failure_redirect("/");
    let mut providers = Vec::new();
    let all = config.providers.into_iter().chain([Enabled {
        label: "Dev",
        // "Sign out" also ends the sign-in at the dev provider (RP-initiated logout): the
        // browser passes through its end-session endpoint and comes back here.
        provider: dev.oidc().provider_logout(true).into(),
    }]);
    for enabled in all {
        providers.push((enabled.provider.name().to_owned(), enabled.label));
        builder = builder.provider(enabled.provider);
    }
    let auth = builder.build()?;

    let buttons: String = providers
        .iter()
        .map(|(name, label)| {
            format!(
                r#"<a class="button" href="/auth/{}?login=start">Sign in with {}</a>"#,
                escape(name),
                escape(label)
            )
        })
        .collect();
    let router = Router::new()
        .route(
            "/",
            get(
                move |user: Option<Identity>, query: Query<HomeQuery>| async move {
                    Html(home(user.as_ref(), query.error.as_deref(), &buttons))
                },
            ),
        )
        .route("/whoami", get(whoami))
        .layer(auth);
    Ok(Demo {
        router,
        dev,
        providers,
    })
}

#[derive(Deserialize)]
struct HomeQuery {
    /// Set by the layer's failure redirect: `/?error=access_denied`.
    error: Option<String>,
}

/// The signed-in user as JSON; without one, the extractor answers 401.
async fn whoami(user: Identity) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "provider": user.provider(),
        "user_id": user.user_id(),
        "name": user.name(),
        "email": user.email(),
    }))
}

fn home(user: Option<&Identity>, error: Option<&str>, buttons: &str) -> String {
    let notice = error.map_or(String::new(), |code| {
        format!(
            r#"<p class="error" role="alert">The sign-in did not complete (<code>{}</code>).</p>"#,
            escape(code)
        )
    });
    let body = match user {
        Some(user) => {
            let row = |label: &str, value: Option<&str>| {
                format!(
                    "<tr><th>{label}</th><td>{}</td></tr>",
                    value.map_or("<em>not shared</em>".to_owned(), escape)
                )
            };
            format!(
                r#"<h1>Hello, {name}!</h1>
<p>You are signed in.</p>
<table>{provider}{id}{name_row}{email}</table>
<form method="post" action="/auth/logout"><button type="submit">Sign out</button></form>
<p class="small">The same as JSON: <a href="/whoami">/whoami</a></p>"#,
                name = escape(user.display_name()),
                provider = row("Provider", Some(user.provider())),
                id = row("ID", Some(user.user_id())),
                name_row = row("Name", user.name()),
                email = row("Email", user.email()),
            )
        }
        None => format!(
            r#"<h1>socialauth demo</h1>
<p>You are not signed in.</p>
{notice}<div class="buttons">{buttons}</div>
<p class="small"><b>Dev</b> is the embedded dev provider: type any name and email.
Set credentials in the environment or <code>.env</code> to add real providers.</p>"#
        ),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>socialauth demo</title><style>{STYLE}</style></head>
<body><main>{body}</main></body></html>"#
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;\
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px #0002;\
width:26rem}h1{margin:0 0 .5rem;font-size:1.5rem}.buttons{display:flex;flex-direction:column;\
gap:.6rem;margin:1.2rem 0}.button,button{display:block;text-align:center;padding:.65rem;\
border-radius:6px;font-size:1rem;background:#2456d3;color:#fff;text-decoration:none;\
border:0;cursor:pointer;width:100%}table{border-collapse:collapse;width:100%;margin:1rem 0}\
th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e3e6eb;overflow-wrap:anywhere}\
th{width:6rem;color:#525a6b}.small{font-size:.85rem;color:#525a6b}\
.error{color:#b00020;font-weight:600}";

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
