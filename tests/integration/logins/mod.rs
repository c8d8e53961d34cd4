//! Logins through the layer, provider by provider: each preset and protocol against a strict
//! loopback fake of its provider (and against panva's `oidc-provider`, and Apple's form POST
//! in headless Chromium), a provider written outside the crate, bad input on the auth
//! routes, and the tests that prove the fakes themselves as strict as the real providers.

mod apple_browser;
mod apple_login;
mod bad_input;
mod custom_provider;
mod facebook_login;
mod fakes;
mod github_login;
mod interop_access_tokens;
mod interop_backchannel_logout;
mod interop_oidc_provider;
mod linkedin_login;
mod microsoft_login;
mod oidc_login;
mod preset_support;
mod presets_login;
mod private_key_jwt;
mod slack_login;
mod tenants;
mod tenants_interop;
mod twitter_login;
