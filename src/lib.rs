//! Sign in with Twitter, X, Apple, Facebook, GitHub, Google, Microsoft, GitLab, LinkedIn,
//! Slack, Discord or any OpenID Connect provider, for any Tower service (axum, hyper, tonic),
//! as one stateless layer.
//!
//! [`SocialAuthLayer`] answers `/auth/<provider>` itself: `?login=start` sends the browser
//! to the provider, and the provider's callback comes back to the same URL. Everything a
//! login needs in between travels in an encrypted flow cookie; after the login, the user's
//! identity is a signed JWT in a cookie. The server keeps no session store, so any number of
//! replicas sharing the secret can serve any request.
//!
//! Every other request passes to the inner service with the verified [`Identity`] in its
//! extensions, or without one.
//!
//! ```
//! use socialauth::{Facebook, Identity, SocialAuthLayer, Twitter};
//!
//! # fn main() -> Result<(), socialauth::ConfigError> {
//! let auth = SocialAuthLayer::builder()
//!     .secret([7u8; 32]) // at least 32 random bytes, e.g. from SOCIALAUTH_SECRET
//!     .provider(Twitter::new("consumer-key", "consumer-secret"))
//!     .provider(Facebook::new("app-id", "app-secret"))
//!     .build()?;
//!
//! // Any tower service; here a plain function reading the identity extension.
//! let app = tower::ServiceBuilder::new().layer(auth).service(tower::service_fn(
//!     |req: http::Request<String>| async move {
//!         let who = req
//!             .extensions()
//!             .get::<Identity>()
//!             .map_or("anonymous".to_owned(), |user| user.user_id().to_owned());
//!         Ok::<_, std::convert::Infallible>(http::Response::new(who))
//!     },
//! ));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! What the layer does, and the calls that configure it:
//!
//! | Capability | How |
//! |---|---|
//! | Providers | [`Twitter`] (OAuth 1.0a), [`X`] (OAuth 2.0), [`Apple`], [`Facebook`], [`GitHub`], [`Discord`], [`Google`], [`Microsoft`] (Entra ID), [`GitLab`], [`LinkedIn`], [`Slack`], [`OAuth2`] (any code-flow provider), [`Oidc`] (any OpenID Connect issuer); each preset's docs say what to register at the provider |
//! | Your own provider | implement [`oauth2::CodeFlowProvider`] (endpoints and a profile mapping), or [`provider::LoginProvider`] for another protocol |
//! | Come back to the page after login | `/auth/<provider>?login=start&return_to=/path` (same-origin paths only) |
//! | Log out | `POST /auth/logout` |
//! | API clients and gRPC | `Authorization: Bearer <token>`, the token from `GET /auth/token`, or the provider's own access token ([`Oidc::access_tokens`], [`AccessTokens`]: JWTs and introspection) |
//! | Routes that need a user | [`RequireIdentityLayer`] (401, or a redirect to the login for page loads; scopes and RFC 6750 challenges for API clients) |
//! | Allow or deny a login, add app claims | [`SocialAuthLayerBuilder::authorize`], read with [`Identity::claim`] |
//! | Key rotation | [`SocialAuthLayerBuilder::previous_secrets`] |
//! | Stay signed in while active | [`SocialAuthLayerBuilder::sliding_renewal`] |
//! | Audit trail: logins, failures, logouts | [`SocialAuthLayerBuilder::on_event`], `info` events, `tracing` spans |
//! | Call the provider's API as the user | [`SocialAuthLayerBuilder::keep_provider_tokens`] ([`KeepTokens`], within a [`CookieBudget`]), [`ProviderTokens`] |
//! | End a session on every replica, sign out everywhere | [`revocation`], [`SocialAuthLayerBuilder::revocation`] |
//! | Each customer signs in with its own identity provider (enterprise SSO), by route or by email domain | [`tenants`], [`SocialAuthLayerBuilder::tenants`] |
//!
//! | Cargo feature | What it adds |
//! |---|---|
//! | `axum` | [`Identity`] and `Option<Identity>` as axum extractors |
//! | `dev-provider` | `dev_provider::DevProvider`, an embedded OpenID Connect provider for development and tests |
//! | `metrics` | login counters, provider-call latency and identity-check counters through the `metrics` facade (see the README's "Operating it") |
//! | `redis` | `revocation::RedisStore`: revocation facts shared through Redis (one node, Sentinel or a Cluster) |
//!
//! The crate's map, for a reader of its source: `layer/` is the Tower plumbing (the layer,
//! builder, service, response future and body); `routes/` is what the layer answers itself
//! (login start and callback, logout, the token endpoint, the `form_post` page) and what every
//! route reads from a request; `state/` is what travels in cookies (keys, cookies, the flow
//! cookie, session ids, `return_to`); `identity_token/` is the signed identity JWT;
//! `api_tokens/` is provider access tokens on the bearer path (the verdict cache, one check
//! per token, the introspection budget);
//! [`provider`] holds the public provider traits, the OAuth 1.0a, OAuth 2.0 and OpenID Connect
//! cores and the presets built on them; `provider_tokens/` and [`revocation`] are the
//! opt-in features of those names. The root holds what they all share.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]

#[macro_use]
mod macros;

mod api_tokens;
mod challenge;
mod clock;
#[cfg(feature = "dev-provider")]
#[cfg_attr(docsrs, doc(cfg(feature = "dev-provider")))]
pub mod dev_provider;
mod error;
mod events;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "fuzzing")]
#[cfg_attr(docsrs, doc(cfg(feature = "fuzzing")))]
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod hook;
mod identity;
mod identity_token;
mod layer;
mod outbound;
pub mod provider;
mod provider_tokens;
pub mod revocation;
mod routes;
mod secret;
mod settings;
mod state;
pub mod tenants;

pub use clock::Clock;
pub use error::{AuthError, AuthErrorKind, ConfigError};
pub use events::AuthEvent;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::IdentityRejection;
pub use guard::{RequireIdentity, RequireIdentityLayer};
pub use hook::{Denied, Grant, UserProfile};
pub use identity::{AuthMethod, Identity};
pub use layer::{
    ResponseBody, ResponseFuture, SocialAuth, SocialAuthLayer, SocialAuthLayerBuilder,
    MAX_FLOW_LIFETIME,
};
pub use provider::oauth2;
pub use provider::oauth2::{AssertionAudience, ClientAssertionKey, ClientAuth};
pub use provider::TokenSet;
pub use provider::{
    AccessTokens, Algorithm, Apple, AppleRevocation, Discord, Facebook, GitHub, GitLab, Google,
    LinkedIn, Microsoft, OAuth2, Oidc, Provider, Slack, Twitter, DEFAULT_GRAPH_API_VERSION,
    SLACK_TEAM_ID, X,
};
pub use provider_tokens::{
    CookieBudget, KeepTokens, ProviderTokens, ProviderTokensError, TokensKept,
};
pub use state::session::{InvalidSessionId, SessionId};

/// The README's Rust blocks, compiled by `cargo test --all-features` as doc-tests of this
/// item (and run, where they do not serve or reach a network), so a snippet a reader pastes
/// cannot drift from the crate. Hidden `#` lines hold the scaffolding a reader does not need.
#[cfg(all(doctest, feature = "axum", feature = "dev-provider", feature = "redis"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
