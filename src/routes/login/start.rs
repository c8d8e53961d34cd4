//! The login's first leg, `GET /auth/<provider>?login=start`: the provider's authorization
//! URL, and the flow cookie that carries what the callback will need.

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::Response;

use super::LoginRoute;
use crate::error::AuthError;
use crate::provider::CallbackParams;
use crate::routes::request::callback_url;
use crate::routes::response::{redirect, Location};
use crate::state::cookies;
use crate::state::flow::FlowState;
use crate::state::return_to;

impl LoginRoute<'_> {
    /// Asks the provider where to send the browser, seals the attempt into its flow cookie,
    /// and redirects.
    pub(super) async fn start(
        &self,
        params: &CallbackParams,
    ) -> Result<Response<Bytes>, AuthError> {
        let return_to = params.get("return_to").and_then(return_to::validate);
        if return_to.is_none() && params.get("return_to").is_some() {
            tracing::warn!(provider = self.name, "return_to refused; using the default");
        }
        let callback_url = callback_url(self.settings, self.path(), self.head)?;
        let cx = self.context(&callback_url);
        let _slot = self.slot().await?;
        let started = self.provider.start(&cx).await?;
        let name = self.flow_cookie_name(&started.key);
        let mut flow = FlowState {
            provider: self.name.to_owned(),
            expires_at: self.settings.clock.now() + self.settings.flow_lifetime.as_secs(),
            key: started.key,
            secret: started.secret,
            nonce: started.nonce,
            return_to: return_to.map(str::to_owned),
        };
        let mut sealed = flow.seal(&self.settings.keys, &name)?;
        if !cookies::fits(&name, &sealed) && flow.return_to.is_some() {
            // Browsers drop larger cookies, and the login would fail at the callback: give
            // up the return_to (JSON escaping can double it) rather than the login.
            tracing::warn!(
                provider = self.name,
                "return_to too long for the flow cookie; using the default"
            );
            flow.return_to = None;
            sealed = flow.seal(&self.settings.keys, &name)?;
        }
        let cookie = self
            .settings
            .cookies
            .flow_cookie(name, sealed, self.settings.flow_lifetime)
            .ok_or_else(|| AuthError::internal("could not write the flow cookie"))?;
        let location = Location::from_url(&started.redirect_to)
            .ok_or_else(|| AuthError::internal("the provider's login URL is not a valid header"))?;
        let mut response = redirect(&location);
        response.headers_mut().append(SET_COOKIE, cookie);
        Ok(response)
    }
}
