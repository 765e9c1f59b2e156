//! The emulator's behaviour over HTTP (docs/emulator.md): the invitation lifecycle, authorization,
//! IBM's limits and paging shapes, every fault flag as `/__admin/stats` reports it,
//! concurrency without lost updates, and `--persist` across a restart of the real binary.
//! IBM's own SDK checks the wire format separately (tests/sdk/).

use std::time::{Duration, Instant};

use crate::support::*;
use orgsync::emulator::{
    self, Options, SYNTHETIC_ADMIN_KEY, SYNTHETIC_SERVICE_KEY, State, Synthetic, UserState,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn small() -> State {
    emulator::synthetic(&Synthetic {
        users: 120,
        groups: 7,
        memberships: 200,
        service_ids_in_groups: 3,
        pending_users: 5,
        seed: 1,
    })
}

fn members_of(state: &State, group_id: &str) -> Vec<String> {
    state
        .groups
        .iter()
        .find(|g| g.id == group_id)
        .map(|g| g.members.iter().map(|m| m.iam_id.clone()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------- lifecycle

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitee_is_processing_then_pending_and_reinvite_while_processing_conflicts() {
    bounded(60, async {
        let state = small();
        let group = state.groups[0].id.clone();
        let emu = start(
            state.clone(),
            Options {
                processing: Duration::from_millis(1000),
                ..Options::default()
            },
        ).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;

        let (status, body) = api.invite(&["New.Person@Example.org"], &[&group]).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let invitee = &body["resources"][0];
        let iam_id = invitee["id"].as_str().expect("id").to_string();
        assert!(iam_id.starts_with("IBMid-"), "{iam_id}");
        assert_eq!(invitee["state"], "PROCESSING");
        assert_eq!(invitee["email"], "New.Person@Example.org");
        assert!(members_of(&emu.state(), &group).contains(&iam_id), "access_groups applied");

        let (status, body) = api.invite(&["new.person@example.org"], &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body,
            json!({
                "trace": body["trace"],
                "errors": [{
                    "code": "Conflict",
                    "message": "Invite request blocked : new.person@example.org",
                    "more_info": "the following user(s) are already in processing state, please try again after one minute"
                }],
                "status_code": 409
            })
        );
        assert!(body["trace"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(api.user(&iam_id).await.1["state"], "PROCESSING");

        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(api.user(&iam_id).await.1["state"], "PENDING");

        // Decision: inviting a PENDING user again is a 202 no-op echoing the invitation.
        let (status, body) = api.invite(&["NEW.person@example.org"], &[]).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["resources"][0]["id"], iam_id.as_str());
        assert_eq!(body["resources"][0]["state"], "PENDING");
        let users = emu.state().users;
        assert_eq!(
            users
                .iter()
                .filter(|u| u.email.eq_ignore_ascii_case("new.person@example.org"))
                .count(),
            1
        );
        assert_eq!(emu.stats()["invites_by_email"]["new.person@example.org"], 2);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_id_key_cannot_invite_or_remove_users_but_can_read() {
    bounded(60, async {
        let state = small();
        let victim = state.users[3].iam_id.clone();
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_SERVICE_KEY).await;
        let (status, body) = api.invite(&["robot@example.org"], &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["status_code"], 403);
        let status = api
            .delete(&format!("/v2/accounts/{}/users/{victim}", state.account_id))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(api.user(&victim).await.0, StatusCode::OK);
        let (status, page) = api
            .get(&format!("/v2/accounts/{}/users?limit=5", state.account_id))
            .await;
        assert_eq!(status, StatusCode::OK, "a service ID may read users");
        assert_eq!(page["resources"].as_array().map(Vec::len), Some(5));
        assert_eq!(emu.state(), state, "nothing changed");
        assert!(
            emu.stats()["invites_by_email"]
                .as_object()
                .is_some_and(|m| m.is_empty())
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_user_removes_their_memberships() {
    bounded(60, async {
        let state = small();
        let (victim, groups) = state
            .users
            .iter()
            .skip(1)
            .map(|u| {
                let groups: Vec<String> = state
                    .groups
                    .iter()
                    .filter(|g| g.members.iter().any(|m| m.iam_id == u.iam_id))
                    .map(|g| g.id.clone())
                    .collect();
                (u.iam_id.clone(), groups)
            })
            .find(|(_, g)| g.len() >= 2)
            .expect("a user in two groups");
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        let path = format!("/v2/accounts/{}/users/{victim}", state.account_id);
        assert_eq!(api.delete(&path).await, StatusCode::NO_CONTENT);
        assert_eq!(api.user(&victim).await.0, StatusCode::NOT_FOUND);
        let after = emu.state();
        for g in &groups {
            assert!(!members_of(&after, g).contains(&victim), "still in {g}");
            let status = api.head(&format!("/v2/groups/{g}/members/{victim}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let others: usize = state.groups.iter().map(|g| g.members.len()).sum();
        let left: usize = after.groups.iter().map(|g| g.members.len()).sum();
        assert_eq!(
            left,
            others - groups.len(),
            "only the victim's memberships went"
        );
        assert_eq!(api.delete(&path).await, StatusCode::NOT_FOUND);
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------------------------ limits, shapes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_exactly_as_ibm_does() {
    bounded(60, async {
        let state = emulator::synthetic(&Synthetic {
            users: 250,
            groups: 120,
            memberships: 400,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 3,
        });
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        let a = &state.account_id;

        // Users: default page 100, relative next_url with an opaque _start, total of all.
        let (_, first) = api.get(&format!("/v2/accounts/{a}/users")).await;
        assert_eq!(first["limit"], 100);
        assert_eq!(first["total_results"], 250);
        assert_eq!(first["resources"].as_array().map(Vec::len), Some(100));
        let next = first["next_url"].as_str().expect("next_url").to_string();
        assert!(
            next.starts_with(&format!("/v2/accounts/{a}/users?")) && next.contains("_start="),
            "{next}"
        );
        let (_, second) = api.get(&next).await;
        let (_, third) = api.get(second["next_url"].as_str().expect("next")).await;
        assert_eq!(third["resources"].as_array().map(Vec::len), Some(50));
        assert!(
            third.get("next_url").is_none(),
            "no next_url on the last page"
        );
        assert_eq!(
            third["resources"][49]["iam_id"],
            state.users[249].iam_id.as_str()
        );
        let (status, _) = api
            .get(&format!("/v2/accounts/{a}/users?_start=garbage"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Groups: default 50, integer offsets, first/previous/next/last, Public Access first.
        let (_, page) = api
            .get(&format!("/v2/groups?account_id={a}&offset=50"))
            .await;
        assert_eq!(
            (
                page["limit"].as_u64(),
                page["offset"].as_u64(),
                page["total_count"].as_u64()
            ),
            (Some(50), Some(50), Some(121))
        );
        let href = |k: &str| page[k]["href"].as_str().unwrap_or("").to_string();
        assert!(
            href("first").ends_with(&format!("?account_id={a}&limit=50&offset=0")),
            "{}",
            href("first")
        );
        assert!(
            href("previous").ends_with("&limit=50&offset=0"),
            "{}",
            href("previous")
        );
        assert!(
            href("next").ends_with("&limit=50&offset=100"),
            "{}",
            href("next")
        );
        assert!(
            href("last").ends_with("&limit=50&offset=100"),
            "{}",
            href("last")
        );
        let (_, hidden) = api
            .get(&format!(
                "/v2/groups?account_id={a}&hide_public_access=true&limit=100&offset=100"
            ))
            .await;
        assert_eq!(hidden["total_count"], 120);
        assert_eq!(hidden["groups"].as_array().map(Vec::len), Some(20));
        assert!(hidden.get("next").is_none());
        assert!(
            hidden["first"]["href"]
                .as_str()
                .unwrap_or("")
                .contains("hide_public_access=true&limit=100&offset=0")
        );
        let (_, with_pa) = api.get(&format!("/v2/groups?account_id={a}")).await;
        assert_eq!(with_pa["groups"][0]["id"], "AccessGroupId-PublicAccess");
        for bad in [
            "limit=101",
            "limit=-1",
            "limit=",
            "offset=x",
            "hide_public_access=yes",
            "hide_public_access=True",
            "show_crn=1",
            "membership_type=dynamic",
            "iam_id=IBMid-X&membership_type=sometimes",
            "limit=5&limit=6",
        ] {
            let (status, body) = api.get(&format!("/v2/groups?account_id={a}&{bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(body["status_code"], 400);
            assert_eq!(body["errors"][0]["code"], "invalid_parameter", "{bad}");
            assert!(body.get("trace").is_some_and(Value::is_string), "{bad}");
        }
        // Unknown parameters are ignored; lower-case booleans are read.
        let (status, page) = api
            .get(&format!(
                "/v2/groups?account_id={a}&hide_public_access=true&colour=blue"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total_count"], 120);
        let (status, _) = api.get("/v2/groups").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "account_id is required");

        // Members: default 50, list key present even when empty.
        let busiest = state
            .groups
            .iter()
            .max_by_key(|g| g.members.len())
            .expect("group");
        let (_, members) = api
            .get(&format!("/v2/groups/{}/members?limit=2", busiest.id))
            .await;
        assert_eq!(
            members["total_count"].as_u64(),
            Some(busiest.members.len() as u64)
        );
        assert_eq!(
            members["members"][0]["iam_id"],
            busiest.members[0].iam_id.as_str()
        );
        assert_eq!(members["members"][0]["membership_type"], "static");
        let (_, empty) = api
            .get(&format!("/v2/groups/{}/members?type=service", busiest.id))
            .await;
        assert_eq!(empty["members"], json!([]));
        assert_eq!(empty["total_count"], 0);
        for bad in ["type=robot", "verbose=TRUE", "offset=-3", "sort=colour"] {
            let (status, body) = api
                .get(&format!("/v2/groups/{}/members?{bad}", busiest.id))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(body["errors"][0]["code"], "invalid_parameter", "{bad}");
        }
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_writes_enforce_ibm_limits_and_preconditions() {
    bounded(60, async {
        let state = small();
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        let a = &state.account_id;
        let group = state.groups[1].id.clone();

        let too_many: Vec<Value> = state.users[1..52]
            .iter()
            .map(|u| json!({"iam_id": u.iam_id, "type": "user"}))
            .collect();
        let (status, _) = api
            .put(
                &format!("/v2/groups/{group}/members"),
                json!({"members": too_many}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "51 members in one call");

        // PATCH needs the current ETag: missing → 428, stale → 412.
        let resp = api
            .request(Method::GET, &format!("/v2/groups/{group}"))
            .send()
            .await
            .expect("get");
        let etag = resp.headers()["etag"].to_str().expect("etag").to_string();
        let patch = |tag: Option<String>, name: &str| {
            let mut req = api
                .request(Method::PATCH, &format!("/v2/groups/{group}"))
                .json(&json!({"name": name}));
            if let Some(t) = tag {
                req = req.header("If-Match", t);
            }
            req.send()
        };
        assert_eq!(
            patch(None, "renamed").await.expect("patch").status(),
            StatusCode::PRECONDITION_REQUIRED
        );
        let ok = patch(Some(etag.clone()), "renamed").await.expect("patch");
        assert_eq!(ok.status(), StatusCode::OK);
        assert_ne!(
            ok.headers()["etag"].to_str().ok(),
            Some(etag.as_str()),
            "ETag moves"
        );
        assert_eq!(
            patch(Some(etag), "again").await.expect("patch").status(),
            StatusCode::PRECONDITION_FAILED
        );

        // Duplicate names, case-insensitively, and the reserved Public Access.
        for name in ["RENAMED", "public access"] {
            let (status, _) = api
                .post(&format!("/v2/groups?account_id={a}"), json!({"name": name}))
                .await;
            assert_eq!(status, StatusCode::CONFLICT, "{name}");
        }

        // Bulk delete: 404 naming the group when none is a member; 207 otherwise.
        let (status, body) = api
            .post(
                &format!("/v2/groups/{group}/members/delete"),
                json!({"members": ["IBMid-NOBODY"]}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains(&group)
        );
        // _allgroups delete: 404 naming the member when it is in no group.
        let loner = "IBMid-NOBODY";
        let (status, body) = api
            .call(
                Method::DELETE,
                &format!("/v2/groups/_allgroups/members/{loner}?account_id={a}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains(loner)
        );

        // 50 groups per iam_id: the 51st membership fails per member, inside a 207.
        let user = state.users[7].iam_id.clone();
        let mut created = Vec::new();
        for i in 0..52 {
            let (status, body) = api
                .post(
                    &format!("/v2/groups?account_id={a}"),
                    json!({"name": format!("bulk-{i}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
            created.push(body["id"].as_str().expect("id").to_string());
        }
        let before = emu
            .state()
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.iam_id == user))
            .count();
        let mut statuses = Vec::new();
        for g in &created {
            let (status, body) = api
                .put(
                    &format!("/v2/groups/{g}/members"),
                    json!({"members": [{"iam_id": user, "type": "user"}]}),
                )
                .await;
            assert_eq!(status, StatusCode::MULTI_STATUS);
            statuses.push(body["members"][0]["status_code"].as_u64().unwrap_or(0));
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 50 - before);
        assert!(statuses.iter().skip(50 - before).all(|s| *s == 400));

        // Public Access is read-only.
        let status = api
            .delete(&format!(
                "/v2/groups/AccessGroupId-PublicAccess/members/{user}"
            ))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Deleting a group with members needs force.
        let status = api.delete(&format!("/v2/groups/{group}")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let status = api.delete(&format!("/v2/groups/{group}?force=true")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_required_checked_and_expire() {
    bounded(60, async {
        let state = small();
        let emu = start(
            state.clone(),
            Options {
                // Claims are whole seconds, so a 2 s token lives at least 1 s.
                token_ttl: Duration::from_secs(2),
                ..Options::default()
            },
        )
        .await;
        let http = http();
        let base = emu.base_url();
        let url = format!("{base}/v2/groups?account_id={}", state.account_id);
        let resp = http.get(&url).send().await.expect("no auth");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let resp = request_token(&http, &base, "wrong").await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errorCode"], "BXNIM0415E");
        assert_eq!(body["errorMessage"], "Provided API key could not be found.");
        assert!(body["context"]["requestId"].is_string());

        let resp = request_token(&http, &base, SYNTHETIC_ADMIN_KEY).await;
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["expires_in"], 2);
        assert_eq!(body["token_type"], "Bearer");
        let token = body["access_token"].as_str().expect("token").to_string();
        // The payload carries IBM's claims, and `expiration` equals `exp`.
        let claims = jwt_claims(&token);
        assert_eq!(claims["exp"], body["expiration"]);
        assert_eq!(claims["account"]["bss"], state.account_id.as_str());
        assert_eq!(claims["iam_id"], emulator::SYNTHETIC_ADMIN_IAM_ID);
        assert!(claims["iat"].is_u64());

        let ok = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("auth");
        assert_eq!(ok.status(), StatusCode::OK);
        let forged = format!("{token}x");
        let bad = http
            .get(&url)
            .bearer_auth(&forged)
            .send()
            .await
            .expect("forged");
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        tokio::time::sleep(Duration::from_millis(3100)).await;
        let expired = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("expired");
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        let body: Value = expired.json().await.expect("json");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("expired")
        );
        assert_eq!(emu.stats()["by_status"]["401"], 3);
        emu.shutdown().await;
    })
    .await;
}

// ------------------------------------------------------------------------------ fidelity

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_members_link_the_membership_with_whole_second_timestamps() {
    bounded(60, async {
        let state = small();
        let group = state
            .groups
            .iter()
            .find(|g| g.members.len() >= 2)
            .expect("a group with members")
            .clone();
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        let path = format!("/v2/groups/{}/members", group.id);
        let (status, verbose) = api.get(&format!("{path}?verbose=true")).await;
        assert_eq!(status, StatusCode::OK);
        let listed = verbose["members"].as_array().expect("members");
        assert_eq!(listed.len(), group.members.len());
        for (m, want) in listed.iter().zip(&group.members) {
            assert_eq!(
                m["href"].as_str(),
                Some(
                    format!(
                        "{}/v2/groups/{}/members/{}",
                        emu.base_url(),
                        group.id,
                        want.iam_id
                    )
                    .as_str()
                ),
                "{m}"
            );
            // The synthetic account stores `2024-01-02T00:00:00.000Z`.
            assert_eq!(m["created_at"], "2024-01-02T00:00:00Z", "{m}");
            assert!(m["name"].is_string(), "verbose adds the name: {m}");
        }
        // A plain listing is as before: milliseconds, the member's own resource.
        let (_, plain) = api.get(&path).await;
        let first = &plain["members"][0];
        assert_eq!(first["created_at"], "2024-01-02T00:00:00.000Z");
        assert!(first.get("name").is_none(), "{first}");
        let href = first["href"].as_str().unwrap_or("");
        assert!(!href.contains("/members/"), "{href}");
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_management_errors_carry_more_info_and_access_groups_errors_do_not() {
    bounded(60, async {
        let state = small();
        let emu = start(state.clone(), Options::default()).await;
        let a = &state.account_id;
        let admin = Api::new(&emu.base_url(), SYNTHETIC_ADMIN_KEY, a).await;
        let service = Api::new(&emu.base_url(), SYNTHETIC_SERVICE_KEY, a).await;
        let nobody = Api::with_token(&emu.base_url(), "not-a-token", a);
        let user_management = [
            (
                &admin,
                Method::GET,
                format!("/v2/accounts/{a}/users/IBMid-NOBODY"),
                404,
            ),
            (
                &admin,
                Method::GET,
                format!("/v2/accounts/{a}/users?limit=0"),
                400,
            ),
            (
                &admin,
                Method::GET,
                format!("/v2/accounts/{a}/users?include_settings=yes"),
                400,
            ),
            (
                &admin,
                Method::GET,
                "/v2/accounts/ffffffffffffffffffffffffffffffff/users".to_string(),
                403,
            ),
            (
                &service,
                Method::DELETE,
                format!("/v2/accounts/{a}/users/{}", state.users[2].iam_id),
                403,
            ),
            (&nobody, Method::GET, format!("/v2/accounts/{a}/users"), 401),
            (
                &admin,
                Method::DELETE,
                format!("/v3/accounts/{a}/users/IBMid-NOBODY"),
                404,
            ),
        ];
        for (api, method, path, want) in user_management {
            let (status, body) = api.call(method, &path, None).await;
            assert_eq!(status.as_u16(), want, "{path}: {body}");
            assert_eq!(body["status_code"], want, "{path}");
            let more = body["errors"][0]["more_info"].as_str().unwrap_or("");
            assert!(
                more.starts_with("https://cloud.ibm.com/apidocs/user-management"),
                "{path}: {body}"
            );
        }
        // A body the SDK cannot send, too.
        let (status, body) = admin
            .post(
                &format!("/v2/accounts/{a}/users"),
                json!({"users": [{"account_role": "Member"}]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["errors"][0]["more_info"].is_string(), "{body}");
        // Access Groups' SDK error model has no more_info, and the emulator sends none.
        for (path, want) in [
            ("/v2/groups/AccessGroupId-nope".to_string(), 404),
            (format!("/v2/groups?account_id={a}&limit=500"), 400),
        ] {
            let (status, body) = admin.get(&path).await;
            assert_eq!(status.as_u16(), want, "{path}");
            assert!(
                body["errors"][0].get("more_info").is_none(),
                "{path}: {body}"
            );
        }
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_seeded_processing_turn_pending_after_the_processing_time() {
    bounded(60, async {
        let mut state = small();
        let seeded = "IBMid-SEEDED0001";
        // No `processing_until`, as a hand-written state file has none.
        state
            .users
            .push(user("seeded@example.org", seeded, "PROCESSING"));
        let emu = start(
            state.clone(),
            Options {
                processing: Duration::from_millis(800),
                ..Options::default()
            },
        )
        .await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        assert_eq!(api.user(seeded).await.1["state"], "PROCESSING");
        // Still processing: a second invitation is IBM's 409, as for an invitee.
        let (status, _) = api.invite(&["seeded@example.org"], &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(api.user(seeded).await.1["state"], "PENDING");
        let after = emu.state();
        let user = after
            .users
            .iter()
            .find(|u| u.iam_id == seeded)
            .expect("still there");
        assert_eq!(user.state, UserState::Pending);
        assert_eq!(user.processing_until, None, "settled");
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_form_is_read_without_a_content_type_and_refused_in_its_own_shape() {
    bounded(60, async {
        let state = small();
        let emu = start(state.clone(), Options::default()).await;
        let http = http();
        let url = format!("{}/identity/token", emu.base_url());
        let body = format!(
            "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey={SYNTHETIC_ADMIN_KEY}"
        );
        let resp = http.post(&url).body(body).send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        for (form, code) in [
            ("apikey=x", "BXNIM0109E"),
            ("grant_type=password&apikey=x", "BXNIM0109E"),
            ("grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=", "BXNIM0415E"),
        ] {
            let resp = http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .expect("send");
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{form}");
            let body: Value = resp.json().await.expect("json");
            assert_eq!(body["errorCode"], code, "{form}");
            assert!(body["context"]["requestId"].is_string(), "{form}");
            assert!(body.get("errors").is_none(), "not the platform envelope: {body}");
        }
        emu.shutdown().await;
    })
    .await;
}

// -------------------------------------------------------------------------------- faults

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_rate_answers_5xx_before_any_change_and_is_deterministic() {
    bounded(60, async {
        let state = small();
        let run = |seed: u64| {
            let state = state.clone();
            async move {
                let emu = start(
                    state.clone(),
                    Options {
                        seed,
                        fail_rate: 0.5,
                        ..Options::default()
                    },
                )
                .await;
                let http = http();
                let base = emu.base_url();
                // The token may fail too: retry it until it succeeds.
                let mut token = None;
                for _ in 0..50 {
                    let resp = request_token(&http, &base, SYNTHETIC_ADMIN_KEY).await;
                    if resp.status() == StatusCode::OK {
                        let body: Value = resp.json().await.expect("json");
                        token = body["access_token"].as_str().map(str::to_string);
                        break;
                    }
                }
                let token = token.expect("a token within 50 tries");
                let mut statuses = Vec::new();
                for i in 0..30 {
                    let resp = http
                        .post(format!("{base}/v2/groups?account_id={}", state.account_id))
                        .bearer_auth(&token)
                        .json(&json!({"name": format!("faulty-{i}")}))
                        .send()
                        .await
                        .expect("create");
                    statuses.push(resp.status().as_u16());
                }
                let created = emu.state().groups.len() - state.groups.len();
                let stats = emu.stats();
                emu.shutdown().await;
                (statuses, created, stats)
            }
        };
        let (statuses, created, stats) = run(42).await;
        let failed = statuses.iter().filter(|s| **s >= 500).count();
        assert!(failed > 0 && failed < 30, "{statuses:?}");
        assert!(
            statuses.iter().all(|s| [201, 500, 503].contains(s)),
            "{statuses:?}"
        );
        assert_eq!(
            created,
            statuses.iter().filter(|s| **s == 201).count(),
            "a 5xx changed nothing"
        );
        assert_eq!(
            stats["served_5xx"].as_u64(),
            Some(
                stats["by_status"]["500"].as_u64().unwrap_or(0)
                    + stats["by_status"]["503"].as_u64().unwrap_or(0)
            )
        );
        assert!(stats["served_5xx"].as_u64().unwrap_or(0) >= failed as u64);
        let (again, _, _) = run(42).await;
        assert_eq!(statuses, again, "same seed, same faults");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_rate_closes_connections_and_half_the_drops_apply_the_write() {
    bounded(60, async {
        let state = small();
        let emu = start(state.clone(), Options::default()).await;
        let api = Api::of(&emu, SYNTHETIC_ADMIN_KEY).await;
        emu.shutdown().await;
        let emu = start(
            state.clone(),
            Options {
                seed: 7,
                drop_rate: 1.0,
                ..Options::default()
            },
        )
        .await;
        // A token call would be dropped too: take one from the emulator itself (a token is
        // good only for the emulator that signed it).
        let token = emu
            .token_for(SYNTHETIC_ADMIN_KEY)
            .expect("the admin key's token");
        let base = emu.base_url();
        let mut errors = 0;
        for i in 0..20 {
            let sent = api
                .http
                .post(format!("{base}/v2/groups?account_id={}", state.account_id))
                .bearer_auth(&token)
                .json(&json!({"name": format!("dropped-{i}")}))
                .send()
                .await;
            if sent.is_err() {
                errors += 1;
            }
        }
        assert_eq!(errors, 20, "every request lost its answer");
        let stats = emu.stats();
        assert_eq!(stats["drops"], 20);
        assert_eq!(stats["by_status"], json!({}));
        let landed = emu.state().groups.len() - state.groups.len();
        assert!(
            landed > 0 && landed < 20,
            "some drops came after the write: {landed}"
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_integer_retry_after() {
    bounded(60, async {
        let state = small();
        let emu = start(
            state.clone(),
            Options {
                rate_limit: 2.0,
                ..Options::default()
            },
        )
        .await;
        let http = http();
        let mut limited = 0;
        for _ in 0..20 {
            let resp = request_token(&http, &emu.base_url(), SYNTHETIC_ADMIN_KEY).await;
            if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                limited += 1;
                let retry: u64 = resp.headers()["retry-after"]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("integer seconds");
                assert!(retry >= 1);
                assert!(
                    resp.headers()["content-type"]
                        .to_str()
                        .unwrap_or("")
                        .starts_with("text/plain")
                );
            }
        }
        assert!(
            limited >= 10,
            "a burst of 20 at 2 RPS is mostly refused: {limited}"
        );
        let stats = emu.stats();
        assert_eq!(stats["served_429"], limited);
        assert_eq!(stats["by_status"]["429"], limited);
        assert_eq!(stats["total"], 20);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_jitter_delay_answers_and_admin_calls_are_neither_delayed_nor_counted() {
    bounded(60, async {
        let state = small();
        let emu = start(
            state.clone(),
            Options {
                latency: Duration::from_millis(400),
                jitter: Duration::from_millis(300),
                seed: 11,
                ..Options::default()
            },
        )
        .await;
        let http = http();
        let mut took = Vec::new();
        for _ in 0..6 {
            let started = Instant::now();
            let resp = request_token(&http, &emu.base_url(), SYNTHETIC_ADMIN_KEY).await;
            assert_eq!(resp.status(), StatusCode::OK);
            took.push(started.elapsed());
        }
        assert!(
            took.iter().all(|t| *t >= Duration::from_millis(400)),
            "{took:?}"
        );
        // Jitter is drawn per request: the delays are not all alike.
        let spread = took.iter().max().copied().unwrap_or_default()
            - took.iter().min().copied().unwrap_or_default();
        assert!(spread >= Duration::from_millis(20), "{took:?}");
        let started = Instant::now();
        let stats: Value = http
            .get(format!("{}/__admin/stats", emu.base_url()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "admin is not delayed"
        );
        assert_eq!(stats["total"], 6);
        assert_eq!(stats["by_route"], json!({"POST /identity/token": 6}));
        let reset = http
            .post(format!("{}/__admin/stats/reset", emu.base_url()))
            .send()
            .await
            .expect("reset");
        assert_eq!(reset.status(), StatusCode::NO_CONTENT);
        assert_eq!(emu.stats()["total"], 0);
        emu.shutdown().await;
    })
    .await;
}

// --------------------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writes_lose_no_update() {
    bounded(60, async {
        let state = emulator::synthetic(&Synthetic {
            users: 401,
            groups: 4,
            memberships: 0,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 5,
        });
        let emu = start(
            state.clone(),
            Options {
                latency: Duration::from_millis(5),
                ..Options::default()
            },
        )
        .await;
        let api = std::sync::Arc::new(Api::of(&emu, SYNTHETIC_ADMIN_KEY).await);
        let mut tasks = tokio::task::JoinSet::new();
        // 400 users, one PUT each, spread over 4 groups, plus 40 invites — all at once.
        for (i, user) in state.users.iter().skip(1).enumerate() {
            let api = api.clone();
            let group = state.groups[i % 4].id.clone();
            let iam_id = user.iam_id.clone();
            tasks.spawn(async move {
                let (status, body) = api
                    .put(
                        &format!("/v2/groups/{group}/members"),
                        json!({"members": [{"iam_id": iam_id, "type": "user"}]}),
                    )
                    .await;
                assert_eq!(status, StatusCode::MULTI_STATUS);
                assert_eq!(body["members"][0]["status_code"], 200);
            });
        }
        for i in 0..40 {
            let api = api.clone();
            tasks.spawn(async move {
                let email = format!("parallel-{i}@example.org");
                let (status, _) = api.invite(&[&email], &[]).await;
                assert_eq!(status, StatusCode::ACCEPTED);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
        let after = emu.state();
        for (g, group) in state.groups.iter().enumerate() {
            let want: Vec<&str> = state
                .users
                .iter()
                .skip(1)
                .enumerate()
                .filter(|(i, _)| i % 4 == g)
                .map(|(_, u)| u.iam_id.as_str())
                .collect();
            let mut got = members_of(&after, &group.id);
            got.sort();
            let mut want: Vec<String> = want.into_iter().map(str::to_string).collect();
            want.sort();
            assert_eq!(got, want, "members of group {g}");
        }
        assert_eq!(after.users.len(), state.users.len() + 40);
        let stats = emu.stats();
        assert!(stats["max_in_flight"].as_u64().unwrap_or(0) > 1, "{stats}");
        assert_eq!(stats["by_status"]["207"], 400);
        assert_eq!(
            stats["invites_by_email"].as_object().map(|m| m.len()),
            Some(40)
        );
        emu.shutdown().await;
    })
    .await;
}

// --------------------------------------------------------------------------- admin, persist

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_state_round_trips_and_rejects_invalid_states() {
    bounded(60, async {
        let state = small();
        let emu = start(state.clone(), Options::default()).await;
        let http = http();
        let url = format!("{}/__admin/state", emu.base_url());
        let got: State = http
            .get(&url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("state");
        assert_eq!(got, state);
        let other = emulator::synthetic(&Synthetic {
            seed: 99,
            ..Synthetic::default()
        });
        let resp = http.post(&url).json(&other).send().await.expect("post");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(emu.state(), other);
        let resp = http
            .post(&url)
            .body("account_id: nope\n")
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.expect("json");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("account_id")
        );
        assert_eq!(emu.state(), other, "a rejected state changes nothing");
        // The benchmark's account size goes through the admin endpoint too.
        let big = emulator::synthetic(&Synthetic {
            users: 10_000,
            groups: 300,
            memberships: 30_000,
            service_ids_in_groups: 10,
            pending_users: 100,
            seed: 4,
        });
        let resp = http.post(&url).json(&big).send().await.expect("post big");
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(emu.state().users.len(), 10_000);
        assert_eq!(emu.stats()["total"], 0, "admin calls are not counted");
        emu.shutdown().await;
    })
    .await;
}

/// `orgsync emulator --listen 127.0.0.1:0 ARGS...` and the URL it says it listens on; the
/// process is killed when the [`Spawned`] is dropped.
async fn emulator_binary(args: &[&str]) -> (Spawned, String) {
    let mut bin = Orgsync::new()
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(args)
        .spawn();
    let line = bin.stdout_line().await;
    match line.trim().strip_prefix("listening on ") {
        Some(url) => (bin, url.to_string()),
        None => panic!("unexpected first line {line:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persist_keeps_every_acknowledged_write_across_a_restart() {
    bounded(60, async {
        let w = Workdir::empty();
        let state = small();
        // Start from YAML (JSON is YAML): the file the binary reads and rewrites.
        w.write(
            "account.yaml",
            &serde_json::to_string_pretty(&state).expect("json"),
        );
        let file = w.arg("account.yaml");

        let (first, url) = emulator_binary(&["--state", &file, "--persist"]).await;
        let api = Api::new(&url, SYNTHETIC_ADMIN_KEY, &state.account_id).await;
        let (status, created) = api
            .post(
                &format!("/v2/groups?account_id={}", state.account_id),
                json!({"name": "survivor"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, invited) = api
            .invite(
                &["kept@example.org"],
                &[created["id"].as_str().expect("id")],
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        drop(first); // killed: no chance to flush anything on the way out

        let leftovers = w.files();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
        let (_second, url) = emulator_binary(&["--state", &file, "--persist"]).await;
        let api = Api::new(&url, SYNTHETIC_ADMIN_KEY, &state.account_id).await;
        let (status, group) = api
            .get(&format!(
                "/v2/groups/{}",
                created["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(group["name"], "survivor");
        let iam_id = invited["resources"][0]["id"].as_str().expect("id");
        let (status, user) = api.user(iam_id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(user["email"], "kept@example.org");
        let status = api
            .head(&format!(
                "/v2/groups/{}/members/{iam_id}",
                created["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_the_documented_example_state_and_refuses_a_broken_state_file() {
    bounded(60, async {
        let w = Workdir::empty();
        w.write(
            "sandbox.yaml",
            r#"# docs/emulator.md's example, comments and all
account_id: 0123456789abcdef0123456789abcdef
api_keys:
  - {apikey: sandbox-admin-key, iam_id: IBMid-ADMIN00001, type: user}   # type: user | service
users:
  - {email: alice@example.com, iam_id: IBMid-ALICE0001, state: ACTIVE, firstname: Alice, lastname: Liddell}
groups:
  - id: AccessGroupId-5f0c0d57-0000-4000-8000-000000000001
    name: quantum-algorithms
    description: Algorithms research
    members:
      - {iam_id: IBMid-ALICE0001, type: user}
"#,
        );
        let (bin, url) = emulator_binary(&["--state", &w.arg("sandbox.yaml")]).await;
        let api = Api::new(&url, "sandbox-admin-key", "0123456789abcdef0123456789abcdef").await;
        let (status, members) = api
            .get("/v2/groups/AccessGroupId-5f0c0d57-0000-4000-8000-000000000001/members")
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(members["members"][0]["iam_id"], "IBMid-ALICE0001");
        assert_eq!(api.user("IBMid-ALICE0001").await.1["firstname"], "Alice");
        drop(bin);

        w.write(
            "broken.yaml",
            "account_id: 0123456789abcdef0123456789abcdef\nuserz: []\n",
        );
        let out = Orgsync::new()
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(w.path("broken.yaml"))
            .run()
            .await;
        assert_eq!(out.code, 1);
        let stderr = &out.stderr;
        assert!(stderr.contains("broken.yaml") && stderr.contains("userz"), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout when it cannot start");
    })
    .await;
}
