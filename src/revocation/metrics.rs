//! The revocation metrics (feature `metrics`): how current this process's copy is, how many
//! facts it holds, and how often the store failed. Without the feature, nothing.

use std::time::Duration;

use super::copy::LocalCopy;

/// The copy's state, recorded by the staleness watch at every tick (at least once a second).
/// Without the feature, the copy is not even counted.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(super) fn copy_state(copy: &LocalCopy, age: Duration, stale: bool) {
    #[cfg(feature = "metrics")]
    {
        let facts = copy.len();
        // A gauge is an f64: exact for any count of facts a process can hold.
        #[allow(clippy::cast_precision_loss)]
        ::metrics::gauge!("socialauth_revocation_facts").set(facts as f64);
        ::metrics::gauge!("socialauth_revocation_copy_age_seconds").set(age.as_secs_f64());
        ::metrics::gauge!("socialauth_revocation_copy_stale").set(if stale { 1.0 } else { 0.0 });
    }
}

/// One background call to the store failed (the copy is then kept, and the call retried).
pub(super) fn store_failed() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("socialauth_revocation_store_errors_total").increment(1);
}
