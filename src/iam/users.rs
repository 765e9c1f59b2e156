//! User Management v2: the account's users (cursor paging), invitations, removals.

use std::collections::HashSet;

use reqwest::{Method, Url};
use serde_json::json;

use super::error::IamError;
use super::http::{Request, Retry};
use super::wire::{InvitedUserList, UserList, UserProfile};
use super::{Client, join};
use crate::model::{AccessGroupId, AccountId, Date, Email, IamId, LiveUser, UserState};

const USERS_ROUTE: &str = "GET /v2/accounts/{account_id}/users";
const INVITE_ROUTE: &str = "POST /v2/accounts/{account_id}/users";
const REMOVE_ROUTE: &str = "DELETE /v2/accounts/{account_id}/users/{iam_id}";
const USER_ROUTE: &str = "GET /v2/accounts/{account_id}/users/{iam_id}";
/// The page size asked for (docs/ibm-api.md).
const PAGE: usize = 100;
/// IBM caps an account at 7,500 users; a cursor still going after this many pages is
/// looping or lying.
const MAX_USER_PAGES: usize = 2_000;
/// A page far larger than asked for is a misbehaving server, not data to trust.
const MAX_PAGE_ITEMS: usize = 10 * PAGE;

/// One user as the invite call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitedUser {
    pub email: Email,
    /// The invitee's IAM id (IBM's `id`); `None` if IBM's answer left it out.
    pub iam_id: Option<IamId>,
    pub state: UserState,
    /// The invite call's transaction id.
    pub transaction_id: Option<String>,
}

/// What [`Client::remove_user`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRemoval {
    /// A retry answered 404: an earlier attempt removed the user (or someone else did).
    pub already_gone: bool,
    /// The transaction id of the call that answered.
    pub transaction_id: Option<String>,
}

impl Client {
    /// Every user of the account, all states, following `next_url`.
    pub async fn list_users(&self, account: &AccountId) -> Result<Vec<LiveUser>, IamError> {
        self.list_users_with(account, &|| {}).await
    }

