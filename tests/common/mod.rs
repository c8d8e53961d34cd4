//! Shared test infrastructure: real HTTP servers on 127.0.0.1, strict fake identity
//! providers (Twitter OAuth 1.0a, Facebook OAuth 2.0), an independent RFC 5849 verifier,
//! injectable faults and a scripted browser with its own cookie jar.
//!
//! Each test binary declares `mod common;` and uses a subset of it.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod fake_facebook;
pub mod fake_github;
pub mod fake_oidc;
pub mod fake_twitter;
pub mod fault;
pub mod oauth1_verify;
pub mod server;
