//! The accept loop: hyper's, not `axum::serve`, for two reasons (docs/emulator.md).
//!
//! - `--drop-rate` must close a connection without answering, which needs a service that
//!   can fail: hyper then drops the connection without writing a response
//!   ([`DropConnection`]).
//! - A test server must not be a hazard (docs/emulator.md, Safety): at most
//!   [`Limits::max_connections`] connections are served at once (the next ones wait in the
//!   kernel's listen backlog, so a flood of slow clients cannot take every file
//!   descriptor), and a connection that takes longer than
//!   [`Limits::header_read_timeout`] to send a request's headers, or sits idle that long
//!   between requests, is closed (a slowloris client held 3,000 connections before).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Clone, Copy)]
pub(crate) struct DropConnection;

/// What one emulator allows its clients.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `stopped` changes, then closes every connection.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // A slot first, then a connection: beyond the cap, clients wait unaccepted.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = stopped.changed() => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!("emulator accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service(router.clone());
        let timeout = limits.header_read_timeout;
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// The router as a hyper service that fails (closing the connection unanswered) for a
/// response marked [`DropConnection`].
fn service(
    router: axum::Router,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::io::Error,
    Future = impl Future<Output = Result<axum::response::Response, std::io::Error>> + Send,
> + Clone {
    use tower::ServiceExt;
    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(req.map(axum::body::Body::new))
                .await
                .unwrap_or_else(|never| match never {});
            if response.extensions().get::<DropConnection>().is_some() {
                Err(std::io::Error::other("fault injection: connection dropped"))
            } else {
                Ok(response)
            }
        }
    })
}
