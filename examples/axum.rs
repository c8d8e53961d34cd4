//! The smallest useful axum app: a public page, a page that greets whoever is signed in
//! (`Option<Identity>`), and one that needs a user (`Identity`: 401 without one).
//!
//! ```sh
//! cargo run --example axum --features axum,dev-provider
//! ```
//!
//! Then open <http://127.0.0.1:3000/hello>. With `TWITTER_CONSUMER_KEY`/`_SECRET` or
//! `FACEBOOK_APP_ID`/`_SECRET` set, it signs in with those (register
//! `http://127.0.0.1:3000/auth/<provider>` as the callback URL); without them, with the
//! embedded dev provider. `SOCIALAUTH_SECRET` keeps sign-ins across restarts.

use std::env;

use axum::routing::get;
use axum::Router;
use socialauth::dev_provider::DevProvider;
use socialauth::{Facebook, Identity, SocialAuthLayer, Twitter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = env::var("SOCIALAUTH_SECRET")
        .map(String::into_bytes)
        .unwrap_or_else(|_| {
            eprintln!("SOCIALAUTH_SECRET is not set: using a random key (sign-ins end at exit)");
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).expect("system randomness");
            key
        });
    let mut auth = SocialAuthLayer::builder().secret(secret);
    let mut login = None;
    if let (Ok(key), Ok(secret)) = (
        env::var("TWITTER_CONSUMER_KEY"),
        env::var("TWITTER_CONSUMER_SECRET"),
    ) {
        auth = auth.provider(Twitter::new(key, secret));
        login = Some("/auth/twitter?login=start");
    }
    if let (Ok(id), Ok(secret)) = (env::var("FACEBOOK_APP_ID"), env::var("FACEBOOK_APP_SECRET")) {
        auth = auth.provider(Facebook::new(id, secret));
        login = Some("/auth/facebook?login=start");
    }
    // No real provider: the embedded dev provider, on its own port. Keep it alive.
    let mut _dev = None;
    if login.is_none() {
        let dev = DevProvider::start("127.0.0.1:0".parse()?).await?;
        auth = auth.provider(dev.oidc());
        login = Some("/auth/dev?login=start");
        _dev = Some(dev);
    }
    let login = login.unwrap_or_default();

    let app = Router::new()
        .route("/", get(|| async { "public: anyone can see this" }))
        .route(
            "/hello",
            get(move |user: Option<Identity>| async move {
                match user {
                    Some(user) => format!("hello, {}", user.display_name()),
                    None => format!("hello, stranger: sign in at {login}"),
                }
            }),
        )
        .route("/me", get(me))
        .layer(auth.build()?);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000 (sign in: http://127.0.0.1:3000{login})");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Needs a signed-in user: the `Identity` extractor answers 401 otherwise.
async fn me(user: Identity) -> String {
    format!(
        "{} at {} ({})",
        user.user_id(),
        user.provider(),
        user.email().unwrap_or("no email")
    )
}
