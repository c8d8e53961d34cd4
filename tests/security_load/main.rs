//! The load items of the security battery (item 16), in their own binary so that their
//! timing and memory measures are not shared with the other tests. It shares the battery's
//! support module (and its counting allocator).

// The tests' harness; this binary uses a part of it, `tests/integration/` shows its dead
// code.
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;

#[path = "../integration/security/support.rs"]
mod support;

mod load;
mod tenants;
