//! The IAM token service: `POST /identity/token` exchanges an API key for a JWT. Its
//! refusals have the token service's own shape (`errorCode`, `errorMessage`, `context`),
//! not the platform envelope.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use axum::routing::post;

use super::{Call, Shr, json};
use crate::emulator::Shared;
use crate::emulator::clock;
use crate::emulator::state::KeyType;
use crate::emulator::store::KeyOwner;
use crate::emulator::token;
use crate::emulator::wire::token::{TokenError, TokenErrorContext, TokenRequest, TokenResponse};

pub fn routes() -> Router<Shr> {
    Router::new().route("/identity/token", post(issue_token))
}

/// Why no token is issued: IBM's code and message (always HTTP 400).
struct Refused {
    code: &'static str,
    message: String,
}

fn refused(code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code,
        message: message.into(),
    }
}

async fn issue_token(
    State(shared): State<Shr>,
    call: Call,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = clock::now_ms();
    let answer = match read_form(body).await {
        Ok(form) => exchange(&shared, &call, form),
        Err(r) => Err(r),
    };
    match answer {
        Ok(token) => json(200, &token),
        Err(r) => refusal(&call, &headers, started, r),
    }
}

/// The form fields, by axum's `Form`, whatever the request's `Content-Type` says: the
/// emulator has always served clients that send none, so the body is handed over as the
/// form it is meant to be. Unknown fields are ignored.
async fn read_form(body: Bytes) -> Result<TokenRequest, Refused> {
    let unreadable = |e: String| {
        refused(
            "BXNIM0109E",
            format!("The request body is not a valid form: {e}."),
        )
    };
    let request = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .map_err(|e| unreadable(e.to_string()))?;
    Form::<TokenRequest>::from_request(request, &())
        .await
        .map(|Form(form)| form)
        .map_err(|e| unreadable(e.body_text()))
}

/// The API-key grant.
/// A token for `owner` of `account`, signed with this process's key: the token, its
/// lifetime in seconds and its expiry (epoch seconds).
fn mint_for(shared: &Shared, account: &str, owner: &KeyOwner, jti: &str) -> (String, u64, u64) {
    let iat = clock::now_ms() / 1000;
    let ttl = shared.options.token_ttl.as_secs();
    let exp = iat.saturating_add(ttl);
    let claims = token::Subject {
        account_id: account,
        iam_id: &owner.iam_id,
        email: owner.email.as_deref(),
        kind: owner.kind,
    };
    (
        token::mint(&shared.token_key, &claims, iat, exp, jti),
        ttl,
        exp,
    )
}

/// A token for `apikey` as `POST /identity/token` would answer it, without the API layer
/// (not counted, never faulted): [`crate::emulator::Emulator::token_for`].
pub(crate) fn token_for(shared: &Shared, apikey: &str) -> Option<String> {
    let (owner, account) = {
        let store = shared.lock();
        (store.key_owner(apikey), store.account_id().to_string())
    };
    Some(mint_for(shared, &account, &owner?, "emulator-direct").0)
}

fn exchange(shared: &Shr, call: &Call, form: TokenRequest) -> Result<TokenResponse, Refused> {
    match form.grant_type.as_deref() {
        Some("urn:ibm:params:oauth:grant-type:apikey") => {}
        Some(_) => {
            return Err(refused(
                "BXNIM0109E",
                "Provided grant type is not supported by the emulator; use urn:ibm:params:oauth:grant-type:apikey.",
            ));
        }
        None => return Err(refused("BXNIM0109E", "Property 'grant_type' is missing.")),
    }
    let not_found = || refused("BXNIM0415E", "Provided API key could not be found.");
    let apikey = form
        .apikey
        .filter(|k| !k.is_empty())
        .ok_or_else(not_found)?;
    let (owner, account) = {
        let store = shared.lock();
        (store.key_owner(&apikey), store.account_id().to_string())
    };
    let owner = owner.ok_or_else(not_found)?;
    let (access_token, ttl, exp) = mint_for(shared, &account, &owner, &call.trace);
    Ok(TokenResponse {
        access_token,
        refresh_token: match owner.kind {
            KeyType::Service => "not_supported".into(),
            KeyType::User => format!("emulator-refresh-{}", call.trace),
        },
        token_type: "Bearer",
        expires_in: ttl,
        expiration: exp,
        scope: "ibm openid",
    })
}

fn refusal(call: &Call, headers: &HeaderMap, started: u64, r: Refused) -> Response {
    let now = clock::now_ms();
    json(
        400,
        &TokenError {
            error_code: r.code,
            error_message: r.message,
            context: TokenErrorContext {
                request_id: call.trace.clone(),
                request_type: "incoming.Identity_Token",
                user_agent: headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
                url: call.base.clone(),
                instance_id: "iamid-emulator-0",
                thread_id: "1",
                host: "iamid-emulator-0",
                start_time: clock::iam_context(started),
                end_time: clock::iam_context(now),
                elapsed_time: now.saturating_sub(started).to_string(),
                locale: "en_US",
                cluster_name: "orgsync-emulator",
            },
        },
    )
}
