//! A strict fake of GitHub's OAuth web flow and REST API on one base URL, laid out like
//! GitHub Enterprise Server: `/login/oauth/authorize` (the user approves or denies),
//! `/login/oauth/access_token` (code exchange: client authentication, single-use code,
//! byte-equal `redirect_uri`, S256 PKCE), and the API under `/api/v3`: `/user` and
//! `/user/emails` (bearer token, `User-Agent`, `Accept: application/vnd.github+json` or
//! `application/json`, recorded).
//!
//! Like GitHub, the token endpoint answers refusals with status **200** and an `error`
//! member (`bad_verification_code`, `incorrect_client_credentials`, `redirect_uri_mismatch`),
//! and answers form-encoded unless asked for JSON. `/user/emails` is 404 for a token without
//! the `user:email` scope. The server, counters, faults, codes and the user who denies are
//! the [`super::harness`]'s.
//!
//! `/user`'s `email` is the public profile email, which GitHub documents as what the user
//! chose to show, with no word on verification
//! (<https://docs.github.com/en/rest/users/users#get-the-authenticated-user>); only
//! `/user/emails` says which addresses are `verified`
//! (<https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user>,
//! read 2026-12-06). The default user's public email is one `/user/emails` lists as
//! unverified.

use http::header::{ACCEPT, USER_AGENT};
use http::request::Parts;
use http::{Method, Response};
use serde_json::{json, Value};

pub use super::harness::TokenAuth;
use super::harness::{self, Fake, Provider, Refusal, Reject, TokenRefusal, Tokens};
use super::server::{self, FakeBody};

#[derive(Clone, Debug)]
pub struct Email {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

#[derive(Clone, Debug)]
pub struct GitHubConfig {
    pub client_id: String,
    pub client_secret: String,
    pub token_auth: TokenAuth,
    pub user_id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The public profile email (`null` in `/user` when `None`).
    pub public_email: Option<String>,
    pub emails: Vec<Email>,
}

impl GitHubConfig {
    /// `gh-client-id` / `gh-client-secret` (Post), user 583231 `octocat` "The Octocat" with an
    /// unverified public email and, in `/user/emails`, a verified primary one and another
    /// verified one.
    pub fn new() -> Self {
        GitHubConfig {
            client_id: "gh-client-id".into(),
            client_secret: "gh-client-secret".into(),
            token_auth: TokenAuth::Post,
            user_id: 583231,
            login: "octocat".into(),
            name: Some("The Octocat".into()),
            public_email: Some("octocat@github.com".into()),
            emails: vec![
                Email {
                    email: "old@example.com".into(),
                    primary: false,
                    verified: true,
                },
                Email {
                    email: "octo.primary@example.com".into(),
                    primary: true,
                    verified: true,
                },
                Email {
                    email: "octocat@github.com".into(),
                    primary: false,
                    verified: false,
                },
            ],
        }
    }
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    User,
    Emails,
}

/// A running fake GitHub: `base_url` is the web host; the API is at `{base_url}/api/v3`.
pub type FakeGitHub = Fake<GitHubConfig>;

#[derive(Default)]
pub struct State {
    /// Scopes comma-separated, as GitHub lists them.
    tokens: Tokens,
    token_auth_seen: Vec<TokenAuth>,
    api_accept_seen: Vec<String>,
}

pub async fn start(cfg: GitHubConfig) -> FakeGitHub {
    harness::start(cfg).await
}

impl FakeGitHub {
    /// `{base_url}/api/v3`, as GitHub Enterprise Server lays it out.
    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.base_url)
    }

    /// How each accepted token request authenticated, oldest first.
    pub fn token_auth_seen(&self) -> Vec<TokenAuth> {
        self.state().token_auth_seen.clone()
    }

    /// The `Accept` header of each accepted API call, oldest first.
    pub fn api_accept_seen(&self) -> Vec<String> {
        self.state().api_accept_seen.clone()
    }
}

/// GitHub's token-endpoint refusal: status 200, `{"error": code, ...}`.
fn oauth(code: &str, description: impl Into<String>) -> Reject {
    let description = description.into();
    let body = json!({"error": code, "error_description": description,
                      "error_uri": "https://docs.github.com/apps/troubleshooting"});
    Reject::new(format!("{code}: {description}"), server::json(200, &body))
}

/// A REST API error: status and message.
fn api(status: u16, message: impl Into<String>) -> Reject {
    let message = message.into();
    let body = json!({"message": message, "documentation_url": "https://docs.github.com/rest"});
    Reject::new(message, server::json(status, &body))
}

impl Provider for GitHubConfig {
    type Endpoint = Endpoint;
    type State = State;
    const AUTHORIZE: Endpoint = Endpoint::Authorize;

