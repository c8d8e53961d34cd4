//! The load items of the security battery (item 16), in their own binary so that their
//! timing and memory measures are not shared with the other tests. It shares the battery's
//! support module (and its counting allocator).

#[path = "../common/mod.rs"]
mod common;

#[path = "../security/support.rs"]
mod support;

mod load;
