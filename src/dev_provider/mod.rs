//! [`DevProvider`]: a small, real OAuth 2.0 / OpenID Connect provider for development,
//! demos and tests, served on its own loopback port (feature `dev-provider`).
//!
//! It lets a login work with no app registered anywhere and no network: the provider shows a
//! page where you type any name and email and press "Sign in". Everything else is what a real
//! provider does, so the layer talks to it through the same [`Oidc`] code as to Google:
//!
//! | Endpoint | What it does |
//! |---|---|
//! | `GET /.well-known/openid-configuration` | discovery, with `authorization_response_iss_parameter_supported` |
//! | `GET /jwks` | the public half of an ES256 (P-256) key made at [`start`](DevProvider::start) |
//! | `GET /authorize` | checks `client_id`, the redirect URI, `response_type=code`, `openid` in `scope`, `state` and a PKCE S256 challenge, then shows the sign-in page |
//! | `POST /authorize` | the page's form: signs in with the typed name and email (or cancels), and redirects back with `code`, `state` and `iss` (RFC 9207) |
//! | `POST /token` | `client_secret_basic` or `client_secret_post`; the code is single-use and lives 60 s, `redirect_uri` must be the authorization's, the PKCE verifier must match; answers an access token and an ES256 ID token (`iss`, `aud`, `sub`, `name`, `email`, `email_verified`, `nonce`, `iat`, `exp`). Also `grant_type=client_credentials` with a `resource` (RFC 8707) and an optional `scope`: an RFC 9068 access token (`typ: at+jwt`, `aud` the resource, `sub` and `client_id` the client), for a service calling an API behind the layer with [`Oidc::access_tokens`](crate::Oidc::access_tokens) |
//! | `GET /userinfo` | the same claims, for the access token |
//! | `GET` or `POST /logout` | RP-Initiated Logout: checks `client_id`, `post_logout_redirect_uri` (loopback `http`, or the origin of a registered redirect URI) and, when sent, `id_token_hint` (its own signature, for this client; that user's access tokens are then revoked, and with a [`backchannel_logout_uri`](DevProvider::backchannel_logout_uri) a Back-Channel Logout 1.0 logout token naming that user and the sign-in's `sid` is POSTed to it), and redirects back with `state` |
//!
//! The user id (`sub`) is derived from the email, so the same email is the same user across
//! restarts. Bad input gets a 400 with a short message (an HTML page on `/authorize` and
//! `/logout`, an OAuth JSON error elsewhere); nothing a request sends can make it panic.
//!
//! **Never use it in production**: anyone who can reach it signs in as anyone. It therefore
//! listens only on loopback addresses, and serves plain `http`.
//!
//! # In an app
//!
//! ```no_run
//! # #[cfg(feature = "dev-provider")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socialauth::dev_provider::DevProvider;
//! use socialauth::SocialAuthLayer;
//!
//! // Keep `dev` alive as long as the app: dropping it stops the provider.
//! let dev = DevProvider::start("127.0.0.1:3001".parse()?).await?;
//! let auth = SocialAuthLayer::builder()
//!     .secret([7u8; 32])
//!     .provider(dev.oidc()) // "Sign in" at /auth/dev?login=start
//!     .build()?;
//! # let _ = auth;
//! # Ok(())
//! # }
//! ```
//!
//! # In an app's tests
//!
//! Start it on port 0 and, with [`sign_in_as`](DevProvider::sign_in_as), have it approve
//! every authorization at once as a chosen user, without the page. A login is then four
//! requests: the start, the provider, the callback, and the first signed-in request.
//!
//! ```
//! # #[cfg(feature = "dev-provider")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use http::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
//! use http::Request;
//! use socialauth::dev_provider::DevProvider;
//! use socialauth::{Identity, SocialAuthLayer};
//! use tower::ServiceExt;
//!
//! let dev = DevProvider::start("127.0.0.1:0".parse()?)
//!     .await?
//!     .sign_in_as("Ada Lovelace", "ada@example.com");
//! let auth = SocialAuthLayer::builder().secret([7u8; 32]).provider(dev.oidc()).build()?;
//! // Your app; here one that says who is signed in.
//! let app = tower::ServiceBuilder::new().layer(auth).service_fn(|req: Request<String>| async move {
//!     let who = req.extensions().get::<Identity>().map(|u| u.display_name().to_owned());
//!     Ok::<_, std::convert::Infallible>(http::Response::new(who.unwrap_or_default()))
//! });
//! let get = |uri: &str, cookie: &str| {
//!     Request::get(uri).header(HOST, "127.0.0.1:3000").header(COOKIE, cookie).body(String::new())
//! };
//! let header = |resp: &http::Response<_>, name| -> String {
//!     resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
//! };
//! let first_pair = |set_cookie: String| set_cookie.split(';').next().unwrap_or_default().to_owned();
//!
//! // 1. The layer sends the browser to the provider, with a flow cookie.
//! let start = app.clone().oneshot(get("/auth/dev?login=start", "")?).await?;
//! let flow_cookie = first_pair(header(&start, SET_COOKIE));
//! // 2. The provider approves at once and sends it back with a code.
//! let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! let back = client.get(header(&start, LOCATION)).send().await?;
//! let callback = back.headers()[LOCATION].to_str()?.replace("http://127.0.0.1:3000", "");
//! // 3. The layer exchanges the code with the provider and sets the identity cookie.
//! let done = app.clone().oneshot(get(&callback, &flow_cookie)?).await?;
//! assert_eq!(done.status(), 303);
//! let identity_cookie = done
//!     .headers()
//!     .get_all(SET_COOKIE)
//!     .iter()
//!     .filter_map(|v| v.to_str().ok())
//!     .find(|c| c.starts_with("__Host-socialauth="))
//!     .map(|c| first_pair(c.to_owned()))
//!     .unwrap_or_default();
//! // 4. Signed in.
//! let page = app.oneshot(get("/", &identity_cookie)?).await?;
//! let body = http_body_util::BodyExt::collect(page.into_body()).await?.to_bytes();
//! assert_eq!(body, "Ada Lovelace");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "dev-provider"))]
//! # fn main() {}
//! ```

