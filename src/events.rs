//! What the layer tells operators: [`AuthEvent`]s for the app's
//! [`on_event`](crate::SocialAuthLayerBuilder::on_event) hook and the `info` log, and, with
//! the `metrics` feature, counters and a latency histogram through the `metrics` facade.
//!
//! Nothing secret goes out this way: events, log fields and metric labels hold provider
//! names, user ids, error codes and endpoint kinds, never a code, token, cookie or secret,
//! nor any text a provider sent.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use crate::error::AuthErrorKind;
use crate::identity::Identity;

/// Something that happened on an auth route, handed to the
/// [`on_event`](crate::SocialAuthLayerBuilder::on_event) hook.
///
/// More kinds may come (the enum and its variants are `#[non_exhaustive]`): match with a
/// `_` arm, or read the accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A login completed: the browser has its identity cookie.
    #[non_exhaustive]
    LoginSucceeded {
        /// The provider's route name, e.g. `"github"`.
        provider: String,
        /// The user's id at the provider.
        user_id: String,
        /// Whether the [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook added
        /// app claims to the identity.
        added_claims: bool,
    },
    /// A login failed, at its start or at the provider's callback.
    #[non_exhaustive]
    LoginFailed {
        /// The provider's route name.
        provider: String,
        /// Why: the `error` code of the JSON answer is [`AuthErrorKind::code`].
        error: AuthErrorKind,
    },
    /// `POST /auth/logout` cleared the identity cookie.
    #[non_exhaustive]
    Logout {
        /// The provider of the identity that logged out, when the request carried a valid one.
        provider: Option<String>,
        /// The user who logged out, when the request carried a valid identity.
        user_id: Option<String>,
    },
    /// An OpenID Connect provider sent a back-channel logout token
    /// ([`Oidc::backchannel_logout`](crate::Oidc::backchannel_logout)): accepted (the
    /// sessions it names are revoked on every replica) or refused.
    #[non_exhaustive]
    BackchannelLogout {
        /// The provider's route name.
        provider: String,
        /// The user the token named by `sub`, when it was accepted and named one.
        user_id: Option<String>,
        /// Why the token was refused (the rule it broke, a fixed text); `None` when accepted.
        refused: Option<&'static str>,
    },
}

impl AuthEvent {
    /// A short name for the kind of event: `"login_succeeded"`, `"login_failed"`,
    /// `"logout"` or `"backchannel_logout"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::LoginSucceeded { .. } => "login_succeeded",
            Self::LoginFailed { .. } => "login_failed",
            Self::Logout { .. } => "logout",
            Self::BackchannelLogout { .. } => "backchannel_logout",
        }
    }

    /// The provider's route name, when the event has one.
    pub fn provider(&self) -> Option<&str> {
        match self {
            Self::LoginSucceeded { provider, .. }
            | Self::LoginFailed { provider, .. }
            | Self::BackchannelLogout { provider, .. } => Some(provider),
            Self::Logout { provider, .. } => provider.as_deref(),
        }
    }

    /// The user's id at the provider, when the event has one.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::LoginSucceeded { user_id, .. } => Some(user_id),
            Self::Logout { user_id, .. } | Self::BackchannelLogout { user_id, .. } => {
                user_id.as_deref()
            }
            Self::LoginFailed { .. } => None,
        }
    }

    /// Why a login failed; `None` for other events.
    pub fn error(&self) -> Option<AuthErrorKind> {
        match self {
            Self::LoginFailed { error, .. } => Some(*error),
            _ => None,
        }
    }

    /// Why a back-channel logout token was refused; `None` for other events and for an
    /// accepted one.
    pub fn refused(&self) -> Option<&'static str> {
        match self {
            Self::BackchannelLogout { refused, .. } => *refused,
            _ => None,
        }
    }

    /// Whether the authorize hook added app claims to a successful login.
    pub fn added_claims(&self) -> bool {
        matches!(
            self,
            Self::LoginSucceeded {
                added_claims: true,
                ..
            }
        )
    }
}