    pub(crate) async fn list_users_with(
        &self,
        account: &AccountId,
        on_page: &(dyn Fn() + Sync),
    ) -> Result<Vec<LiveUser>, IamError> {
        let base = join(
            &self.inner.endpoints.user_management,
            &["v2", "accounts", account.as_str(), "users"],
            &[("limit", "100")],
        );
        let mut users = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut seen_cursors = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_USER_PAGES {
            let mut url = base.clone();
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("_start", c);
            }
            let reply = self
                .send(&Request::new(
                    Method::GET,
                    USERS_ROUTE,
                    url,
                    Retry::Idempotent,
                ))
                .await?;
            on_page();
            let page: UserList = reply.json(USERS_ROUTE)?;
            let malformed = |detail: String| IamError::Malformed {
                call: USERS_ROUTE.into(),
                detail,
                transaction_id: reply.transaction_id.clone(),
            };
            let Some(serde_json::Value::Array(resources)) = page.resources else {
                return Err(malformed("the page has no `resources` list".into()));
            };
            if resources.len() > MAX_PAGE_ITEMS {
                return Err(malformed(format!(
                    "a page of {} users where at most {PAGE} were asked for",
                    resources.len()
                )));
            }
            for item in resources {
                let Ok(profile) = serde_json::from_value::<UserProfile>(item) else {
                    continue;
                };
                if let Some(user) = live_user(profile)
                    && seen_ids.insert(user.iam_id.clone())
                {
                    users.push(user);
                }
            }
            let next = page.next_url.as_deref().and_then(|n| start_param(&base, n));
            match next {
                None => {
                    self.inner
                        .users_listed
                        .store(users.len() + 1, std::sync::atomic::Ordering::Relaxed);
                    return Ok(users);
                }
                Some(next) => {
                    if !seen_cursors.insert(next.clone()) {
                        return Err(malformed(
                            "next_url repeats a cursor already followed (the listing loops)".into(),
                        ));
                    }
                    cursor = Some(next);
                }
            }
        }
        Err(IamError::Malformed {
            call: USERS_ROUTE.into(),
            detail: format!("the user listing did not end after {MAX_USER_PAGES} pages"),
            transaction_id: None,
        })
    }

    /// Invites `emails` as members of the account, into `groups` (IBM puts them there).
    /// Never retried after an ambiguous failure: the error says so
    /// ([`IamError::is_ambiguous`]) and the caller re-reads the user list; a 409
    /// ([`IamError::is_conflict`]) means an invitation for one of them is still processing.
    pub async fn invite_users(
        &self,
        account: &AccountId,
        emails: &[Email],
        groups: &[AccessGroupId],
    ) -> Result<Vec<InvitedUser>, IamError> {
        let url = join(
            &self.inner.endpoints.user_management,
            &["v2", "accounts", account.as_str(), "users"],
            &[],
        );
        let users: Vec<_> = emails
            .iter()
            .map(|e| json!({"email": e.as_str(), "account_role": "Member"}))
            .collect();
        let mut body = json!({ "users": users });
        if !groups.is_empty() {
            body["access_groups"] =
                json!(groups.iter().map(AccessGroupId::as_str).collect::<Vec<_>>());
        }
        let reply = self
            .send(&Request::new(Method::POST, INVITE_ROUTE, url, Retry::SafeOnly).json(body))
            .await?;
        // An empty 2xx body is accepted: the invitations were taken, IBM just said nothing.
        let list: InvitedUserList = if reply.body.iter().all(u8::is_ascii_whitespace) {
            InvitedUserList::default()
        } else {
            reply.json(INVITE_ROUTE)?
        };
        let mut answered: Vec<InvitedUser> = list
            .resources
            .into_iter()
            .filter_map(|item| {
                Some(InvitedUser {
                    email: Email::new(item.email.as_deref()?),
                    iam_id: item.id.filter(|i| !i.is_empty()).map(IamId::new),
                    state: UserState::parse(item.state.as_deref().unwrap_or("PROCESSING")),
                    transaction_id: reply.transaction_id.clone(),
                })
            })
            .collect();
        // One entry per requested email, in request order; ones IBM did not echo are
        // reported as processing without an id.
        let mut out = Vec::with_capacity(emails.len());
        for email in emails {
            let email = Email::new(email.as_str());
            match answered.iter().position(|u| u.email == email) {
                Some(i) => out.push(answered.swap_remove(i)),
                None => out.push(InvitedUser {
                    email,
                    iam_id: None,
                    state: UserState::Processing,
                    transaction_id: reply.transaction_id.clone(),
                }),
            }
        }
        Ok(out)
    }

    /// One user of the account by IAM id; `None` when IBM answers 404 (not in the
    /// account). One round trip, where finding a user in the listing takes a cursor chain.
    pub async fn get_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> Result<Option<LiveUser>, IamError> {
        let url = self.user_url(account, iam_id);
        match self
            .send(&Request::new(
                Method::GET,
                USER_ROUTE,
                url,
                Retry::Idempotent,
            ))
            .await
        {
            Ok(reply) => {
                let profile: UserProfile = reply.json(USER_ROUTE)?;
                live_user(profile)
                    .map(Some)
                    .ok_or_else(|| IamError::Malformed {
                        call: USER_ROUTE.into(),
                        detail: "the user record has no iam_id".into(),
                        transaction_id: reply.transaction_id.clone(),
                    })
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a user from the account (cancels a pending invitation too). A 404 on a retry
    /// means an earlier attempt landed (`already_gone`). A 404 on the first
    /// attempt is an error: the plan named a user the account does not have.
    pub async fn remove_user(
        &self,
        account: &AccountId,
        iam_id: &IamId,
    ) -> Result<UserRemoval, IamError> {
        let url = self.user_url(account, iam_id);
        match self
            .send(&Request::new(
                Method::DELETE,
                REMOVE_ROUTE,
                url,
                Retry::Idempotent,
            ))
            .await
        {
            Ok(reply) => Ok(UserRemoval {
                already_gone: false,
                transaction_id: reply.transaction_id,
            }),
            Err(e) if e.status() == Some(404) && e.attempts() > 1 => Ok(UserRemoval {
                already_gone: true,
                transaction_id: e.info().transaction_id,
            }),
            Err(e) => Err(e),
        }
    }
}

impl Client {
    /// `/v2/accounts/{account_id}/users/{iam_id}`: one user, read or removed.
    fn user_url(&self, account: &AccountId, iam_id: &IamId) -> Url {
        join(
            &self.inner.endpoints.user_management,
            &["v2", "accounts", account.as_str(), "users", iam_id.as_str()],
            &[],
        )
    }
}

/// The `_start` cursor of a `next_url`, relative (`/v2/accounts/…?_start=x`) or absolute.
/// `None` when there is no cursor: the listing ends, as IBM's own pagers decide.
pub(crate) fn start_param(base: &Url, next_url: &str) -> Option<String> {
    start_param_named(base, next_url, "_start")
}

/// The cursor parameter `name` of a `next_url` (`_start` for users, `start` for Resource
/// Controller), resolved against `base`.
pub(crate) fn start_param_named(base: &Url, next_url: &str, name: &str) -> Option<String> {
    let next_url = next_url.trim();
    if next_url.is_empty() {
        return None;
    }
    let resolved = base.join(next_url).ok()?;
    resolved
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

pub(crate) fn live_user(profile: UserProfile) -> Option<LiveUser> {
    let iam_id = profile.iam_id.filter(|i| !i.trim().is_empty())?;
    Some(LiveUser {
        iam_id: IamId::new(iam_id.trim()),
        email: Email::new(profile.email.as_deref().unwrap_or("")),
        state: UserState::parse(profile.state.as_deref().unwrap_or("")),
        added_on: profile
            .added_on
            .as_deref()
            .and_then(Date::from_timestamp_prefix),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_cursor_is_taken_from_relative_and_absolute_next_urls() {
        let base = Url::parse("https://um.example.com/v2/accounts/a/users?limit=100").unwrap();
        assert_eq!(
            start_param(&base, "/v2/accounts/a/users?limit=100&_start=abc%3D").as_deref(),
            Some("abc=")
        );
        assert_eq!(
            start_param(&base, "https://myhost.com/somePath?_start=1").as_deref(),
            Some("1")
        );
        assert_eq!(start_param(&base, "next_url"), None);
        assert_eq!(start_param(&base, ""), None);
        assert_eq!(start_param(&base, "/v2/accounts/a/users?_start="), None);
    }

    #[test]
    fn sdk_user_list_mock_parses_into_a_live_user() {
        let body = r#"{"total_results": 13, "limit": 5, "first_url": "first_url", "next_url": "next_url", "resources": [{"id": "id", "iam_id": "iam_id", "realm": "realm", "user_id": "user_id", "firstname": "firstname", "lastname": "lastname", "state": "state", "email": "email", "phonenumber": "phonenumber", "altphonenumber": "altphonenumber", "photo": "photo", "account_id": "account_id", "added_on": "added_on"}]}"#;
        let page: UserList = serde_json::from_str(body).unwrap();
        assert_eq!(page.next_url.as_deref(), Some("next_url"));
        let Some(serde_json::Value::Array(items)) = page.resources else {
            panic!("resources")
        };
        let profile: UserProfile = serde_json::from_value(items[0].clone()).unwrap();
        let user = live_user(profile).unwrap();
        assert_eq!(user.iam_id.as_str(), "iam_id");
        assert_eq!(user.state, UserState::Other("state".into()));
        assert_eq!(user.added_on, None);
    }

    #[test]
    fn realistic_user_record_with_extra_keys_parses() {
        let body = r#"{"id": "1a2b3c4d5e6f7g8h9i0", "iam_id": "IBMid-654321A0YZ", "realm": "IBMid", "user_id": "alis.smith@company.com", "firstname": "Alisson", "lastname": "Smith", "state": "ACTIVE", "sub_state": "", "email": "Alis.Smith@Company.com", "phonenumber": "9728044604", "altphonenumber": " ", "photo": "https://cloud.ibm.com/avatar/", "account_id": "12345678901234567890", "added_on": "2026-01-05T10:00:00.000Z", "identities": [{"x": 1}]}"#;
        let user = live_user(serde_json::from_str(body).unwrap()).unwrap();
        assert_eq!(user.email.as_str(), "alis.smith@company.com");
        assert_eq!(user.state, UserState::Active);
        assert_eq!(user.added_on, Date::parse("2026-01-05"));
    }

    #[test]
    fn pager_mock_with_total_count_and_numeric_fields_is_tolerated() {
        let body = r#"{"total_count":2,"limit":1,"next_url":"https://myhost.com/somePath?_start=1","resources":[{"iam_id": 12345, "email": null, "state": "PENDING"}]}"#;
        let page: UserList = serde_json::from_str(body).unwrap();
        let Some(serde_json::Value::Array(items)) = page.resources else {
            panic!("resources")
        };
        let user = live_user(serde_json::from_value(items[0].clone()).unwrap()).unwrap();
        assert_eq!(user.iam_id.as_str(), "12345");
        assert_eq!(user.email.as_str(), "");
        assert_eq!(user.state, UserState::Pending);
    }

    #[test]
    fn a_user_without_iam_id_is_skipped() {
        assert!(live_user(UserProfile::default()).is_none());
    }

    #[test]
    fn invited_user_list_mock_parses() {
        let list: InvitedUserList = serde_json::from_str(
            r#"{"resources": [{"email": "email", "id": "id", "state": "state"}, 7]}"#,
        )
        .unwrap();
        assert_eq!(list.resources.len(), 1);
        assert_eq!(list.resources[0].id.as_deref(), Some("id"));
    }
}