mod authorize;
mod backchannel;
mod discovery;
mod end_session;
mod keys;
mod page;
mod redirect;
mod request;
mod response;
mod server;
mod store;
mod token_endpoint;
mod userinfo;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jsonwebtoken::Algorithm;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use self::keys::SigningKey;
use self::redirect::RedirectPolicy;
use self::store::{Store, User};
use crate::provider::Oidc;
use crate::secret::ClientSecret;

/// The client id the dev provider knows.
const CLIENT_ID: &str = "socialauth-dev";

/// A running dev provider: a real OAuth 2.0 / OpenID Connect provider on a loopback port,
/// which signs in whoever types a name and an email. See the [module docs](self).
///
/// Dropping it stops the server (and every connection it holds).
pub struct DevProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// What the request handlers share.
#[derive(Debug)]
struct Shared {
    issuer: String,
    client_id: String,
    client_secret: ClientSecret,
    key: SigningKey,
    redirects: Mutex<RedirectPolicy>,
    auto_user: Mutex<Option<User>>,
    store: Mutex<Store>,
    /// Where logout tokens go (OpenID Connect Back-Channel Logout 1.0), when registered.
    backchannel_logout_uri: Mutex<Option<String>>,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn redirect_allowed(&self, uri: &str) -> bool {
        self.redirects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allows(uri)
    }

    fn post_logout_allowed(&self, uri: &str) -> bool {
        self.redirects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allows_post_logout(uri)
    }