/// The app's event hook as the layer keeps it.
#[derive(Clone)]
pub(crate) struct EventHook(Arc<dyn Fn(&AuthEvent) + Send + Sync>);

impl EventHook {
    pub(crate) fn new(hook: impl Fn(&AuthEvent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(hook))
    }
}

impl fmt::Debug for EventHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventHook")
    }
}

/// Where the layer reports what happens: the app's hook, the log and the metrics.
#[derive(Debug)]
pub(crate) struct Observer {
    hook: Option<EventHook>,
    #[cfg(feature = "metrics")]
    identity_checks: metered::IdentityChecks,
}

impl Observer {
    /// Registers the per-request metric handles with the recorder installed now.
    pub(crate) fn new(hook: Option<EventHook>) -> Self {
        Self {
            hook,
            #[cfg(feature = "metrics")]
            identity_checks: metered::IdentityChecks::register(),
        }
    }

    /// A login start sent the browser to the provider.
    pub(crate) fn login_started(&self, provider: &str) {
        tracing::debug!(provider, "login started");
        #[cfg(feature = "metrics")]
        metered::login_started(metric_label(provider));
    }

    /// A login completed.
    pub(crate) fn login_succeeded(&self, provider: &str, user_id: &str, added_claims: bool) {
        tracing::info!(provider, user_id, added_claims, "login succeeded");
        #[cfg(feature = "metrics")]
        metered::login_succeeded(metric_label(provider));
        self.emit(|| AuthEvent::LoginSucceeded {
            provider: provider.to_owned(),
            user_id: user_id.to_owned(),
            added_claims,
        });
    }

    /// A login failed with `error`.
    pub(crate) fn login_failed(&self, provider: &str, error: AuthErrorKind) {
        tracing::info!(provider, error = error.code(), "login failed");
        #[cfg(feature = "metrics")]
        metered::login_failed(metric_label(provider), error);
        self.emit(|| AuthEvent::LoginFailed {
            provider: provider.to_owned(),
            error,
        });
    }

    /// A logout, by the holder of `identity` when the request carried a valid one.
    pub(crate) fn logout(&self, identity: Option<&Identity>) {
        let provider = identity.map(Identity::provider);
        let user_id = identity.map(Identity::user_id);
        tracing::info!(provider, user_id, "logout");
        self.emit(|| AuthEvent::Logout {
            provider: provider.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
        });
    }

    /// A back-channel logout token was accepted: the sessions it names are revoked (`by` is
    /// `"sid"` or `"sub"`; neither value is logged but the user id).
    pub(crate) fn backchannel_accepted(
        &self,
        provider: &str,
        by: &'static str,
        user_id: Option<&str>,
    ) {
        tracing::info!(provider, by, user_id, "back-channel logout accepted");
        #[cfg(feature = "metrics")]
        metered::backchannel_logout(provider, "accepted");
        self.emit(|| AuthEvent::BackchannelLogout {
            provider: provider.to_owned(),
            user_id: user_id.map(str::to_owned),
            refused: None,
        });
    }

    /// A back-channel logout token was refused, for `reason` (a fixed text).
    pub(crate) fn backchannel_refused(&self, provider: &str, reason: &'static str) {
        tracing::info!(provider, reason, "back-channel logout refused");
        #[cfg(feature = "metrics")]
        metered::backchannel_logout(provider, "refused");
        self.emit(|| AuthEvent::BackchannelLogout {
            provider: provider.to_owned(),
            user_id: None,
            refused: Some(reason),
        });
    }

    /// One identity check of a passed-through request: an identity (`None`), or why there is
    /// none.
    #[cfg(feature = "metrics")]
    pub(crate) fn identity_checked(&self, refused: Option<NoIdentity>) {
        self.identity_checks.count(refused);
    }

