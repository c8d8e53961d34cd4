//! The integration tests, in one binary so that `tests/common/` is built once for them and
//! its dead code shows: logins provider by provider (`logins/`), the layer around an app
//! once signed in (`app/`) and the security and fault battery (`security/`).
//!
//! Two suites run in binaries of their own: `tests/observability.rs` installs the
//! process's one `metrics` recorder, and `tests/security_load/` measures memory and time.

#[path = "../common/mod.rs"]
mod common;

// The tonic example's app: its greeter and its client calls, for `app/tonic_example.rs` and
// `logins/interop_access_tokens.rs`.
#[allow(dead_code)]
#[path = "../../examples/tonic/app.rs"]
mod tonic_app;

mod app;
mod logins;
mod security;
