//! The dev provider's HTTP server: hyper 1 over HTTP/1.1 on the loopback listener, and the
//! routing of each request to its endpoint.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::request::{self, Params};
use super::response::{self, Body};
use super::{authorize, discovery, end_session, token_endpoint, userinfo, Shared};

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until the task is aborted; the connections, held in a [`JoinSet`],
/// end with it.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // e.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            // A broken connection concerns only its client.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    match (parts.uri.path(), &parts.method) {
        ("/.well-known/openid-configuration", &Method::GET) => {
            response::json(StatusCode::OK, &discovery::metadata(&shared.issuer))
        }
        ("/jwks", &Method::GET) => response::json(StatusCode::OK, &shared.key.jwks()),
        ("/.well-known/openid-configuration" | "/jwks", _) => response::method_not_allowed("GET"),
        ("/authorize", &Method::GET) => authorize::show(shared, parts.uri.query()),
        ("/authorize", &Method::POST) => match read_form(&parts.headers, body).await {
            Ok(form) => authorize::submit(shared, &form),
            Err(why) => response::html(StatusCode::BAD_REQUEST, super::page::error(&why)),
        },
        ("/authorize", _) => response::method_not_allowed("GET, POST"),
        ("/token", &Method::POST) => match read_form(&parts.headers, body).await {
            Ok(form) => token_endpoint::exchange(shared, &parts.headers, &form),
            Err(why) => response::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &why),
        },
        ("/token", _) => response::method_not_allowed("POST"),
        ("/userinfo", &Method::GET | &Method::POST) => userinfo::userinfo(shared, &parts.headers),
        ("/userinfo", _) => response::method_not_allowed("GET, POST"),
        ("/logout", &Method::GET) => end_session::end(shared, parts.uri.query().unwrap_or("")),
        ("/logout", &Method::POST) => match read_form(&parts.headers, body).await {
            Ok(form) => end_session::end_with(shared, &form),
            Err(why) => response::html(StatusCode::BAD_REQUEST, super::page::logout_error(&why)),
        },
        ("/logout", _) => response::method_not_allowed("GET, POST"),
        _ => response::not_found(),
    }
}

/// An `application/x-www-form-urlencoded` body, each parameter at most once.
async fn read_form(headers: &http::HeaderMap, body: Incoming) -> Result<Params, String> {
    if !crate::routes::form_post::is_form(headers) {
        return Err("the body must be application/x-www-form-urlencoded".to_owned());
    }
    let bytes = request::read_body(body).await.map_err(str::to_owned)?;
    Params::parse(&bytes)
}
