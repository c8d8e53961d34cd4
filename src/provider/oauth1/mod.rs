//! OAuth 1.0a (RFC 5849): request signing, and the three-legged login built on it, which the
//! [`Twitter`](crate::Twitter) preset configures with its endpoints and its mapping.

mod flow;
mod form;
mod signature;

pub(crate) use self::flow::{Consumer, Details, OAuth1Flow};
