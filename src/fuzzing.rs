//! Internals exposed to the fuzz targets in `fuzz/` (feature `fuzzing`, off by default).
//! Thin wrappers only: each calls the code the layer runs, unchanged. Not a public API.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use http::{HeaderName, HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::outbound::Reply;
use crate::provider::oidc::id_token;
use crate::provider::{CallbackKey, CallbackParams, Provider};
use crate::{Identity, Oidc, SocialAuth, SocialAuthLayer, Twitter};

/// The secret of the layer [`identify`] runs; fuzz targets sign tokens with keys derived
/// from it.
pub const SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-32";

/// `return_to` validation: the value kept, or `None` when the default is used instead.
pub fn return_to(value: &str) -> Option<&str> {
    crate::state::return_to::validate(value)
}

/// What a provider's callback says about its attempt, as each protocol reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// The query is refused (a repeated or missing parameter, too many parameters...).
    Refused,
    /// Look up and check the flow cookie of this attempt key.
    Continue(String),
    /// The user or the provider ended the login; the attempt key, when given.
    Cancelled {
        /// The attempt key (`state`, or Twitter's `denied` token).
        key: Option<String>,
        /// Whether the user cancelled (as opposed to a provider error).
        by_user: bool,
    },
}

/// Parses a callback query and reads it as an OAuth 2.0, an OpenID Connect and an
/// OAuth 1.0a provider would, in that order; each parameter's value is also returned.
pub fn callback(query: &str) -> (Vec<CallbackOutcome>, Vec<(String, Option<String>)>) {
    static PROVIDERS: OnceLock<[Provider; 2]> = OnceLock::new();
    let providers = PROVIDERS.get_or_init(|| {
        [
            Oidc::new("https://idp.example", "client", "secret").into(),
            Twitter::new("key", "secret").into(),
        ]
    });
    let Ok(params) = CallbackParams::parse(query) else {
        return (vec![CallbackOutcome::Refused; 3], Vec::new());
    };
    let outcome = |key: Result<CallbackKey<'_>, _>| match key {
        Ok(CallbackKey::Continue(key)) => CallbackOutcome::Continue(key.to_owned()),
        Ok(CallbackKey::Refused { key, by_user }) => CallbackOutcome::Cancelled {
            key: key.map(str::to_owned),
            by_user,
        },
        Err(_) => CallbackOutcome::Refused,
    };
    let mut outcomes = vec![outcome(crate::provider::oauth2::callback_key(&params))];
    for provider in providers {
        match &provider.built {
            Ok(provider) => outcomes.push(outcome(provider.callback_key(&params))),
            Err(_) => outcomes.push(CallbackOutcome::Refused),
        }
    }
    let values = [
        "state",
        "code",
        "error",
        "iss",
        "oauth_token",
        "oauth_verifier",
        "denied",
    ]
    .iter()
    .map(|name| ((*name).to_owned(), params.get(name).map(str::to_owned)))
    .collect();
    (outcomes, values)
}

/// An OAuth 1.0a provider answer (`request_token`, `access_token`) read as a form, as the
/// OAuth 1.0a flow reads it; `None` when it is not one.
pub fn oauth1_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    Reply {
        status: http::StatusCode::OK,
        body: bytes::Bytes::copy_from_slice(body),
    }
    .form()
}

/// The parts of an ID token's JOSE header the layer uses: the algorithm's name and the
/// `kid`, or the rule that refused it. The default allowed algorithms (RS256, ES256).
pub fn id_token_header(token: &str) -> Result<(String, Option<String>), &'static str> {
    let allowed = [
        jsonwebtoken::Algorithm::RS256,
        jsonwebtoken::Algorithm::ES256,
    ];
    id_token::read_header(token, &allowed).map(|h| (format!("{:?}", h.alg), h.kid))
}

/// ID token claims (JSON) parsed and checked at time `now` for issuer
/// `https://idp.example`, client `client` and nonce `nonce`: the `sub` accepted, or why not.
pub fn id_token_claims(json: &[u8], now: u64) -> Result<String, String> {
    let claims: id_token::Claims =
        serde_json::from_slice(json).map_err(|_| "claims do not parse".to_owned())?;
    let expected = id_token::Expected {
        issuers: &["https://idp.example"],
        client_id: "client",
        nonce: id_token::NonceRule::Required("nonce"),
    };
    id_token::check_claims(&claims, &expected, now).map_err(str::to_owned)?;
    Ok(claims.sub)
}

/// The most bytes [`tokens_chunks`] joins.
pub const MAX_TOKENS_CHUNKED_LEN: usize = crate::state::chunked::MAX_CHUNKED_LEN;

/// The name the provider tokens cookies are numbered under (Secure cookies on).
pub const TOKENS_COOKIE: &str = "__Host-socialauth-tokens";

/// The provider tokens value a request with these `Cookie` headers carries (invalid header
/// values are left out), its chunks joined, as the layer reads it; `None` when there is none
/// or the cookies are not one well-formed set.
pub fn tokens_chunks(cookie_headers: &[&[u8]]) -> Option<String> {
    let mut headers = http::HeaderMap::new();
    for value in cookie_headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(http::header::COOKIE, value);
        }
    }
    match crate::state::chunked::read(&headers, TOKENS_COOKIE).0 {
        crate::state::chunked::Chunks::One(value) => Some(value),
        _ => None,
    }
}

