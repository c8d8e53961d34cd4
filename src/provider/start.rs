//! [`LoginStart`]: where a login goes first, and what its callback must bring back.

use url::Url;

use crate::secret::FlowSecret;

/// The outcome of [`LoginProvider::start`](super::LoginProvider::start): where to send the
/// browser, and what the encrypted flow cookie keeps until the callback.
///
/// ```
/// use socialauth::provider::LoginStart;
/// let url = url::Url::parse("https://idp.example/authorize?state=k3y")?;
/// let start = LoginStart::new(url, "k3y", "verifier-or-token-secret");
/// # let _ = start;
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Debug)]
pub struct LoginStart {
    pub(crate) redirect_to: Url,
    pub(crate) key: String,
    pub(crate) secret: FlowSecret,
    pub(crate) nonce: Option<String>,
}

impl LoginStart {
    /// Sends the browser to `redirect_to`. The callback must bring back `key` (it finds and
    /// is checked against the flow cookie); `secret` is kept encrypted for
    /// [`finish`](super::LoginProvider::finish) ([`FlowData::secret`](super::FlowData::secret)).
    /// Use an unguessable key: the layer's CSRF protection rests on it.
    pub fn new(redirect_to: Url, key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            redirect_to,
            key: key.into(),
            secret: FlowSecret::new(secret),
            nonce: None,
        }
    }

    /// Keeps an OpenID Connect `nonce` for the callback ([`FlowData::nonce`](super::FlowData::nonce)).
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }
}
