//! The security and fault battery: every known attack on OAuth clients and JWT cookies,
//! tried through the layer against strict loopback fakes, one test per item, each asserting
//! what a user would notice. Every refusal is fail-closed: the provider's token endpoint is
//! not called, the attempt's flow cookie is cleared, nobody is signed in, nothing the
//! provider or the attacker wrote is echoed, and nothing panics.
//!
//! The load items (16) run in their own binary, `tests/security_load/`, so that their
//! memory and timing measures are not shared with these tests.

mod support;

mod access_tokens;
mod audience_injection;
mod backchannel_logout;
mod cookies;
mod flow_state;
mod hardening;
mod jws_headers;
mod key_rotation;
mod oauth1;
mod open_redirect;
mod provider_faults;
mod provider_refusals;
mod spoofing;
mod tampered;
mod time_claims;
mod token_confusion;
mod tokens_chunks;
mod tokens_cookie_confusion;
mod unverified_email;
mod workspace_domain;