/// A sealed provider tokens value cut into cookies as the layer writes them (`name`,
/// `value`), with `attributes` bytes of attributes per `Set-Cookie`; `None` when it needs
/// too many.
pub fn split_tokens(value: &str, attributes: usize) -> Option<Vec<(String, String)>> {
    crate::state::chunked::split(TOKENS_COOKIE, value, attributes).map(|parts| {
        parts
            .into_iter()
            .map(|(name, part)| (name, part.to_owned()))
            .collect()
    })
}

/// The `logout_token` of a back-channel logout's form body, as the route reads it (one,
/// non-empty, no parameter repeated), or the rule that refused the form.
pub fn logout_form(form: &str) -> Result<String, &'static str> {
    crate::routes::backchannel_logout::logout_token_param(form)
}

/// A logout token's header `typ` checked, and its claims (JSON) read and checked at time
/// `now` for issuer `https://idp.example` and client `client`, as after a valid signature:
/// the `(sid, sub, jti, replayable_until)` accepted, or the rule that refused it.
#[allow(clippy::type_complexity)]
pub fn logout_token_claims(
    typ: Option<&str>,
    json: &[u8],
    now: u64,
) -> Result<(Option<String>, Option<String>, String, u64), &'static str> {
    use crate::provider::oidc::logout_token::{check_typ, Unchecked};
    check_typ(typ)?;
    let token = Unchecked::read(json)?.check(&["https://idp.example"], "client", now)?;
    Ok((token.sid, token.sub, token.jti, token.replayable_until))
}

/// What the layer takes from a provider access token or an introspection answer it
/// accepted: the subject, the client, the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    /// `sub`, or the client for a client's own token.
    pub subject: String,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

impl From<crate::provider::access_token::TokenFacts> for AccessFacts {
    fn from(facts: crate::provider::access_token::TokenFacts) -> Self {
        Self {
            subject: facts.subject,
            client_id: facts.client_id,
            scopes: facts.scopes,
        }
    }
}

/// JWT access token claims (JSON) parsed and checked at time `now` for issuer
/// `https://idp.example` and audience `https://api.example`, under the JOSE header `typ`:
/// the facts, or why not.
pub fn access_token_claims(
    json: &[u8],
    typ: Option<&str>,
    now: u64,
) -> Result<AccessFacts, String> {
    use crate::provider::oidc::access_token::{check_claims, Claims, Expected};
    let claims: Claims = crate::provider::oidc::jws::json_object(json)
        .ok_or_else(|| "claims do not parse".to_owned())?;
    let expected = Expected {
        issuers: &["https://idp.example"],
        audience: "https://api.example",
        typ,
    };
    check_claims(&claims, &expected, now).map_err(str::to_owned)?;
    Ok(claims.into_facts(serde_json::Map::new(), true).into())
}

/// An introspection answer's body read at time `now` for issuer `https://idp.example` and
/// audience `https://api.example`: the facts, or `Err(true)` for a token refused,
/// `Err(false)` for an answer that is not RFC 7662's.
pub fn introspection_answer(body: &[u8], now: u64) -> Result<AccessFacts, bool> {
    use crate::provider::access_token::Refusal;
    use crate::provider::oauth2::introspection::{read_answer, Expected};
    let expected = Expected {
        issuers: &["https://idp.example"],
        audience: "https://api.example",
        verified_emails: true,
    };
    read_answer(body, &expected, now)
        .map(AccessFacts::from)
        .map_err(|refusal| matches!(refusal, Refusal::Invalid(_)))
}

/// How the layer reads a bearer token before checking it: whether it has the shape of a
/// compact JWS, and the issuer it claims (unverified).
pub fn bearer_token_shape(token: &str) -> (bool, Option<String>) {
    use crate::provider::oidc::jws;
    (jws::looks_like_jws(token), jws::unverified_issuer(token))
}

/// The inner service of [`identify`]: answers with the request's identity in the
/// response's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Echo;

impl Service<Request<String>> for Echo {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<String>) -> Self::Future {
        let mut response = Response::new(());
        if let Some(identity) = request.extensions().get::<Identity>() {
            response.extensions_mut().insert(identity.clone());
        }
        ready(Ok(response))
    }
}

/// Sends `GET /` with these headers (invalid names or values are left out) through a layer
/// with [`SECRET`], and returns the identity the app would see. The whole public path:
/// cookie parsing, token verification, and whatever else gives a request an identity.
pub fn identify(headers: &[(&[u8], &[u8])]) -> Option<Identity> {
    static SERVICE: OnceLock<SocialAuth<Echo>> = OnceLock::new();
    let service = SERVICE.get_or_init(|| {
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(Twitter::new("key", "secret"))
            .build()
            .map(|layer| layer.layer(Echo))
            .unwrap_or_else(|e| panic!("the fuzzing layer does not build: {e}"))
    });
    let mut request = Request::new(String::new());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            request.headers_mut().append(name, value);
        }
    }
    let mut service = service.clone();
    let future = std::pin::pin!(service.call(request));
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(response)) => response.extensions().get::<Identity>().cloned(),
        _ => panic!("the layer answered `GET /` asynchronously"),
    }
}

/// The tenant key of a `/auth/sso/<tenant>` path segment, when it is one.
pub fn tenant_key(segment: &str) -> Option<String> {
    crate::tenants::TenantKey::new(segment)
        .ok()
        .map(|key| key.as_str().to_owned())
}

/// The domain `/auth/sso?email=` (or `domain=`) finds a tenant by, when the value has one.
pub fn email_domain(value: &str) -> Option<String> {
    crate::tenants::email_domain(value)
}
