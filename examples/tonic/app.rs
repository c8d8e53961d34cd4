//! The tonic example's app, apart from `main` so that the tests serve and call it too: a
//! `Greeter` gRPC service written by hand (prost-derived messages, tonic's `server::Grpc`
//! and `client::Grpc`; no `build.rs`, no protoc) behind `SocialAuthLayer`, served by
//! hyper-util's auto connection builder so that one port speaks gRPC over HTTP/2 and the
//! auth routes over HTTP/1.1.
//!
//! A gRPC client signs in by sending a bearer token as metadata, `authorization: Bearer
//! <token>`: that is the HTTP/2 `authorization` header, which the layer verifies like the
//! identity cookie. Two kinds of token are taken:
//!
//! - the layer's own, which [`sign_in`] gets the way a signed-in browser would: a login
//!   through the layer, then `GET /auth/token`;
//! - the provider's access token for the greeter ([`GREETER`]), with the layer's provider
//!   given `Oidc::access_tokens`: what a service gets from the provider itself with its own
//!   client credentials ([`client_credentials`]), or a mobile app or CLI from its login
//!   there. The greeter then wants the scope [`GREET`].

use std::collections::BTreeMap;
use std::convert::Infallible;

use http::uri::PathAndQuery;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use socialauth::{AuthMethod, Identity, SocialAuthLayer};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::ServiceExt;

/// The error type of the example's plumbing.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// `message HelloRequest { string name = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `message HelloReply { string message = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

/// `rpc SayHello (HelloRequest) returns (HelloReply)` of `service greeter.Greeter`.
pub const SAY_HELLO: &str = "/greeter.Greeter/SayHello";

/// The greeter's identifier at the provider: the audience (RFC 8707 resource) its access
/// tokens must be for.
pub const GREETER: &str = "https://greeter.example";

/// The scope a provider access token needs to be greeted.
pub const GREET: &str = "greet";

/// The method: greets a signed-in caller with who the layer says they are. tonic moves the
/// HTTP request's extensions, where the layer put the `Identity`, into the gRPC request's.
pub async fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let Some(user) = request.extensions().get::<Identity>() else {
        return Err(Status::unauthenticated(
            "sign in first: send `authorization: Bearer <token>`, from GET /auth/token or \
             the provider",
        ));
    };
    let mut message = format!(
        "hello, {} ({}:{})",
        request.get_ref().name,
        user.provider(),
        user.user_id()
    );
    // A client acting with the provider's token gets what its scopes allow.
    if user.auth_method() == AuthMethod::ProviderAccessToken {
        if !user.has_scope(GREET) {
            return Err(Status::permission_denied(
                "the access token lacks the scope greet",
            ));
        }
        message.push_str(&format!(
            " by client {} with scopes {}",
            user.client_id().unwrap_or("?"),
            user.scopes().join(" ")
        ));
    }
    Ok(Response::new(HelloReply { message }))
}

/// The service's HTTP side, what generated code would write: routes a request by its path
/// to the method, decoding and encoding with prost. Any other path is `Unimplemented`.
pub async fn route(
    req: http::Request<Incoming>,
) -> Result<http::Response<tonic::body::Body>, Infallible> {
    Ok(match req.uri().path() {
        SAY_HELLO => {
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
            grpc.unary(tower::service_fn(say_hello), req).await
        }
        _ => Status::unimplemented("no such method").into_http(),
    })
}

/// Serves the greeter behind `auth` on `listener` (HTTP/2 and HTTP/1.1), one task per
/// connection, until the task running this is dropped.
pub async fn serve(listener: TcpListener, auth: SocialAuthLayer) -> std::io::Result<()> {
    // A tower service, the layer around the router; its body is `ResponseBody<tonic Body>`.
    let app = tower::ServiceBuilder::new().layer(auth).service_fn(route);
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| app.clone().oneshot(req));
            if let Err(error) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}

