//! The smallest useful app: a public page, a page that needs a user, and sign-in with
//! Twitter and/or Facebook.
//!
//! ```sh
//! export SOCIALAUTH_SECRET=$(head -c 32 /dev/urandom | base64)
//! export TWITTER_CONSUMER_KEY=... TWITTER_CONSUMER_SECRET=...   # optional
//! export FACEBOOK_APP_ID=... FACEBOOK_APP_SECRET=...            # optional
//! cargo run --example axum --features axum
//! ```
//! Then open <http://127.0.0.1:3000>. Register `http://127.0.0.1:3000/auth/<provider>` as the
//! callback URL at each provider.

use std::env;

use axum::response::Html;
use axum::routing::get;
use axum::Json;
use socialauth::{Facebook, Identity, SocialAuthLayer, Twitter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = env::var("SOCIALAUTH_SECRET").unwrap_or_else(|_| {
        eprintln!("SOCIALAUTH_SECRET is not set: using a throwaway key (logins end at restart)");
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("system randomness");
        key.iter().map(|b| format!("{b:02x}")).collect()
    });
    let mut builder = SocialAuthLayer::builder().secret(secret);
    let mut enabled = Vec::new();
    if let (Ok(key), Ok(secret)) = (
        env::var("TWITTER_CONSUMER_KEY"),
        env::var("TWITTER_CONSUMER_SECRET"),
    ) {
        builder = builder.provider(Twitter::new(key, secret));
        enabled.push("twitter");
    }
    if let (Ok(id), Ok(secret)) = (env::var("FACEBOOK_APP_ID"), env::var("FACEBOOK_APP_SECRET")) {
        builder = builder.provider(Facebook::new(id, secret));
        enabled.push("facebook");
    }
    if enabled.is_empty() {
        eprintln!(
            "no provider configured: set TWITTER_CONSUMER_KEY/SECRET or FACEBOOK_APP_ID/SECRET"
        );
        return Ok(());
    }
    let auth = builder.build()?;

    let links: String = enabled
        .iter()
        .map(|p| format!(r#"<p><a href="/auth/{p}?login=start">Sign in with {p}</a></p>"#))
        .collect();
    let app = axum::Router::new()
        .route(
            "/",
            get(move |user: Option<Identity>| async move {
                match user {
                    Some(user) => Html(format!(
                        "<p>Hello, {}!</p>",
                        html_escape(user.display_name())
                    )),
                    None => Html(links.clone()),
                }
            }),
        )
        .route("/whoami", get(whoami))
        .layer(auth);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Needs a signed-in user: answers 401 otherwise.
async fn whoami(user: Identity) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "provider": user.provider(),
        "user_id": user.user_id(),
        "name": user.name(),
        "email": user.email(),
    }))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