    fn route(&self, path: &str) -> Option<Endpoint> {
        Some(match path {
            "/login/oauth/authorize" => Endpoint::Authorize,
            "/login/oauth/access_token" => Endpoint::Token,
            "/api/v3/user" => Endpoint::User,
            "/api/v3/user/emails" => Endpoint::Emails,
            _ => return None,
        })
    }

    fn not_found(&self, _path: &str) -> Response<FakeBody> {
        server::json(404, &json!({"message": "Not Found"}))
    }

    fn answer(
        fake: &FakeGitHub,
        endpoint: Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        match (endpoint, &parts.method) {
            (Endpoint::Authorize, &Method::GET) => authorize(fake, parts),
            (Endpoint::Token, _) if harness::is_form_post(parts) => token(fake, parts, body),
            (Endpoint::User, &Method::GET) => user(fake, parts),
            (Endpoint::Emails, &Method::GET) => emails(fake, parts),
            (_, method) => Err(api(404, format!("{method} not supported here"))),
        }
    }
}

fn authorize(fake: &FakeGitHub, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let grant = harness::authorization_request(parts, &fake.config().client_id, 32)?;
    let refusal = [
        ("error", "access_denied"),
        (
            "error_description",
            "The user has denied your application access.",
        ),
    ];
    Ok(fake.redirect_back(grant, &refusal))
}

fn token(fake: &FakeGitHub, parts: &Parts, body: &[u8]) -> Result<Response<FakeBody>, Reject> {
    let cfg = fake.config();
    let exchanged = fake.exchange_code(
        parts,
        body,
        cfg.token_auth,
        &cfg.client_id,
        &cfg.client_secret,
    );
    let grant = exchanged.map_err(|refusal| match refusal {
        TokenRefusal::Client("invalid_client", why) => oauth("incorrect_client_credentials", why),
        TokenRefusal::Client(code, why) => oauth(code, why),
        TokenRefusal::GrantType => oauth("unsupported_grant_type", "bad grant_type"),
        TokenRefusal::Code(Refusal::RedirectUri(_)) => oauth(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        ),
        TokenRefusal::Code(_) => oauth(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        ),
        TokenRefusal::Pkce => oauth(
            "invalid_grant",
            "The code_verifier does not match the challenge.",
        ),
    })?;
    let scope = grant.scope.replace(' ', ",");
    let mut state = fake.state();
    let access_token = state.tokens.issue("gho_", 18, &scope);
    state.token_auth_seen.push(cfg.token_auth);
    drop(state);
    let wants_json = parts
        .headers
        .get(ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.contains("application/json"));
    if wants_json {
        Ok(server::json(
            200,
            &json!({"access_token": access_token, "token_type": "bearer", "scope": scope}),
        ))
    } else {
        // What GitHub answers without `Accept: application/json`.
        Ok(server::response(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            format!("access_token={access_token}&scope={scope}&token_type=bearer"),
        ))
    }
}

/// Checks the REST API's headers and token; returns the token's scopes.
fn api_token(fake: &FakeGitHub, parts: &Parts) -> Result<String, Reject> {
    if parts.headers.get(USER_AGENT).is_none() {
        return Err(api(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        ));
    }
    let accept = parts
        .headers
        .get(ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if accept != "application/vnd.github+json" && accept != "application/json" {
        return Err(api(415, format!("unexpected Accept {accept:?}")));
    }
    let mut state = fake.state();
    state.api_accept_seen.push(accept.to_owned());
    let token = harness::authorization_value(parts, "Bearer")
        .or_else(|| harness::authorization_value(parts, "token"))
        .ok_or_else(|| api(401, "Requires authentication"))?;
    state
        .tokens
        .scopes(token)
        .ok_or_else(|| api(401, "Bad credentials"))
}

fn user(fake: &FakeGitHub, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    api_token(fake, parts)?;
    let cfg = fake.config();
    Ok(server::json(
        200,
        &json!({
            "login": cfg.login, "id": cfg.user_id, "node_id": "MDQ6VXNlcjE=",
            "type": "User", "site_admin": false,
            "name": cfg.name, "email": cfg.public_email,
            "created_at": "2011-01-25T18:44:36Z",
        }),
    ))
}

fn emails(fake: &FakeGitHub, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let scopes = api_token(fake, parts)?;
    if !scopes.split(',').any(|s| s == "user:email" || s == "user") {
        return Err(api(404, "Not Found"));
    }
    let cfg = fake.config();
    let list: Vec<Value> = cfg
        .emails
        .iter()
        .map(|e| {
            let visibility = match (cfg.public_email.as_ref() == Some(&e.email), e.primary) {
                (true, _) => Value::from("public"),
                (false, true) => Value::from("private"),
                (false, false) => Value::Null,
            };
            json!({"email": e.email, "primary": e.primary, "verified": e.verified,
                   "visibility": visibility})
        })
        .collect();
    Ok(server::json(200, &Value::Array(list)))
}
