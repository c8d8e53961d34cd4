//! A plain hyper 1 server with `service_fn` behind `SocialAuthLayer`, no framework: the app
//! reads `req.extensions().get::<Identity>()` (see `examples/hyper/app.rs`).
//!
//! ```sh
//! cargo run --example hyper --features dev-provider
//! ```
//!
//! Then open <http://127.0.0.1:3000/auth/dev?login=start> to sign in with the embedded dev
//! provider, and <http://127.0.0.1:3000/whoami>. With `FACEBOOK_APP_ID`/`_SECRET` set it
//! signs in with Facebook instead (register `http://127.0.0.1:3000/auth/facebook`).

#[path = "hyper/app.rs"]
mod app;

use socialauth::dev_provider::DevProvider;
use socialauth::{Facebook, SocialAuthLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = std::env::var("SOCIALAUTH_SECRET")
        .map(String::into_bytes)
        .unwrap_or_else(|_| {
            eprintln!("SOCIALAUTH_SECRET is not set: using a random key (sign-ins end at exit)");
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).expect("system randomness");
            key
        });
    let facebook = std::env::var("FACEBOOK_APP_ID")
        .ok()
        .zip(std::env::var("FACEBOOK_APP_SECRET").ok());
    // Keep the dev provider alive as long as the server.
    let (auth, _dev, login) = match facebook {
        Some((id, secret)) => {
            let auth = SocialAuthLayer::builder().provider(Facebook::new(id, secret));
            (auth, None, "/auth/facebook?login=start")
        }
        None => {
            let dev = DevProvider::start("127.0.0.1:0".parse()?).await?;
            let auth = SocialAuthLayer::builder().provider(dev.oidc());
            (auth, Some(dev), "/auth/dev?login=start")
        }
    };
    let auth = auth.secret(key).build()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000 (sign in: http://127.0.0.1:3000{login})");
    app::serve(listener, auth).await?;
    Ok(())
}
