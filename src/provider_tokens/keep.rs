//! [`KeepTokens`]: which of the provider's tokens the layer keeps for a sign-in, and
//! [`TokensKept`]: which it kept.

/// Which of the provider's tokens the layer keeps in the tokens cookie after a login, for
/// [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens). `true` is
/// [`Fitting`](Self::Fitting), `false` is [`Off`](Self::Off).
///
/// Whatever is kept must fit the [`CookieBudget`](crate::CookieBudget); a login whose tokens
/// do not fit in the way chosen fails with `500 internal_error` saying so.
///
/// ```
/// use socialauth::{KeepTokens, SocialAuthLayer};
/// let builder = SocialAuthLayer::builder().keep_provider_tokens(KeepTokens::RefreshTokenOnly);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeepTokens {
    /// Keep nothing (the default): the authorize hook still sees the tokens.
    #[default]
    Off,
    /// Keep as much as fits the budget, dropping in this order: first the ID token (provider
    /// logout then sends `logout_hint` instead of `id_token_hint`), then the access token too,
    /// keeping the refresh token alone ([`RefreshTokenOnly`](Self::RefreshTokenOnly)).
    Fitting,
    /// Keep every token (the access token, the refresh token, the ID token), in as many
    /// cookie chunks as that takes, or fail the login when they do not fit the budget.
    All,
    /// Keep the refresh token alone, the smallest cookie: access tokens come from a refresh
    /// on the first use in each process, and are then held in that process's memory for
    /// the sign-in until they expire (bounded: at most 10,000 sign-ins per process). A
    /// login without a refresh token fails. Costs one refresh per process per sign-in per
    /// access-token lifetime, and no ID token is ever kept.
    RefreshTokenOnly,
}

impl From<bool> for KeepTokens {
    /// `true`: [`KeepTokens::Fitting`]; `false`: [`KeepTokens::Off`].
    fn from(keep: bool) -> Self {
        if keep {
            Self::Fitting
        } else {
            Self::Off
        }
    }
}

impl KeepTokens {
    /// Whether any token is kept.
    pub(crate) fn is_on(self) -> bool {
        self != Self::Off
    }

    /// What to try keeping, in order, until one fits.
    pub(crate) fn tries(self) -> &'static [TokensKept] {
        match self {
            Self::Off => &[],
            Self::Fitting => &[
                TokensKept::All,
                TokensKept::WithoutIdToken,
                TokensKept::RefreshTokenOnly,
            ],
            Self::All => &[TokensKept::All],
            Self::RefreshTokenOnly => &[TokensKept::RefreshTokenOnly],
        }
    }
}

/// Which of a sign-in's tokens its tokens cookie holds: see
/// [`ProviderTokens::kept`](crate::ProviderTokens::kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokensKept {
    /// Every token the provider issued: access, refresh (when issued) and ID token (when
    /// issued).
    All,
    /// The access and refresh tokens; the provider's ID token was dropped to fit the budget.
    WithoutIdToken,
    /// The refresh token alone: access tokens come from refreshes, held in the process's
    /// memory per sign-in.
    RefreshTokenOnly,
}
