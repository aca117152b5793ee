//! The HTTP side of `hopthu run`: health and readiness for probes,
//! Prometheus metrics, the status as JSON, and the git webhook. Nothing
//! here reads or changes the directory: a webhook only wakes the loop.

use crate::run::Shared;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route(
            "/hooks/git",
            // Bigger bodies are refused (413) before anything reads them.
            post(hook).layer(DefaultBodyLimit::max(crate::webhook::MAX_BODY)),
        )
        .with_state(shared)
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready once a cycle has ended well.
async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let ready = shared.status.lock().map(|s| s.ready).unwrap_or(false);
    if ready {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no cycle has succeeded yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        shared.metrics.render(),
    )
        .into_response()
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let resources = shared
        .resources
        .lock()
        .map(|r| (!r.is_empty()).then(|| serde_json::to_string_pretty(&*r).unwrap_or_default()))
        .unwrap_or_default();
    let body = resources.unwrap_or_else(|| {
        shared
            .status
            .lock()
            .map(|s| serde_json::to_string_pretty(&*s).unwrap_or_default())
            .unwrap_or_default()
    });
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn hook(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let code = crate::run::handle_webhook(&shared, &header, &body);
    let text = match code {
        202 => crate::tr!(
            "đã nhận: sắp chạy một chu kỳ\n",
            "accepted: a cycle follows\n"
        ),
        404 => crate::tr!(
            "chưa cấu hình khóa bí mật cho webhook\n",
            "no webhook secret is configured\n"
        ),
        _ => crate::tr!(
            "bị từ chối: không có chữ ký, chữ ký sai hoặc gửi lặp lại\n",
            "refused: unsigned, wrongly signed or replayed\n"
        ),
    };
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::UNAUTHORIZED),
        text,
    )
        .into_response()
}

/// Connections served at once; more are closed as they come.
const MAX_CONNECTIONS: usize = 256;
/// A client has this long to send its request's headers...
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// ... and this long for the whole exchange.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `router` on `listener` until the runner stops. Slow or idle
/// clients cannot hold connections (headers within 10 s, the whole request
/// within 30 s, at most 256 at once), and a stop waits at most 3 s for the
/// requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let app = router(shared.clone());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let svc = hyper_util::service::TowerToHyperService::new(app.clone());
                conns.spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .keep_alive(false)
                        .serve_connection(io, svc);
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
                    drop(slot);
                });
            }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if shared.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
            }
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
}
