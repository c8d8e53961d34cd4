//! [`CookieBudget`]: how many bytes of headers the layer's cookies may take, so that a
//! signed-in browser's requests, and the responses that set its cookies, pass a reverse proxy
//! with its default limits.

use crate::error::ConfigError;

/// The most either limit may be: what the layer reads of a `Cookie` header at most.
const MAX_BUDGET: usize = crate::state::cookies::MAX_COOKIE_HEADER_LEN;

/// How many bytes of headers the layer's cookies may take
/// ([`cookie_budget`](crate::SocialAuthLayerBuilder::cookie_budget)); the provider tokens
/// kept ([`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens)) are
/// cut down to fit it ([`KeepTokens`](crate::KeepTokens)).
///
/// Two limits, both set for nginx's defaults, the strictest of the common reverse proxies:
///
/// - **The `Cookie` header** a signed-in browser sends (the identity cookie, the tokens
///   cookies and an allowance for the app's own cookies): 6 KiB, of which 1 KiB is the
///   app's, by default. nginx refuses a request header line over 8 KiB
///   (`large_client_header_buffers`) with `400 Request Header Or Cookie Too Large`.
/// - **The `Set-Cookie` headers** of one response (the identity cookie, the tokens cookies,
///   and the removal of cookies they replace): 3.5 KiB by default. nginx reads a proxied
///   response's whole header into one buffer of one memory page, 4 KiB on x86-64
///   (`proxy_buffer_size`), and answers a larger one with `502 Bad Gateway` ("upstream sent
///   too big header"), so the status line and the other headers get the last 512 bytes.
///
/// The second limit is the tighter: by default, a provider's tokens may take about 2.7 KiB
/// of cookie beside the identity cookie, which an Entra ID or Keycloak refresh token fits in
/// alone, but not their whole sets (see the README).
/// Behind a proxy with larger buffers, raise both, say to 14 KiB behind nginx with
/// `large_client_header_buffers 4 16k; proxy_buffer_size 16k; proxy_buffers 8 16k;`.
///
/// ```
/// use socialauth::CookieBudget;
/// let budget = CookieBudget::new()
///     .cookie_header(14 * 1024)
///     .set_cookie(14 * 1024);
/// let builder = socialauth::SocialAuthLayer::builder().cookie_budget(budget);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieBudget {
    cookie_header: usize,
    app_cookies: usize,
    set_cookie: usize,
}

impl Default for CookieBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl CookieBudget {
    /// The default budget: a `Cookie` header of 6 KiB (1 KiB of it the app's), `Set-Cookie`
    /// headers of 3.5 KiB per response.
    pub const fn new() -> Self {
        Self {
            cookie_header: 6 * 1024,
            app_cookies: 1024,
            set_cookie: 3584,
        }
    }

    /// The most bytes of the `Cookie` header a signed-in browser sends, the app's own
    /// cookies included (at most 64 KiB, what the layer reads).
    pub const fn cookie_header(mut self, bytes: usize) -> Self {
        self.cookie_header = bytes;
        self
    }

    /// The part of [`cookie_header`](Self::cookie_header) left to the app's own cookies
    /// (default 1 KiB).
    pub const fn app_cookies(mut self, bytes: usize) -> Self {
        self.app_cookies = bytes;
        self
    }

    /// The most bytes of `Set-Cookie` header lines (`Set-Cookie: <value>` and the line end)
    /// the layer adds to one response (at most 64 KiB).
    pub const fn set_cookie(mut self, bytes: usize) -> Self {
        self.set_cookie = bytes;
        self
    }

    /// Refuses a budget that leaves nothing, or that the layer could not read back.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |reason| ConfigError::InvalidSetting {
            setting: "cookie_budget",
            reason,
        };
        if self.cookie_header > MAX_BUDGET || self.set_cookie > MAX_BUDGET {
            return Err(invalid("at most 64 KiB each"));
        }
        if self.app_cookies >= self.cookie_header || self.set_cookie == 0 {
            return Err(invalid(
                "the app's cookies must leave part of the Cookie header to the layer, and \
                 Set-Cookie headers need room",
            ));
        }
        Ok(())
    }

    /// Whether cookies costing `cost` fit.
    pub(crate) fn allows(&self, cost: Cost) -> bool {
        cost.cookie_header.saturating_add(self.app_cookies) <= self.cookie_header
            && cost.set_cookie <= self.set_cookie
    }
}

/// What a set of the layer's cookies costs in headers, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    /// In the `Cookie` header the browser sends back.
    pub(crate) cookie_header: usize,
    /// In the `Set-Cookie` header lines of the response that sets them.
    pub(crate) set_cookie: usize,
}

impl Cost {
    /// Adds a cookie `name=value` the browser sends back (with the `; ` that separates it).
    pub(crate) fn pair(self, name: usize, value: usize) -> Self {
        Self {
            cookie_header: self.cookie_header + name + 1 + value + "; ".len(),
            ..self
        }
    }

    /// Adds a `Set-Cookie` header line of a value of `len` bytes.
    pub(crate) fn set_cookie(self, len: usize) -> Self {
        Self {
            set_cookie: self.set_cookie + "set-cookie: ".len() + len + "\r\n".len(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_limits_count_and_the_apps_share_is_kept_free() {
        let budget = CookieBudget::new();
        let cost = Cost::default().pair(17, 4000).set_cookie(3000);
        assert_eq!(cost.cookie_header, 17 + 1 + 4000 + 2);
        assert!(budget.allows(cost));
        assert!(
            !budget.allows(cost.pair(24, 1200)),
            "over the Cookie header"
        );
        assert!(
            !budget.allows(cost.set_cookie(600)),
            "over the Set-Cookie lines"
        );
        assert!(CookieBudget::new()
            .app_cookies(0)
            .allows(cost.pair(24, 2000)));
    }

    #[test]
    fn budgets_that_leave_nothing_are_refused() {
        assert!(CookieBudget::new().check().is_ok());
        for budget in [
            CookieBudget::new().app_cookies(6 * 1024),
            CookieBudget::new().set_cookie(0),
            CookieBudget::new().cookie_header(65 * 1024),
            CookieBudget::new().set_cookie(65 * 1024),
        ] {
            assert!(budget.check().is_err(), "{budget:?}");
        }
    }
}