    /// Runs the hook, if any, on the event `make` builds. The hook cannot change the answer:
    /// it sees the event only, and a panic in it is caught and logged.
    fn emit(&self, make: impl FnOnce() -> AuthEvent) {
        let Some(hook) = &self.hook else {
            return;
        };
        let event = make();
        if catch_unwind(AssertUnwindSafe(|| (hook.0)(&event))).is_err() {
            tracing::error!(event = event.name(), "the on_event hook panicked");
        }
    }
}

/// Why a passed-through request has no identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoIdentity {
    /// No identity cookie and no bearer token.
    Absent,
    /// A token that is not ours, is tampered with or malformed, or several identity cookies.
    Invalid,
    /// A token of ours whose time is over.
    Expired,
    /// A token of ours whose session is revoked (or cannot be checked: see
    /// [`StalePolicy`](crate::revocation::StalePolicy)).
    Revoked,
    /// A provider access token the provider could not be asked about.
    #[cfg_attr(
        not(feature = "metrics"),
        allow(dead_code, reason = "only the metrics count it")
    )]
    Unavailable,
}

/// A provider's name as a metric label: a tenant's provider (`sso:<tenant>`) is counted as
/// `sso`, as tenants are unbounded in number; the `on_event` hook sees the tenant.
pub(crate) fn metric_label(provider: &str) -> &str {
    provider
        .split_once(':')
        .map_or(provider, |(family, _tenant)| family)
}

/// One call to a provider took `elapsed`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn provider_call(provider: &str, endpoint: &'static str, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(
        "socialauth_provider_call_duration_seconds",
        "provider" => provider.to_owned(),
        "endpoint" => endpoint,
    )
    .record(elapsed.as_secs_f64());
}

#[cfg(feature = "metrics")]
mod metered {
    //! The metrics, by name. Logins are counted with a lookup per login (a login costs
    //! milliseconds); the identity check of every passed-through request uses handles
    //! registered once, when the layer is built.

    use metrics::{counter, Counter};

    use super::NoIdentity;
    use crate::error::AuthErrorKind;

    pub(super) fn login_started(provider: &str) {
        counter!("socialauth_logins_started_total", "provider" => provider.to_owned()).increment(1);
    }

    pub(super) fn login_succeeded(provider: &str) {
        counter!("socialauth_logins_succeeded_total", "provider" => provider.to_owned())
            .increment(1);
    }

    pub(super) fn login_failed(provider: &str, error: AuthErrorKind) {
        counter!(
            "socialauth_logins_failed_total",
            "provider" => provider.to_owned(),
            "error" => error.code(),
        )
        .increment(1);
    }

    pub(super) fn backchannel_logout(provider: &str, outcome: &'static str) {
        counter!(
            "socialauth_backchannel_logouts_total",
            "provider" => provider.to_owned(),
            "outcome" => outcome,
        )
        .increment(1);
    }

    /// One handle per outcome.
    #[derive(Debug)]
    pub(super) struct IdentityChecks {
        valid: Counter,
        absent: Counter,
        invalid: Counter,
        expired: Counter,
        revoked: Counter,
        unavailable: Counter,
    }

    impl IdentityChecks {
        pub(super) fn register() -> Self {
            let handle = |outcome: &'static str| counter!("socialauth_identity_checks_total", "outcome" => outcome);
            Self {
                valid: handle("valid"),
                absent: handle("absent"),
                invalid: handle("invalid"),
                expired: handle("expired"),
                revoked: handle("revoked"),
                unavailable: handle("unavailable"),
            }
        }

        pub(super) fn count(&self, refused: Option<NoIdentity>) {
            let counter = match refused {
                None => &self.valid,
                Some(NoIdentity::Absent) => &self.absent,
                Some(NoIdentity::Invalid) => &self.invalid,
                Some(NoIdentity::Expired) => &self.expired,
                Some(NoIdentity::Revoked) => &self.revoked,
                Some(NoIdentity::Unavailable) => &self.unavailable,
            };
            counter.increment(1);
        }
    }
}
