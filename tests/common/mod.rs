//! Shared test infrastructure: real HTTP servers on 127.0.0.1, strict fake identity
//! providers on one harness (Twitter OAuth 1.0a, Facebook, GitHub, OpenID Connect, the last
//! also issuing Keycloak- and Entra ID-shaped tokens), an independent RFC 5849 verifier,
//! RFC 7523 client keys and assertion checks, injectable faults, forged identity tokens, the
//! clock, a scripted browser with its own cookie jar, headless Chromium, and a real nginx in
//! front of an app.
//!
//! Each test suite (`tests/<suite>/main.rs`, and `tests/observability.rs`) declares
//! `mod common;`; the benches build on it too.

pub mod api;
pub mod app;
pub mod browser;
pub mod captured_logs;
pub mod chromium;
pub mod client_assertion;
pub mod clock;
pub mod fake_discord;
pub mod fake_facebook;
pub mod fake_github;
pub mod fake_introspection;
pub mod fake_linkedin;
pub mod fake_oidc;
pub mod fake_pkce;
pub mod fake_slack;
pub mod fake_twitter;
pub mod fake_x;
pub mod fault;
pub mod forge;
pub mod harness;
pub mod kept_tokens;
pub mod nginx;
pub mod oauth1_verify;
pub mod oidc_provider;
#[cfg(feature = "redis")]
pub mod redis;
pub mod server;
#[cfg(feature = "redis")]
pub mod test_pki;
pub mod token_shapes;
