//! The Python socialauth 0.2's Flask example (`app.py`), route for route, for its users.
//!
//! ```sh
//! cargo run --example seed --features axum,dev-provider
//! ```
//!
//! Then open <http://127.0.0.1:5000/auth/dev?login=start> (or `/auth/twitter`,
//! `/auth/facebook` when their credentials are set), and <http://127.0.0.1:5000/whoami>.
//! Each Flask piece is quoted above its counterpart.

#[path = "demo/env.rs"]
mod env;

use std::net::Ipv4Addr;

use axum::routing::get;
use axum::Router;
use socialauth::dev_provider::DevProvider;
use socialauth::{Facebook, Identity, SocialAuthLayer, Twitter};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // if __name__ == '__main__':
    //     dotenv.load_dotenv('.env')
    let settings = env::Settings::load();
    //     app.secret_key = os.urandom(24)
    // (32 random bytes at least here; SOCIALAUTH_SECRET keeps sign-ins across restarts.)
    let mut auth = SocialAuthLayer::builder().secret(settings.secret());

    // TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, FACEBOOK_APP_ID, FACEBOOK_APP_SECRET,
    // FACEBOOK_GRAPH_API_VERSION: the environment variables socialauth read.
    let twitter = settings
        .get("TWITTER_CONSUMER_KEY")
        .zip(settings.get("TWITTER_CONSUMER_SECRET"));
    let facebook = settings
        .get("FACEBOOK_APP_ID")
        .zip(settings.get("FACEBOOK_APP_SECRET"));
    let configured = twitter.is_some() || facebook.is_some();
    if let Some((key, secret)) = twitter {
        auth = auth.provider(Twitter::new(key, secret));
    }
    if let Some((id, secret)) = facebook {
        let mut provider = Facebook::new(id, secret);
        if let Some(version) = settings.get("FACEBOOK_GRAPH_API_VERSION") {
            provider = provider.api_version(version);
        }
        auth = auth.provider(provider);
    }
    // New: with neither configured, the embedded dev provider (at /auth/dev) so that the
    // flow works offline. Kept alive as long as the server.
    let _dev = if configured {
        None
    } else {
        let dev = DevProvider::start((Ipv4Addr::LOCALHOST, 0).into()).await?;
        auth = auth.provider(dev.oidc());
        Some(dev)
    };

    // # GET /auth/facebook?login=start
    // # GET /auth/twitter?login=start
    // @app.route('/auth/<provider>')
    // def authenticate(provider):
    //     res = socialauth.http_get_provider(provider, request.base_url, request.args,
    //                                        current_app.secret_key, request.cookies.get('jwt'))
    //     if res.get('status') == 302: ... redirect, set the 'jwt' cookie
    //     if res.get('status') == 200: ... jsonify({'status': 'success'}), set the 'jwt' cookie
    //     abort(400)
    //
    // The layer answers /auth/<provider> itself, start and callback alike: it redirects to
    // the provider, keeps the flow's state in an encrypted cookie, and at the callback sets
    // the identity cookie. `after_login_json` answers {"status": "success"} as the seed
    // did; errors are a 4xx with a JSON body instead of a bare 400.
    let auth = auth.after_login_json().build()?;

    let app = Router::new()
        // @app.route('/whoami')
        // def whoami():
        //     res = jwt.decode(request.cookies.get('jwt'), current_app.secret_key)
        //     return res.get('user_id')
        //
        // The layer has verified the identity cookie (signature, expiry, audience) before the
        // handler runs; without a valid one the `Identity` extractor answers 401.
        .route(
            "/whoami",
            get(|user: Identity| async move { user.user_id().to_owned() }),
        )
        .layer(auth);

    //     app.run(host = '0.0.0.0')
    // Flask's port 5000, but on loopback only: the seed's debug server listened on every
    // interface.
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 5000)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