    fn auto_user(&self) -> Option<User> {
        self.auto_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl DevProvider {
    /// Starts the provider on `addr`, a loopback address (`127.0.0.1:3001`, or port 0 for
    /// any free port), with a fresh ES256 signing key and client secret.
    ///
    /// Must be called inside a Tokio runtime: the server runs as a task on it.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address that is not loopback; the bind error when the port is
    /// taken; `Other` when the system cannot make a key.
    pub async fn start(addr: SocketAddr) -> Result<DevProvider, io::Error> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the dev provider signs in anyone as anyone: it listens on loopback addresses only",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let client_secret = crate::state::random::random_token()
            .map_err(|_| io::Error::other("the system's random number generator failed"))?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}"),
            client_id: CLIENT_ID.to_owned(),
            client_secret: ClientSecret::new(client_secret),
            key: SigningKey::generate()?,
            redirects: Mutex::new(RedirectPolicy::default()),
            auto_user: Mutex::new(None),
            store: Mutex::new(Store::default()),
            backchannel_logout_uri: Mutex::new(None),
        });
        let task = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(DevProvider { shared, addr, task })
    }

    /// The issuer URL, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The address it listens on (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one client id it knows: `socialauth-dev`.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// That client's secret, random at each start.
    pub fn client_secret(&self) -> &str {
        self.shared.client_secret.secret()
    }

    /// An [`Oidc`] provider named `dev` (answering at `/auth/dev`) for this provider: its
    /// issuer, client id and secret, and ES256, the one algorithm it signs with.
    pub fn oidc(&self) -> Oidc {
        Oidc::new(self.issuer(), self.client_id(), self.client_secret())
            .name("dev")
            .allowed_algorithms(&[Algorithm::ES256])
    }

    /// Registers `uri` as a redirect URI. By default any `http://127.0.0.1:*`,
    /// `http://localhost:*` or `http://[::1]:*` URI whose path ends in `/auth/dev` is
    /// accepted; once one is registered, only the registered ones are, character for
    /// character. Call it again to register more. Needed when the provider is not named
    /// `dev`, or to test that a wrong redirect URI is refused.
    ///
    /// ```no_run
    /// # #[cfg(feature = "dev-provider")]
    /// # async fn run() -> std::io::Result<()> {
    /// let dev = socialauth::dev_provider::DevProvider::start("127.0.0.1:0".parse().unwrap())
    ///     .await?
    ///     .redirect_uri("http://127.0.0.1:3000/auth/dev");
    /// # let _ = dev;
    /// # Ok(())
    /// # }
    /// ```
    pub fn redirect_uri(self, uri: impl Into<String>) -> Self {
        self.shared
            .redirects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(uri.into());
        self
    }

    /// Registers the app's back-channel logout URI (OpenID Connect Back-Channel Logout 1.0):
    /// a logout at this provider that names its user (`id_token_hint`, which the layer sends
    /// when it [keeps the provider's tokens](crate::SocialAuthLayerBuilder::keep_provider_tokens))
    /// then POSTs a logout token (`sub`, and the sign-in's `sid`) to it, so the demo shows a
    /// provider ending the app's session. Give the layer
    /// [`backchannel_logout(true)`](crate::Oidc::backchannel_logout) and revocation.
    ///
    /// ```no_run
    /// # #[cfg(feature = "dev-provider")]
    /// # async fn run() -> std::io::Result<()> {
    /// let dev = socialauth::dev_provider::DevProvider::start("127.0.0.1:0".parse().unwrap())
    ///     .await?
    ///     .backchannel_logout_uri("http://127.0.0.1:3000/auth/dev/backchannel-logout");
    /// # let _ = dev;
    /// # Ok(())
    /// # }
    /// ```
    pub fn backchannel_logout_uri(self, uri: impl Into<String>) -> Self {
        *self
            .shared
            .backchannel_logout_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(uri.into());
        self
    }

    /// Approves every authorization at once as this user, without showing the sign-in page:
    /// for an app's automated tests (see the [module docs](self)). The checks on the
    /// authorization request still apply.
    ///
    /// The user's `sub` (the layer's [`Identity::user_id`](crate::Identity::user_id)) is
    /// `dev-` and 20 characters of a hash of the lower-cased email, not the name: the same
    /// email is the same user at every start, whatever name goes with it. The login route of
    /// [`oidc`](Self::oidc) is `/auth/dev`, so a login starts at `/auth/dev?login=start`.
    pub fn sign_in_as(self, name: impl Into<String>, email: impl Into<String>) -> Self {
        let user = User::new(name.into(), email.into());
        *self
            .shared
            .auto_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(user);
        self
    }
}

impl Drop for DevProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for DevProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevProvider")
            .field("issuer", &self.shared.issuer)
            .field("client_id", &self.shared.client_id)
            .field("client_secret", &self.shared.client_secret)
            .finish_non_exhaustive()
    }
}
