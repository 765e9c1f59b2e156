//! The HTTP surface: IBM's paths, query parameters, headers and bodies, translated to
//! [`Store`](super::store::Store) calls and back into IBM's wire format. One file per API
//! ([`token`], [`users`], [`groups`], [`members`], [`rules`], [`policies`], [`roles`],
//! [`instances`], [`resource_groups`]) plus [`admin`]; this one registers them and holds
//! what they share: the extractors, the responses, and how an error is written.
//!
//! Every API route passes through [`layer::api_layer`], which counts it under its route
//! template, assigns the transaction id, applies the injected faults and writes the
//! route's errors in the API's envelope ([`Dialect`]). The admin routes (`/__admin/...`)
//! bypass it: they are not IBM's, not counted and never faulted.
//!
//! Errors: a handler returns `Result<_, ApiError>`. An [`ApiError`] becomes a bodiless
//! response that carries the error; the layer that assigned the transaction id writes the
//! envelope, so the trace is in every body without handlers passing it around, and each
//! API's errors have one shape written in one place. Extractor failures (a bad query
//! string, a body that is not JSON, a missing token) are `ApiError`s too.

mod admin;
mod groups;
mod instances;
mod layer;
mod members;
mod paging;
mod policies;
mod resource_groups;
mod roles;
mod rules;
mod token;
pub(crate) use token::token_for;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header, request::Parts};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::store::{Actor, Store};
use super::wire::Envelope;
use super::{Shared, clock, token as jwt};

type Shr = Arc<Shared>;

/// How an API writes its errors: IBM's services share the platform envelope but not
/// every habit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `trace`, `errors[{code, message, more_info?}]`, `status_code`: Access Groups. The
    /// token service's own refusals have their own shape ([`token`]); only the layer's
    /// injected faults use this one there.
    Platform,
    /// The platform envelope whose errors always carry `more_info`, as every User
    /// Management body quoted in docs/ibm-api.md does.
    UserManagement,
}

/// Where `more_info` points when a User Management error has nothing more specific.
const USER_MANAGEMENT_DOCS: &str = "https://cloud.ibm.com/apidocs/user-management";

impl Dialect {
    fn envelope(self, trace: &str, mut e: ApiError) -> Response {
        if self == Dialect::UserManagement && e.more_info.is_none() {
            e.more_info = Some(USER_MANAGEMENT_DOCS.to_string());
        }
        json(e.status, &Envelope::of(trace, e))
    }
}

/// The registry of IBM's APIs: each module's routes with the dialect of its errors. A new
/// API is a module with a `routes()` and a line here.
fn apis() -> Vec<(Dialect, Router<Shr>)> {
    vec![
        (Dialect::Platform, token::routes()),
        (Dialect::UserManagement, users::routes()),
        (Dialect::Platform, groups::routes()),
        (Dialect::Platform, members::routes()),
        (Dialect::Platform, rules::routes()),
        (Dialect::Platform, policies::routes()),
        (Dialect::Platform, roles::routes()),
        (Dialect::Platform, instances::routes()),
        (Dialect::Platform, resource_groups::routes()),
    ]
}

pub fn router(shared: Shr) -> Router {
    let mut router = Router::new();
    for (dialect, routes) in apis() {
        let state = layer::ApiLayer {
            shared: shared.clone(),
            dialect,
        };
        router = router
            .merge(routes.route_layer(middleware::from_fn_with_state(state, layer::api_layer)));
    }
    router
        .merge(admin::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        // What no API layer wrote: the fallbacks' errors.
        .layer(middleware::map_response(|r: Response| async move {
            answer(r, "emulator", Dialect::Platform)
        }))
        .with_state(shared)
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        404,
        "not_found",
        format!(
            "{method} {} is not an API the emulator serves (see docs/emulator.md).",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        405,
        "method_not_allowed",
        format!("{method} is not allowed on {}.", uri.path()),
    )
}

// ---- errors --------------------------------------------------------------------------

/// An [`ApiError`] on its way out, not yet written in an envelope.
#[derive(Clone)]
struct Unanswered(ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = status(self.status).into_response();
        response.extensions_mut().insert(Unanswered(self));
        response
    }
}

