//! The load items of the security battery (issue 5, item 16), in their own binary so that
//! their timing and memory measures are not shared with the other tests.

mod common;

#[path = "security/support.rs"]
mod support;

#[path = "security/load.rs"]
mod load;
