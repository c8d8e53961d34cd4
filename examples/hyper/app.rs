//! The hyper example's app, apart from `main` so that the tests serve it too: a plain
//! `service_fn` behind `SocialAuthLayer`, served by hyper 1's HTTP/1.1 connection builder.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use socialauth::{Identity, SocialAuthLayer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// The app: `/` greets whoever is signed in, `/whoami` answers the user as JSON (401
/// without one). The layer has put the `Identity` in the request's extensions, or not.
pub async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let user = req.extensions().get::<Identity>();
    let (status, content_type, body) = match (req.uri().path(), user) {
        ("/whoami", Some(user)) => {
            let json = serde_json::json!({
                "provider": user.provider(),
                "user_id": user.user_id(),
                "name": user.name(),
                "email": user.email(),
            });
            (StatusCode::OK, "application/json", json.to_string())
        }
        ("/whoami", None) => (
            StatusCode::UNAUTHORIZED,
            "application/json",
            r#"{"error":"unauthenticated"}"#.to_owned(),
        ),
        ("/", Some(user)) => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            format!("hello, {}", user.display_name()),
        ),
        ("/", None) => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "hello, stranger".to_owned(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    Ok(response)
}

/// Serves the app behind `auth` on `listener`, one task per connection, until the task
/// running this is dropped.
pub async fn serve(listener: TcpListener, auth: SocialAuthLayer) -> std::io::Result<()> {
    // A tower service: the layer around the plain function.
    let app = tower::ServiceBuilder::new().layer(auth).service_fn(handle);
    loop {
        let (stream, _) = listener.accept().await?;
        let app = app.clone();
        tokio::spawn(async move {
            // hyper calls a `hyper::service::Service`; `oneshot` runs the tower one.
            let service = hyper::service::service_fn(move |req| app.clone().oneshot(req));
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}
