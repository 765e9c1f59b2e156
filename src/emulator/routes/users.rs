//! User Management v2 (and the v3 removal): list, read, invite and remove the account's
//! users. The account is in the path; a wrong one is 403.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get};
use serde::Deserialize;

use super::paging::{bounded, decode_cursor, encode_cursor, percent_encode};
use super::{Body, Caller, Params, Shr, empty, json};
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::ids;
use crate::emulator::state::User;
use crate::emulator::store::Store;
use crate::emulator::wire::users::{
    InviteRequest, InvitedUser, InvitedUserList, UserList, UserProfile,
};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route(
            "/v2/accounts/{account_id}/users",
            get(list_users).post(invite_users),
        )
        .route(
            "/v2/accounts/{account_id}/users/{iam_id}",
            get(get_user).delete(|s: State<Shr>, c: Caller, p: Path<(String, String)>| {
                remove_user(s, c, p, StatusCode::NO_CONTENT)
            }),
        )
        // IBM's asynchronous removal answers 202; the emulator removes at once.
        .route(
            "/v3/accounts/{account_id}/users/{iam_id}",
            delete(|s: State<Shr>, c: Caller, p: Path<(String, String)>| {
                remove_user(s, c, p, StatusCode::ACCEPTED)
            }),
        )
}

fn profile(store: &Store, user: &User) -> UserProfile {
    let id = ids::uuid_from(&[b"user-id", user.iam_id.as_bytes()]).replace('-', "");
    UserProfile {
        id,
        iam_id: user.iam_id.clone(),
        realm: "IBMid",
        user_id: user.email.clone(),
        firstname: user.firstname.clone(),
        lastname: user.lastname.clone(),
        state: user.state.clone(),
        email: user.email.clone(),
        phonenumber: String::new(),
        altphonenumber: String::new(),
        photo: String::new(),
        account_id: store.account_id().to_string(),
        added_on: user.added_on.clone().unwrap_or_default(),
    }
}

/// `GET /v2/accounts/{account_id}/users`.
#[derive(Deserialize)]
struct ListUsers {
    limit: Option<usize>,
    search: Option<String>,
    /// Accepted and adds nothing but itself to the links (open question 5).
    include_settings: Option<bool>,
    #[serde(rename = "_start")]
    start: Option<String>,
    user_id: Option<String>,
}

/// The `search` filter of list users: `field:value` terms, comma-separated, any may match;
/// values compare case-insensitively and exactly.
fn user_filter(search: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(search) = search.filter(|s| !s.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    search
        .split(',')
        .map(|term| {
            let (field, value) = term.split_once(':').ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "search term {term:?} must be field:value, e.g. state:ACTIVE."
                ))
            })?;
            let field = field.trim();
            if ![
                "firstname",
                "lastname",
                "email",
                "state",
                "substate",
                "iam_id",
                "realm",
                "userId",
            ]
            .contains(&field)
            {
                return Err(ApiError::invalid_parameter(format!(
                    "search field {field:?} is not supported."
                )));
            }
            Ok((field.to_string(), value.trim().to_lowercase()))
        })
        .collect()
}

fn user_matches(user: &User, terms: &[(String, String)]) -> bool {
    terms.is_empty()
        || terms.iter().any(|(field, value)| {
            let actual = match field.as_str() {
                "firstname" => user.firstname.as_str(),
                "lastname" => user.lastname.as_str(),
                "email" | "userId" => user.email.as_str(),
                "state" => user.state.as_str(),
                "iam_id" => user.iam_id.as_str(),
                "realm" => "IBMid",
                _ => "",
            };
            actual.to_lowercase() == *value
        })
}

async fn list_users(
    State(shared): State<Shr>,
    _: Caller,
    Path(account_id): Path<String>,
    Params(q): Params<ListUsers>,
) -> Result<Response, ApiError> {
    let limit = bounded("limit", q.limit, 100, 1..=100)?;
    let terms = user_filter(q.search.as_deref())?;
    let start = match q.start.as_deref() {
        None => 0,
        Some(raw) => decode_cursor(raw).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "_start={raw:?} is not a cursor this service issued; take it from next_url."
            ))
        })?,
    };
    let user_id = q.user_id.as_deref().map(str::to_lowercase);
    let list = shared.with_store(|store| {
        store.check_account(&account_id)?;
        let filter = |u: &User| {
            user_matches(u, &terms)
                && user_id
                    .as_ref()
                    .is_none_or(|id| u.email.to_lowercase() == *id)
        };
        let page = store.list_users(&filter, start, limit);
        // The links keep the filters; their `_start` is the only cursor.
        let mut query = format!("limit={limit}");
        if let Some(s) = &q.search {
            query.push_str(&format!("&search={}", percent_encode(s)));
        }
        if let Some(id) = &q.user_id {
            query.push_str(&format!("&user_id={}", percent_encode(id)));
        }
        if q.include_settings == Some(true) {
            query.push_str("&include_settings=true");
        }
        let path = format!("/v2/accounts/{}/users", store.account_id());
        Ok(UserList {
            total_results: page.total,
            limit,
            first_url: format!("{path}?{query}"),
            next_url: page
                .next
                .map(|seq| format!("{path}?{query}&_start={}", encode_cursor(seq))),
            resources: page.users.into_iter().map(|u| profile(store, u)).collect(),
        })
    })?;
    Ok(json(200, &list))
}

async fn get_user(
    State(shared): State<Shr>,
    _: Caller,
    Path((account_id, iam_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let user = shared.with_store(|store| {
        store.check_account(&account_id)?;
        store
            .user(&iam_id)
            .map(|u| profile(store, u))
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "user_not_found",
                    format!("User {iam_id} was not found in account {account_id}."),
                )
            })
    })?;
    Ok(json(200, &user))
}

async fn invite_users(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    Path(account_id): Path<String>,
    Body(request): Body<InviteRequest>,
) -> Result<Response, ApiError> {
    let emails = request
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| {
            u.email.ok_or_else(|| {
                ApiError::invalid_parameter("Every entry of `users` needs an email.")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let groups = request.access_groups.unwrap_or_default();
    let invited = shared.with_store(|store| {
        store.check_account(&account_id)?;
        store.invite(&actor, &emails, &groups, clock::now_ms())
    })?;
    for i in &invited {
        shared.stats.invited(&i.email);
    }
    let resources = invited
        .into_iter()
        .map(|i| InvitedUser {
            email: i.email,
            id: i.iam_id,
            state: i.state,
        })
        .collect();
    Ok(json(202, &InvitedUserList { resources }))
}

async fn remove_user(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    Path((account_id, iam_id)): Path<(String, String)>,
    answer: StatusCode,
) -> Result<Response, ApiError> {
    shared.with_store(|store| {
        store.check_account(&account_id)?;
        store.remove_user(&actor, &iam_id)
    })?;
    Ok(empty(answer.as_u16()))
}
