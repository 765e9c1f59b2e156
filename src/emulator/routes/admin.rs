//! The admin endpoints under `/__admin` (docs/emulator.md): read and replace the state,
//! read and reset the statistics. Not IBM's: never counted, delayed or faulted.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};

use super::{Dialect, Shr, answer, empty, json};
use crate::emulator::error::ApiError;
use crate::emulator::state::{MAX_STATE_BYTES, State as AccountState};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/__admin/state", get(state).post(set_state))
        .route("/__admin/stats", get(stats))
        .route("/__admin/stats/reset", post(reset_stats))
        // A benchmark account (10,000 users) is a few MB of JSON, more than axum's default
        // of 2 MB; a bigger body is a 413 (docs/emulator.md, Safety).
        .layer(DefaultBodyLimit::max(MAX_STATE_BYTES))
        .layer(middleware::map_response(|r: Response| async move {
            answer(r, "admin", Dialect::Platform)
        }))
}

async fn state(State(shared): State<Shr>) -> Response {
    json(200, &shared.snapshot())
}

async fn set_state(
    State(shared): State<Shr>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = bytes.map_err(|e| {
        let status = e.status().as_u16();
        if status == 413 {
            let message = format!(
                "The state is larger than {} MiB, the most the emulator accepts.",
                MAX_STATE_BYTES >> 20
            );
            ApiError::new(413, "payload_too_large", message)
        } else {
            let message = format!("The request body could not be read: {}.", e.body_text());
            ApiError::new(status, "invalid_state", message)
        }
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let state = AccountState::parse(&text).map_err(|e| ApiError::new(400, "invalid_state", e))?;
    shared
        .replace(state)
        .map_err(|e| ApiError::new(500, "persist_failed", e))?;
    Ok(empty(204))
}

async fn stats(State(shared): State<Shr>) -> Response {
    json(200, &shared.stats.to_json())
}

async fn reset_stats(State(shared): State<Shr>) -> Response {
    shared.stats.reset();
    empty(204)
}