/// A gRPC channel to the server at `base` (`http://127.0.0.1:PORT`).
pub async fn connect(base: &str) -> Result<Channel, Error> {
    Ok(Channel::from_shared(base.to_owned())?.connect().await?)
}

/// The client side of `SayHello`, as generated code would write it: calls it on `channel`
/// with `name`, sending `token` (when given) as `authorization: Bearer <token>` metadata.
pub async fn call_say_hello(
    channel: Channel,
    name: &str,
    token: Option<&str>,
) -> Result<String, Status> {
    let mut request = Request::new(HelloRequest {
        name: name.to_owned(),
    });
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::invalid_argument("the token is not ASCII"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|error| Status::unavailable(format!("service not ready: {error}")))?;
    let reply: Response<HelloReply> = client
        .unary(
            request,
            PathAndQuery::from_static(SAY_HELLO),
            ProstCodec::<HelloRequest, HelloReply>::default(),
        )
        .await?;
    Ok(reply.into_inner().message)
}

/// Signs in at the server at `base` through its `/auth/dev` provider and returns the
/// identity token from `GET /auth/token`: what a browser does, by hand. The dev provider
/// must approve on its own (`DevProvider::sign_in_as`). Redirects are followed one by one,
/// keeping the server's cookies (the flow cookie, then the identity cookie).
pub async fn sign_in(base: &str) -> Result<String, Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut jar = Jar::default();
    let mut url = reqwest::Url::parse(&format!("{base}/auth/dev?login=start"))?;
    let home = reqwest::Url::parse(&format!("{base}/"))?;
    // start -> dev provider -> callback -> home: three redirects.
    for _ in 0..5 {
        let response = jar.send(&client, base, url.clone()).await?;
        if !response.status().is_redirection() {
            return Err(format!("the login stopped at {url}: {}", response.status()).into());
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .ok_or("a redirect without a Location")?
            .to_str()?;
        url = url.join(location)?;
        if url == home {
            let token = jar
                .send(
                    &client,
                    base,
                    reqwest::Url::parse(&format!("{base}/auth/token"))?,
                )
                .await?
                .error_for_status()?
                .text()
                .await?;
            let token: serde_json::Value = serde_json::from_str(&token)?;
            return Ok(token["token"].as_str().ok_or("no token")?.to_owned());
        }
    }
    Err("the login did not come back".into())
}

/// An access token for `resource` with `scope`, from the provider's token endpoint
/// `token_url` by the client credentials grant (RFC 6749 §4.4, with RFC 8707's `resource`),
/// the client authenticating with HTTP Basic: what a service holding its own credentials at
/// the provider does before calling the greeter.
pub async fn client_credentials(
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    resource: &str,
    scope: &str,
) -> Result<String, Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // RFC 6749 §2.3.1: the id and the secret form-urlencoded, then HTTP Basic.
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("resource", resource)
        .append_pair("scope", scope)
        .finish();
    let answer = client
        .post(token_url)
        .basic_auth(encode(client_id), Some(encode(client_secret)))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form)
        .send()
        .await?;
    let status = answer.status();
    let body: serde_json::Value = serde_json::from_str(&answer.text().await?)?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!("the provider gave no access token ({status}): {body}").into()),
    }
}

/// The cookies the server at one origin has set: just enough of a cookie jar for a login.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    /// `GET url`, with the jar's cookies when `url` is on `base`, keeping what it sets.
    async fn send(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        url: reqwest::Url,
    ) -> Result<reqwest::Response, Error> {
        let ours = url.as_str().starts_with(&format!("{base}/"));
        let mut request = client.get(url);
        if ours && !self.0.is_empty() {
            let cookies: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(reqwest::header::COOKIE, cookies.join("; "));
        }
        let response = request.send().await?;
        if ours {
            for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
                let set = set.to_str()?;
                let pair = set.split(';').next().unwrap_or_default();
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                let cleared = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
                if cleared {
                    self.0.remove(name.trim());
                } else {
                    self.0
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        Ok(response)
    }
}
