//! User Management: listing, invitations and removals of the account's users.

use super::{Actor, ApiError, MAX_GROUPS_PER_MEMBER, MAX_INVITES_PER_CALL, Store, email_key};
use crate::emulator::clock;
use crate::emulator::ids;
use crate::emulator::state::{KeyType, Member, MemberKind, PUBLIC_ACCESS_ID, User, UserState};

/// One page of a user listing.
pub struct UserPage<'a> {
    pub users: Vec<&'a User>,
    /// Users matching the filter in the whole account (open question 4).
    pub total: usize,
    /// The cursor sequence of the next page's first user, if there is one.
    pub next: Option<u64>,
}

/// One answer of an invitation: the invitee, or the user already in the account.
pub struct Invited {
    pub email: String,
    pub iam_id: String,
    pub state: UserState,
}

impl Store {
    pub fn user(&self, iam_id: &str) -> Option<&User> {
        self.user_pos.get(iam_id).and_then(|i| self.users.get(*i))
    }

    /// One page of users matching `filter`, starting at cursor sequence `start`.
    pub fn list_users(
        &self,
        filter: &dyn Fn(&User) -> bool,
        start: u64,
        limit: usize,
    ) -> UserPage<'_> {
        let from = self.user_seq.partition_point(|s| *s < start);
        let mut page = UserPage {
            users: Vec::new(),
            total: 0,
            next: None,
        };
        for (i, user) in self.users.iter().enumerate() {
            if !filter(user) {
                continue;
            }
            page.total += 1;
            if i < from {
                continue;
            }
            if page.users.len() < limit {
                page.users.push(user);
            } else if page.next.is_none() {
                page.next = self.user_seq.get(i).copied();
            }
        }
        page
    }

    /// Invites `emails` into the account and into `access_groups`.
    ///
    /// Decisions (open question 7): an email already in the account in a state other than
    /// `PROCESSING` is a no-op answered with its existing id and state (IBM's historic
    /// behaviour, terraform-provider-ibm#6953); any email still `PROCESSING` blocks the
    /// whole request with IBM's verbatim 409 `Conflict` body, and nothing changes.
    /// Access groups are applied at invite time, to new invitees only.
    pub fn invite(
        &mut self,
        actor: &Actor,
        emails: &[String],
        access_groups: &[String],
        now_ms: u64,
    ) -> Result<Vec<Invited>, ApiError> {
        if actor.kind == KeyType::Service {
            return Err(ApiError::new(
                403,
                "forbidden",
                "Service IDs can't invite users. Use an API key of a user with the Editor role on User Management.",
            ));
        }
        check_emails(emails)?;
        let group_idx = self.invite_groups(access_groups)?;
        let existing: Vec<Option<usize>> = emails
            .iter()
            .map(|e| self.email_pos.get(&email_key(e)).copied())
            .collect();
        self.check_not_processing(emails, &existing)?;
        let mut out = Vec::new();
        for (email, pos) in emails.iter().zip(existing) {
            match pos.and_then(|i| self.users.get(i)) {
                Some(user) => out.push(Invited {
                    email: user.email.clone(),
                    iam_id: user.iam_id.clone(),
                    state: user.state.clone(),
                }),
                None => out.push(self.admit(actor, email, &group_idx, now_ms)),
            }
        }
        Ok(out)
    }

    /// The positions of an invitation's access groups: each must exist and not be
    /// Public Access.
    fn invite_groups(&self, access_groups: &[String]) -> Result<Vec<usize>, ApiError> {
        if access_groups.len() > MAX_GROUPS_PER_MEMBER {
            return Err(ApiError::new(
                400,
                "invalid_request",
                format!(
                    "{} access groups exceed the limit of {MAX_GROUPS_PER_MEMBER} groups per user.",
                    access_groups.len()
                ),
            ));
        }
        let mut group_idx = Vec::new();
        for id in access_groups {
            if id == PUBLIC_ACCESS_ID {
                return Err(ApiError::new(
                    400,
                    "invalid_access_group",
                    "The Public Access group includes every user already; it cannot be named in an invitation.",
                ));
            }
            match self.group_pos.get(id) {
                Some(i) if !group_idx.contains(i) => group_idx.push(*i),
                Some(_) => {}
                None => {
                    return Err(ApiError::new(
                        400,
                        "invalid_access_group",
                        format!(
                            "Access group {id} was not found in account {}.",
                            self.account_id
                        ),
                    ));
                }
            }
        }
        Ok(group_idx)
    }

    /// IBM's verbatim 409 when any invited email is still `PROCESSING`.
    fn check_not_processing(
        &self,
        emails: &[String],
        existing: &[Option<usize>],
    ) -> Result<(), ApiError> {
        let blocked: Vec<&str> = emails
            .iter()
            .zip(existing)
            .filter(|(_, pos)| {
                pos.and_then(|i| self.users.get(i))
                    .is_some_and(|u| u.state == UserState::Processing)
            })
            .map(|(e, _)| e.trim())
            .collect();
        if blocked.is_empty() {
            return Ok(());
        }
        Err(ApiError::new(
            409,
            "Conflict",
            format!("Invite request blocked : {}", blocked.join(", ")),
        )
        .more("the following user(s) are already in processing state, please try again after one minute"))
    }

    /// Adds a new invitee, `PROCESSING`, and puts it into the invitation's groups.
    fn admit(&mut self, actor: &Actor, email: &str, group_idx: &[usize], now_ms: u64) -> Invited {
        let key = email_key(email);
        let iam_id = self.mint_id(
            |s, n| {
                let suffix =
                    ids::ibmid_suffix(&[b"invite", s.account_id.as_bytes(), key.as_bytes(), n]);
                format!("IBMid-{suffix}")
            },
            |s, id| s.user_pos.contains_key(id),
        );
        let email = email.trim().to_string();
        let now = clock::iso(now_ms);
        self.push_user(User {
            email: email.clone(),
            iam_id: iam_id.clone(),
            state: UserState::Processing,
            firstname: String::new(),
            lastname: String::new(),
            added_on: Some(now.clone()),
            processing_until: Some(now_ms.saturating_add(self.processing_ms)),
        });
        for &g in group_idx {
            let count = self.groups_of(&iam_id);
            if let Some(rec) = self.groups.get_mut(g)
                && !rec.has(&iam_id)
                && count < MAX_GROUPS_PER_MEMBER
            {
                rec.push(Member {
                    iam_id: iam_id.clone(),
                    kind: MemberKind::User,
                    created_at: Some(now.clone()),
                    created_by_id: Some(actor.iam_id.clone()),
                    membership_type: Default::default(),
                });
            }
        }
        self.dirty = true;
        Invited {
            email,
            iam_id,
            state: UserState::Processing,
        }
    }

    /// Removes a user from the account and from every access group (open question 8:
    /// synchronously).
    pub fn remove_user(&mut self, actor: &Actor, iam_id: &str) -> Result<(), ApiError> {
        if actor.kind == KeyType::Service {
            return Err(ApiError::new(
                403,
                "forbidden",
                "Service IDs can't remove users. Use an API key of a user with the Editor role on User Management.",
            ));
        }
        let Some(pos) = self.user_pos.get(iam_id).copied() else {
            return Err(ApiError::new(
                404,
                "user_not_found",
                format!(
                    "User {iam_id} was not found in account {}.",
                    self.account_id
                ),
            ));
        };
        self.users.remove(pos);
        self.user_seq.remove(pos);
        self.reindex_users();
        for rec in &mut self.groups {
            rec.remove(&[iam_id]);
        }
        // Decision: the user's own policies go with the user.
        self.drop_policies_of(iam_id);
        self.dirty = true;
        Ok(())
    }
}

/// 1 to 100 plausible emails, none listed twice (case-insensitively).
fn check_emails(emails: &[String]) -> Result<(), ApiError> {
    if emails.is_empty() {
        return Err(ApiError::new(
            400,
            "invalid_request",
            "The request must list at least one user to invite in `users`.",
        ));
    }
    if emails.len() > MAX_INVITES_PER_CALL {
        return Err(ApiError::new(
            400,
            "invalid_request",
            format!(
                "{} users in one invite request exceed the limit of {MAX_INVITES_PER_CALL}; split the request.",
                emails.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for email in emails {
        let norm = email_key(email);
        let plausible = norm
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !norm.contains(char::is_whitespace);
        if !plausible {
            return Err(ApiError::new(
                400,
                "invalid_email",
                format!("{email:?} is not a valid email address."),
            ));
        }
        if !seen.insert(norm) {
            return Err(ApiError::new(
                400,
                "invalid_request",
                format!("{email} is listed twice in one invite request."),
            ));
        }
    }
    Ok(())
}
