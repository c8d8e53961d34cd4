//! What travels in cookies, and how: the keys that seal and sign them, reading and writing
//! cookies (a long value in numbered chunks), the flow cookie of a login attempt, session
//! ids, the attempts already consumed, the `return_to` rules and randomness. No HTTP routes
//! live here.

pub(crate) mod chunked;
pub(crate) mod consumed;
pub(crate) mod cookies;
pub(crate) mod flow;
pub(crate) mod keys;
pub(crate) mod pending_cookie;
pub(crate) mod provider_session;
pub(crate) mod random;
pub(crate) mod return_to;
pub(crate) mod session;