/// Writes the error a response carries, if any, in `dialect`'s envelope with `trace`.
fn answer(mut response: Response, trace: &str, dialect: Dialect) -> Response {
    match response.extensions_mut().remove::<Unanswered>() {
        Some(Unanswered(e)) => dialect.envelope(trace, e),
        None => response,
    }
}

// ---- responses -----------------------------------------------------------------------

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json<T: Serialize>(code: u16, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status(code),
            [(header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialize the response: {e}"),
        )
            .into_response(),
    }
}

fn empty(code: u16) -> Response {
    status(code).into_response()
}

fn with_etag(mut response: Response, tag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

// ---- extractors ----------------------------------------------------------------------

/// The transaction id the API layer assigned, as a request extension.
#[derive(Clone)]
struct Trace(String);

/// What an answer needs from its request besides path, query and body: the transaction
/// id (207 items and token errors carry it) and `http://host:port` for absolute hrefs.
struct Call {
    trace: String,
    base: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Call {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Call, Self::Rejection> {
        let trace = parts
            .extensions
            .get::<Trace>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Call {
            trace,
            base: format!("http://{host}"),
        })
    }
}

/// The caller behind the bearer token; 401 in the platform envelope otherwise.
struct Caller(Actor);

impl FromRequestParts<Shr> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Shr) -> Result<Caller, ApiError> {
        authenticate(&parts.headers, shared).map(Caller)
    }
}

fn authenticate(headers: &HeaderMap, shared: &Shared) -> Result<Actor, ApiError> {
    let unauthorized = |message: &str| ApiError::new(401, "invalid_access_token", message);
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            unauthorized("The request has no Authorization header; send `Authorization: Bearer <token>` from POST /identity/token.")
        })?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized(
            "The Authorization header is not a bearer token; send `Authorization: Bearer <token>`.",
        ));
    }
    let account = shared.lock().account_id().to_string();
    match jwt::verify(
        token.trim(),
        &shared.token_key,
        &account,
        clock::now_ms() / 1000,
    ) {
        Ok(caller) => Ok(Actor {
            iam_id: caller.iam_id,
            kind: caller.kind,
        }),
        Err(jwt::Refused::Expired) => Err(unauthorized(
            "The provided access token has expired; request a new one from POST /identity/token.",
        )),
        Err(_) => Err(unauthorized(
            "The provided access token is invalid (not issued by this service for this account).",
        )),
    }
}

/// The query string as a typed struct: axum's [`Query`], with its rejection written as
/// IBM's 400. The one place a malformed query (`verbose=yes`, `limit=x`, an unknown
/// `type`, a repeated parameter) is answered.
struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params<T>, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => {
                // The source is serde's message with the parameter's name in front.
                let reason = std::error::Error::source(&rejection)
                    .map(ToString::to_string)
                    .unwrap_or_else(|| rejection.body_text());
                Err(ApiError::invalid_parameter(format!(
                    "The query string is invalid ({reason}); booleans are true or false in lower case, limit and offset are whole numbers."
                )))
            }
        }
    }
}

/// A JSON request body, whatever its `Content-Type` says (IBM's SDKs always send JSON);
/// 400 `invalid_body` naming what is wrong otherwise.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body<T>, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status().as_u16(), "invalid_body", e.body_text()))?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            ApiError::invalid_body(format!(
                "The request body is not valid JSON of the expected shape: {e}."
            ))
        })
    }
}

/// The `account_id` query parameter of the Access Groups calls that take one: required,
/// and this account's (403 for another).
fn require_account(account_id: Option<&str>, store: &Store) -> Result<(), ApiError> {
    match account_id.filter(|a| !a.is_empty()) {
        Some(account) => store.check_account(account),
        None => Err(ApiError::invalid_parameter(
            "Query parameter account_id is required.",
        )),
    }
}
