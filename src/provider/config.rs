//! The configuration every code-flow provider shares (route name, client id and secret,
//! scope, extra authorization parameters) and the setters for it, written once.

use crate::error::ConfigError;
use crate::oauth2::{Client, ClientAuth, ClientBuilder};
use crate::secret::ClientSecret;

/// What every code-flow preset is configured with, before its own settings.
#[derive(Debug, Clone)]
pub(crate) struct CodeFlowConfig {
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) scope: String,
    pub(crate) authorize_params: Vec<(String, String)>,
}

impl CodeFlowConfig {
    pub(crate) fn new(
        name: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        scope: &str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
            scope: scope.to_owned(),
            authorize_params: Vec::new(),
        }
    }

    /// The client for these endpoints, checked and parsed.
    pub(crate) fn client(
        &self,
        auth: ClientAuth,
        authorize_url: String,
        token_url: String,
    ) -> Result<Client, ConfigError> {
        self.client_builder(auth)
            .authorize_url(authorize_url)
            .token_url(token_url)
            .build()
    }

    pub(crate) fn client_builder(&self, auth: ClientAuth) -> ClientBuilder {
        Client::builder(self.client_id.clone(), self.client_secret.secret())
            .scope(self.scope.clone())
            .client_auth(auth)
            .authorize_params(self.authorize_params.clone())
    }
}

/// The setters every code-flow preset shares (`scope`, `authorize_param`, and `name` unless
/// the name is given to `new`), written once. `$config` is the path to the preset's
/// [`CodeFlowConfig`].
macro_rules! code_flow_setters {
    ($preset:ident . $($config:ident).+, name: $name:literal, scope: $scope:literal $(, $note:literal)?) => {
        impl $preset {
            #[doc = concat!("The route name (default `", $name, "`): the provider answers at `/auth/<name>`.")]
            pub fn name(mut self, name: impl Into<String>) -> Self {
                self.$($config).+.name = name.into();
                self
            }
        }
        code_flow_setters!($preset . $($config).+, scope: $scope $(, $note)?);
    };
    ($preset:ident . $($config:ident).+, scope: $scope:literal $(, $note:literal)?) => {
        impl $preset {
            #[doc = concat!("The scopes asked for, as the provider spells them (default `", $scope, "`).")]
            $(#[doc = $note])?
            pub fn scope(mut self, scope: impl Into<String>) -> Self {
                self.$($config).+.scope = scope.into();
                self
            }

            /// Adds a parameter to the authorization request, e.g. `prompt=consent`.
            /// Parameters the flow sets itself (`state`, `scope`, `redirect_uri`, PKCE, ...)
            /// are refused when the layer is built.
            pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.$($config).+.authorize_params.push((name.into(), value.into()));
                self
            }
        }
    };
}
