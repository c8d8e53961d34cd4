//! The Tower plumbing: [`SocialAuthLayer`], its builder, the [`SocialAuth`] service, its
//! [`ResponseFuture`] and [`ResponseBody`]. It knows the routes and the settings, nothing
//! about protocols.

use std::sync::Arc;

use tower_layer::Layer;

pub(crate) mod body;
pub(crate) mod builder;
pub(crate) mod future;
pub(crate) mod service;

pub use self::body::ResponseBody;
pub use self::builder::{SocialAuthLayerBuilder, MAX_FLOW_LIFETIME};
pub use self::future::ResponseFuture;
pub use self::service::SocialAuth;
use crate::settings::Settings;

/// Adds social login to a Tower service: answers `/auth/<provider>` and verifies the identity
/// cookie of every other request.
///
/// Cheap to clone: every clone shares the same settings, keys and HTTP client.
///
/// ```
/// use socialauth::{SocialAuthLayer, Twitter};
///
/// let layer = SocialAuthLayer::builder()
///     .secret([42u8; 32]) // use a random secret, e.g. from SOCIALAUTH_SECRET
///     .provider(Twitter::new("consumer-key", "consumer-secret"))
///     .build()
///     .expect("valid configuration");
/// let service = tower::ServiceBuilder::new()
///     .layer(layer)
///     .service(tower::service_fn(|_req: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     }));
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct SocialAuthLayer {
    pub(crate) settings: Arc<Settings>,
}

impl SocialAuthLayer {
    /// Starts configuring a layer.
    pub fn builder() -> SocialAuthLayerBuilder {
        SocialAuthLayerBuilder::default()
    }
}

impl<S> Layer<S> for SocialAuthLayer {
    type Service = SocialAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocialAuth::new(inner, self.settings.clone())
    }
}
