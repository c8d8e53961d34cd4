//! How a fake provider treats PKCE and client authentication when it differs from the strict
//! default (an S256 challenge always, its verifier always, the client always authenticated):
//! the rules LinkedIn and Slack document or are reported to apply, for any fake on the
//! [`super::harness`] to take.

use http::request::Parts;
use serde_json::json;

use super::harness::{self, Fake, Grant, Provider, Refusal, Reject, TokenRefusal};
use super::server;

/// What the provider does with PKCE and the client's secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceRule {
    /// An S256 challenge on every authorization request, its verifier at the token endpoint.
    Required,
    /// Not for this app (LinkedIn's web apps): a challenge is ignored, and a token request
    /// carrying a `code_verifier` is answered `401 invalid_client` ("Client authentication
    /// failed"), as reported in teamhanko/hanko#2405, nextauthjs/next-auth#8831 and
    /// UsefulSoftwareCo/executor#2087; LinkedIn enables PKCE per native app only
    /// (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow-native>).
    RefusedAsInvalidClient,
    /// A Slack app without PKCE turned on, a confidential client: the client secret is
    /// required (`bad_client_secret` without); a challenge, when sent, binds the code to its
    /// verifier (RFC 7636).
    SlackConfidentialApp,
    /// A Slack app with PKCE turned on, which Slack makes a public client
    /// (<https://docs.slack.dev/authentication/using-pkce>): a token request with a verifier
    /// and no secret is a public client's and is taken; one with the secret and no challenge
    /// is the confidential flow, taken too; one with both fails with Slack's
    /// `internal_error` (paradigmxyz/centaur#1100, #1101).
    SlackPkceApp,
}

impl PkceRule {
    /// Slack's rules, and Slack's error answers: status 200, `{"ok": false, "error": ...}`
    /// (<https://docs.slack.dev/reference/methods/openid.connect.token>).
    fn is_slack(self) -> bool {
        matches!(self, Self::SlackConfidentialApp | Self::SlackPkceApp)
    }
}

/// The authorization request's checks ([`harness::authorization_request`]); under a rule
/// that does not require PKCE, a request without a challenge is checked the same with a
/// stand-in one, and its grant holds none. LinkedIn ignores a challenge altogether.
pub fn authorization(parts: &Parts, client_id: &str, rule: PkceRule) -> Result<Grant, Reject> {
    let query = server::query_pairs(&parts.uri);
    let sent = server::param(&query, "code_challenge").is_some()
        || server::param(&query, "code_challenge_method").is_some();
    let grant = if rule == PkceRule::Required || sent {
        harness::authorization_request(parts, client_id, 32)?
    } else {
        let stand_in = harness::pkce_challenge("a stand-in verifier for the checks");
        let sep = if parts.uri.query().is_some() {
            '&'
        } else {
            '?'
        };
        let uri = format!(
            "{}{sep}code_challenge={stand_in}&code_challenge_method=S256",
            parts.uri
        );
        let (mut probe, ()) = http::Request::new(()).into_parts();
        probe.uri = uri
            .parse()
            .map_err(|_| Reject::page("unparsable request"))?;
        let grant = harness::authorization_request(&probe, client_id, 32)?;
        Grant {
            challenge: String::new(),
            ..grant
        }
    };
    Ok(match rule {
        PkceRule::RefusedAsInvalidClient => Grant {
            challenge: String::new(),
            ..grant
        },
        _ => grant,
    })
}

/// Slack's error answer: status 200, `{"ok": false, "error": code}`.
fn slack_error(code: &str, reason: &str) -> Reject {
    Reject::new(
        format!("{code}: {reason}"),
        server::json(200, &json!({"ok": false, "error": code})),
    )
}

/// The client authentication and PKCE rules of a token request under `rule`, before the
/// code is redeemed: `Ok(true)` when the request is a public client's, taken here without a
/// secret; `Ok(false)` when the caller authenticates the client as usual.
pub fn token_rules(
    parts: &Parts,
    form: &[(String, String)],
    client_id: &str,
    rule: PkceRule,
) -> Result<bool, Reject> {
    let verifier = server::param(form, "code_verifier").is_some();
    let secret = server::param(form, "client_secret").is_some()
        || harness::basic_credentials(parts).is_some();
    match rule {
        PkceRule::RefusedAsInvalidClient if verifier => Err(harness::oauth_error(
            401,
            "invalid_client",
            "Client authentication failed",
        )),
        PkceRule::SlackPkceApp if verifier && secret => Err(slack_error(
            "internal_error",
            "a PKCE app's token request with client_secret and code_verifier",
        )),
        PkceRule::SlackPkceApp if !secret => {
            if server::param(form, "client_id") != Some(client_id) {
                return Err(slack_error("invalid_client_id", "unknown client_id"));
            }
            if !verifier {
                return Err(slack_error(
                    "bad_client_secret",
                    "neither client_secret nor code_verifier",
                ));
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// [`Fake::redeem_grant`] under `rule`: without required PKCE, a code issued without a
/// challenge is redeemed without a verifier, and one issued with a challenge needs its
/// verifier.
pub fn redeem<P: Provider>(
    fake: &Fake<P>,
    form: &[(String, String)],
    rule: PkceRule,
) -> Result<Grant, TokenRefusal> {
    if rule == PkceRule::Required {
        return fake.redeem_grant(form);
    }
    let get = |name| server::param(form, name);
    if get("grant_type") != Some("authorization_code") {
        return Err(TokenRefusal::GrantType);
    }
    let grant = fake
        .redeem_code(get("code").unwrap_or(""), get("redirect_uri"))
        .map_err(TokenRefusal::Code)?;
    match (grant.challenge.is_empty(), get("code_verifier")) {
        (true, None) => Ok(grant),
        (false, Some(verifier)) if grant.verifies(verifier) => Ok(grant),
        _ => Err(TokenRefusal::Pkce),
    }
}

/// How a refused token request is answered under `rule`: in Slack's shape for Slack, else
/// `None` (the fake's own OAuth error).
pub fn refusal(rule: PkceRule, refusal: &TokenRefusal) -> Option<Reject> {
    if !rule.is_slack() {
        return None;
    }
    Some(match refusal {
        TokenRefusal::Code(Refusal::RedirectUri(_)) => {
            slack_error("bad_redirect_uri", "redirect_uri differs")
        }
        TokenRefusal::Pkce => slack_error("invalid_code_verifier", "PKCE verification failed"),
        TokenRefusal::Client(_, why) => slack_error("bad_client_secret", why),
        _ => slack_error("invalid_code", "unknown or used code"),
    })
}
