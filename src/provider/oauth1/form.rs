//! [`Form`]: an OAuth 1.0a endpoint's answer, `application/x-www-form-urlencoded`
//! (RFC 5849 §2.1, §2.3).

use crate::error::AuthError;
use crate::outbound::Reply;

/// The pairs of a successful form answer from a request-token or access-token endpoint.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    /// The answer of `endpoint` when it succeeded and is a form; a provider error otherwise.
    pub(super) fn read(reply: &Reply, endpoint: &'static str) -> Result<Self, AuthError> {
        if !reply.status.is_success() {
            tracing::warn!(endpoint, status = reply.status.as_u16(), "provider refused");
            return Err(AuthError::provider("the provider refused the request"));
        }
        reply.form().map(Self).ok_or_else(|| {
            tracing::warn!(endpoint, "provider answer is not form-encoded");
            AuthError::provider("the provider's answer is not the expected form")
        })
    }

    /// The non-empty value of `name`; a provider error when it is missing or empty.
    pub(super) fn value(&self, name: &str) -> Result<&str, AuthError> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| AuthError::provider("the provider's answer is missing a field"))
    }
}
