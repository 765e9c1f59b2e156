//! The emulator's IAM Policy Management over HTTP (docs/emulator.md, Access policies):
//! one store behind two views, writes with IBM's preconditions, duplicates, paging and
//! filters, roles and custom roles, and what faults, stats and `--persist` do to them.
//! IBM's own SDK checks the same wire format separately (tests/sdk/).

use orgsync::emulator::{self, Options, SYNTHETIC_ADMIN_KEY, State, Synthetic, SyntheticAccess};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::emulator_http::{
    ACCOUNT, ADMIN_KEY, Api, FINANCE, MANAGER, ML, QR_COMMON, QR_ML, READER, VIEWER, bounded,
    is_ibm_etag, qiskit, qiskit_emulator, start,
};

fn v2_body(group: &str, instance: &str, roles: &[&str]) -> Value {
    json!({
        "type": "access",
        "subject": {"attributes": [{"key": "access_group_id", "operator": "stringEquals", "value": group}]},
        "resource": {"attributes": [
            {"key": "accountId", "operator": "stringEquals", "value": ACCOUNT},
            {"key": "serviceName", "operator": "stringEquals", "value": "quantum-computing"},
            {"key": "serviceInstance", "operator": "stringEquals", "value": instance}
        ]},
        "control": {"grant": {"roles": roles.iter().map(|r| json!({"role_id": r})).collect::<Vec<_>>()}}
    })
}

fn v1_body(group: &str, instance: &str, roles: &[&str]) -> Value {
    json!({
        "type": "access",
        "subjects": [{"attributes": [{"name": "access_group_id", "value": group}]}],
        "roles": roles.iter().map(|r| json!({"role_id": r})).collect::<Vec<_>>(),
        "resources": [{"attributes": [
            {"name": "accountId", "value": ACCOUNT},
            {"name": "serviceName", "value": "quantum-computing"},
            {"name": "serviceInstance", "value": instance, "operator": "stringEquals"}
        ]}]
    })
}

fn ids(list: &Value) -> Vec<String> {
    list["policies"]
        .as_array()
        .expect("policies is always an array")
        .iter()
        .map(|p| p["id"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_store_two_views() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let base = api.base.clone();
        let v1 = api.get(&format!("/v1/policies?account_id={ACCOUNT}&access_group_id={ML}")).await;
        assert_eq!(v1.status, StatusCode::OK);
        let [v2_made, v1_made] = v1.body["policies"].as_array().expect("array").as_slice() else {
            panic!("two policies of ml: {}", v1.body);
        };
        // The v1 view of a v2 policy is IBM's placeholder, with the real id, a v2 href and
        // the real policy's times (IBM's Go integration test parses its created_at).
        let mut placeholder = v2_made.clone();
        let times = ["created_at", "created_by_id", "last_modified_at", "last_modified_by_id"];
        let v2_view = api.get(&format!("/v2/policies/{}", v2_made["id"].as_str().unwrap_or(""))).await;
        for key in times {
            let time = placeholder.as_object_mut().and_then(|o| o.remove(key));
            assert_eq!(time.as_ref(), v2_view.body.get(key), "placeholder {key}");
        }
        assert!(v2_made["created_at"].is_string(), "{v2_made}");
        assert_eq!(
            placeholder,
            json!({
                "id": "00000000-0000-4000-8000-0000000000a1",
                "type": "access",
                "description": "**This is a unsupported policy version placeholder, to view the full content, please call GET with provided href**",
                "subjects": [{"attributes": [{"name": "iam_id", "value": "unsupported version"}]}],
                "roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:UnsupportedVersion", "display_name": "Unsupported Version",
                           "description": "**This is a unsupported policy version placeholder, to view the full content, please call GET with provided href**"}],
                "resources": [{"attributes": [{"name": "accountId", "value": ACCOUNT}]}],
                "href": format!("{base}/v2/policies/00000000-0000-4000-8000-0000000000a1")
            })
        );
        // The v1 view of a v1 policy echoes it as written, roles enriched.
        assert_eq!(v1_made["href"], format!("{base}/v1/policies/00000000-0000-4000-8000-0000000000a2"));
        assert_eq!(v1_made["subjects"], json!([{"attributes": [{"name": "access_group_id", "value": ML}]}]));
        assert_eq!(
            v1_made["resources"][0]["attributes"],
            json!([{"name": "accountId", "value": ACCOUNT}, {"name": "serviceName", "value": "quantum-computing"},
                   {"name": "serviceInstance", "value": QR_COMMON}])
        );
        assert_eq!(
            v1_made["roles"],
            json!([{"role_id": READER, "display_name": "Reader",
                    "description": "As a reader, you can perform read-only actions within a service such as viewing service-specific resources."}])
        );
        assert_eq!(v1_made["state"], "active");

        let v2 = api.get(&format!("/v2/policies?account_id={ACCOUNT}&access_group_id={ML}")).await;
        let [first, second] = v2.body["policies"].as_array().expect("array").as_slice() else {
            panic!("{}", v2.body);
        };
        assert_eq!(first["href"], format!("{base}/v2/policies/00000000-0000-4000-8000-0000000000a1"));
        assert_eq!(
            first["control"]["grant"]["roles"],
            json!([{"role_id": VIEWER}, {"role_id": READER},
                   {"role_id": format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT}::customRole:JobManager")}])
        );
        assert_eq!(second["href"], format!("{base}/v1/policies/00000000-0000-4000-8000-0000000000a2"));
        assert_eq!(
            second["resource"]["attributes"],
            json!([{"key": "accountId", "operator": "stringEquals", "value": ACCOUNT},
                   {"key": "serviceName", "operator": "stringEquals", "value": "quantum-computing"},
                   {"key": "serviceInstance", "operator": "stringEquals", "value": QR_COMMON}]),
            "the v2 view fills every operator"
        );
        assert_eq!(second["subject"]["attributes"][0]["operator"], "stringEquals");
        assert_eq!(second["state"], "active");
        let display = api
            .get("/v2/policies/00000000-0000-4000-8000-0000000000a1?format=display")
            .await;
        let job_manager = &display.body["control"]["grant"]["roles"][2];
        assert_eq!(job_manager["display_name"], "Job manager");
        assert_eq!(job_manager["actions"][3]["id"], "quantum-computing.job.delete");
        assert!(job_manager["actions"][3]["display_name"].is_string());
        assert!(display.etag.as_deref().is_some_and(is_ibm_etag), "{:?}", display.etag);
        assert_eq!(api.get("/v2/policies/00000000-0000-4000-8000-0000000000a1?format=colour").await.status, 400);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_if_match_and_the_creating_version() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let created = api.post("/v1/policies", &v1_body(FINANCE, QR_COMMON, &[VIEWER])).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().expect("id").to_string();
        let etag = created.etag.clone().expect("an ETag on create");
        assert!(is_ibm_etag(&etag), "{etag}");
        let path = format!("/v1/policies/{id}");
        assert_eq!(api.get(&path).await.etag.as_deref(), Some(etag.as_str()));

        let missing = api.put(&path, &v1_body(FINANCE, QR_COMMON, &[READER]), None).await;
        assert_eq!((missing.status.as_u16(), missing.code()), (428, "precondition_required"));
        let stale = api.put(&path, &v1_body(FINANCE, QR_COMMON, &[READER]), Some("1-0000")).await;
        assert_eq!((stale.status.as_u16(), stale.code()), (412, "precondition_failed"));
        let other_version = api.put(&format!("/v2/policies/{id}"), &v2_body(FINANCE, QR_COMMON, &[READER]), Some(&etag)).await;
        assert_eq!((other_version.status.as_u16(), other_version.code()), (400, "request_not_processed"));
        assert!(other_version.message().contains(&format!("/v1/policies/{id}")), "{}", other_version.message());
        let moved = api.put(&path, &v1_body(ML, QR_COMMON, &[READER]), Some(&etag)).await;
        assert_eq!(moved.status, StatusCode::BAD_REQUEST, "the subject cannot change");

        let replaced = api.put(&path, &v1_body(FINANCE, QR_COMMON, &[READER, MANAGER]), Some(&etag)).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        let new_etag = replaced.etag.clone().expect("an ETag on replace");
        assert_ne!(new_etag, etag);
        assert!(new_etag.starts_with("2-"), "{new_etag}");
        assert_eq!(replaced.body["roles"][1]["display_name"], "Manager");

        assert_eq!(api.delete(&format!("/v2/policies/{id}")).await.status, StatusCode::BAD_REQUEST);
        assert_eq!(api.delete(&path).await.status, StatusCode::NO_CONTENT);
        let gone = api.get(&path).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(
            gone.body["errors"],
            json!([{"code": "policy_not_found", "message": format!("Policy with Id {id} not found.")}])
        );
        assert_eq!(api.delete(&path).await.status, StatusCode::NOT_FOUND);
        let listed = api.get(&format!("/v2/policies?account_id={ACCOUNT}&access_group_id={FINANCE}")).await;
        assert!(!ids(&listed.body).contains(&id));
        let deleted = api.get(&format!("/v2/policies?account_id={ACCOUNT}&state=deleted")).await;
        assert_eq!(ids(&deleted.body), std::slice::from_ref(&id));

        let restored = api.send(reqwest::Method::PATCH, &path, Some(&json!({"state": "active"})), Some(&new_etag)).await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
        assert_eq!(api.get(&path).await.status, StatusCode::OK);

        // A v2 create answers the v2 view with a v2 href and an ETag; v2 replace too.
        let v2 = api.post("/v2/policies", &v2_body(ML, "44444444-4444-4444-8444-444444444444", &[VIEWER])).await;
        assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.body);
        let v2_id = v2.body["id"].as_str().expect("id").to_string();
        assert_eq!(v2.body["href"], format!("{}/v2/policies/{v2_id}", api.base));
        let v2_path = format!("/v2/policies/{v2_id}");
        let etag = api.get(&v2_path).await.etag.expect("etag");
        let replaced = api.put(&v2_path, &v2_body(ML, "44444444-4444-4444-8444-444444444444", &[READER]), Some(&etag)).await;
        assert_eq!(replaced.status, StatusCode::OK);
        assert!(replaced.etag.as_deref().is_some_and(|t| t != etag && is_ibm_etag(t)));
        let patch = api.send(reqwest::Method::PATCH, &v2_path, Some(&json!({"state": "active"})), Some("*")).await;
        assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED, "v2 has no PATCH");
        assert_eq!(api.send(reqwest::Method::PATCH, &format!("/v1/policies/{v2_id}"), Some(&json!({"state": "active"})), Some("*")).await.status, StatusCode::BAD_REQUEST);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_is_a_409_naming_the_existing_policy() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        // The same subject and resource as the v2 policy a1, through v1 and other roles.
        let conflict = api.post("/v1/policies", &v1_body(ML, QR_ML, &[MANAGER])).await;
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        let etag = api.get("/v2/policies/00000000-0000-4000-8000-0000000000a1").await.etag.expect("etag");
        let error = &conflict.body["errors"][0];
        assert_eq!(error["code"], "policy_conflict_error");
        assert_eq!(
            error["message"],
            "The policy wasn't created because an access policy with identical attributes already exists. Please update the roles in the existing policy (00000000-0000-4000-8000-0000000000a1), or update the one you're trying to assign to include a different attribute assignment."
        );
        assert_eq!(error["details"]["conflicts_with"]["etag"], etag.as_str());
        let existing = &error["details"]["conflicts_with"]["policy"];
        assert_eq!(existing["id"], "00000000-0000-4000-8000-0000000000a1");
        assert_eq!(existing["control"]["grant"]["roles"][0]["role_id"], VIEWER, "in v2 shape, not the placeholder");
        assert_eq!(conflict.body["status_code"], 409);
        assert!(conflict.body["trace"].is_string());
        // Operators and attribute order do not make a policy different.
        let mut reordered = v2_body(ML, QR_ML, &[MANAGER]);
        reordered["resource"]["attributes"].as_array_mut().expect("array").reverse();
        assert_eq!(api.post("/v2/policies", &reordered).await.status, StatusCode::CONFLICT);
        // Tags do.
        let mut tagged = v2_body(ML, QR_ML, &[MANAGER]);
        tagged["resource"]["tags"] = json!([{"key": "project", "value": "ml", "operator": "stringEquals"}]);
        assert_eq!(api.post("/v2/policies", &tagged).await.status, StatusCode::CREATED);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_policies_are_400s_in_ibms_words() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let unknown_group = api.post("/v2/policies", &v2_body("AccessGroupId-elsewhere", QR_ML, &[VIEWER])).await;
        assert_eq!((unknown_group.status.as_u16(), unknown_group.code()), (400, "invalid_body"));
        assert_eq!(
            unknown_group.message(),
            "Access groups can only be assigned against resources in the same account as the access group."
        );
        let bad_role = api.post("/v2/policies", &v2_body(ML, "g-1", &["crn:v1:bluemix:public:iam::::role:Owner"])).await;
        assert_eq!((bad_role.status.as_u16(), bad_role.code()), (400, "invalid_body"));
        let mut no_operator = v2_body(ML, "g-2", &[VIEWER]);
        no_operator["resource"]["attributes"][2] = json!({"key": "serviceInstance", "value": "g-2"});
        assert_eq!(api.post("/v2/policies", &no_operator).await.status, StatusCode::BAD_REQUEST);
        let mut no_account = v1_body(ML, "g-3", &[VIEWER]);
        no_account["resources"][0]["attributes"].as_array_mut().expect("array").remove(0);
        assert_eq!(api.post("/v1/policies", &no_account).await.status, StatusCode::BAD_REQUEST);
        let two_subjects = json!({"type": "access", "subjects": [
            {"attributes": [{"name": "access_group_id", "value": ML}]},
            {"attributes": [{"name": "access_group_id", "value": FINANCE}]}],
            "roles": [{"role_id": VIEWER}], "resources": v1_body(ML, "g-4", &[VIEWER])["resources"]});
        assert_eq!(api.post("/v1/policies", &two_subjects).await.status, StatusCode::BAD_REQUEST);
        let mut authorization = v2_body(ML, "g-5", &[VIEWER]);
        authorization["type"] = json!("authorization");
        assert_eq!(api.post("/v2/policies", &authorization).await.status, StatusCode::BAD_REQUEST);
        let no_account_id = api.get("/v2/policies").await;
        assert_eq!((no_account_id.status.as_u16(), no_account_id.code()), (400, "missing_required_query_parameter"));
        let other = api.get("/v2/policies?account_id=ffffffffffffffffffffffffffffffff").await;
        assert_eq!(other.status, StatusCode::FORBIDDEN);
        assert!(emu.state().policies.len() == 3, "nothing was created");
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_page_with_an_opaque_start_and_filter_by_subject() {
    bounded(async {
        let spec = Synthetic {
            users: 20,
            groups: 12,
            memberships: 30,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 4,
        };
        let access = SyntheticAccess {
            instances: 6,
            policy_groups: 10,
            policies_per_group: 3,
            v1_every: 2,
            ..SyntheticAccess::default()
        };
        let state = emulator::synthetic_access(&spec, &access);
        let account = state.account_id.clone();
        let all: Vec<String> = state.policies.iter().filter_map(|p| p.id.clone()).collect();
        let group = state.groups[4].id.clone();
        let emu = start(state.clone()).await;
        let api = Api::new(&emu, SYNTHETIC_ADMIN_KEY).await;
        let everything = api.get(&format!("/v2/policies?account_id={account}")).await;
        assert_eq!(ids(&everything.body), all);
        assert!(
            everything.body.get("next").is_none() && everything.body.get("limit").is_none(),
            "no limit: one page, no links"
        );

        let (mut seen, mut start, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let mut path = format!("/v2/policies?account_id={account}&type=access&limit=7");
            if let Some(s) = &start {
                path.push_str(&format!("&start={s}"));
            }
            let page = api.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert_eq!(page.body["limit"], 7);
            assert!(
                page.body["first"]["href"]
                    .as_str()
                    .is_some_and(|h| h.ends_with("limit=7"))
            );
            seen.extend(ids(&page.body));
            pages += 1;
            let Some(next) = page.body.get("next") else {
                break;
            };
            let token = next["start"].as_str().expect("next.start").to_string();
            assert!(
                next["href"]
                    .as_str()
                    .is_some_and(|h| h.ends_with(&format!("&start={token}")))
            );
            assert!(
                token.parse::<u64>().is_err(),
                "the start is opaque: {token}"
            );
            start = Some(token);
        }
        assert_eq!((seen, pages), (all.clone(), 5), "30 policies in pages of 7");
        let foreign = api
            .get(&format!(
                "/v2/policies?account_id={account}&access_group_id={group}&limit=7&start={}",
                start.expect("a token")
            ))
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::BAD_REQUEST,
            "a start belongs to its query"
        );
        assert_eq!(
            api.get(&format!("/v2/policies?account_id={account}&limit=0"))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );

        let by_group = api
            .get(&format!(
                "/v1/policies?account_id={account}&access_group_id={group}"
            ))
            .await;
        let expected: Vec<String> = state
            .policies
            .iter()
            .filter(|p| p.access_group_id.as_deref() == Some(group.as_str()))
            .filter_map(|p| p.id.clone())
            .collect();
        assert_eq!(ids(&by_group.body), expected);
        let newest_first = api
            .get(&format!("/v2/policies?account_id={account}&sort=-id"))
            .await;
        let mut sorted = all.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(ids(&newest_first.body), sorted);
        assert_eq!(
            api.get(&format!("/v2/policies?account_id={account}&state=gone"))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            api.get(&format!(
                "/v2/policies?account_id={account}&service_type=platform_service"
            ))
            .await
            .body["policies"],
            json!([])
        );
        assert_eq!(
            ids(&api
                .get(&format!(
                    "/v2/policies?account_id={account}&service_name=quantum-computing"
                ))
                .await
                .body)
            .len(),
            30
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_list_three_arrays_and_custom_roles_follow_ibms_rules() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let quantum = api.get(&format!("/v2/roles?account_id={ACCOUNT}&service_name=quantum-computing")).await;
        assert_eq!(quantum.status, StatusCode::OK);
        let names = |key: &str, body: &Value| -> Vec<String> {
            body[key].as_array().expect("always an array").iter().map(|r| r["display_name"].as_str().unwrap_or("").to_string()).collect()
        };
        assert_eq!(names("system_roles", &quantum.body), ["Viewer", "Operator", "Editor", "Administrator"]);
        assert_eq!(names("service_roles", &quantum.body), ["Reader", "Writer", "Manager"]);
        assert_eq!(names("custom_roles", &quantum.body), ["Job manager"]);
        let custom = &quantum.body["custom_roles"][0];
        let id = custom["id"].as_str().expect("id").to_string();
        assert_eq!(custom["crn"], format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT}::customRole:JobManager"));
        assert_eq!(custom["href"], format!("{}/v2/roles/{id}", api.base));
        assert_eq!(quantum.body["system_roles"][0]["crn"], VIEWER);
        for query in ["service_name=alliamserviceroles", "service_group_id=IAM", "service_name=cloud-object-storage", ""] {
            let r = api.get(&format!("/v2/roles?{query}")).await;
            assert_eq!(r.status, StatusCode::OK, "{query}");
            for key in ["custom_roles", "service_roles", "system_roles"] {
                assert!(r.body[key].is_array(), "{key} for {query:?}: {}", r.body);
            }
            assert_eq!(r.body["custom_roles"], json!([]), "no account_id, no custom roles");
        }
        assert_eq!(api.get("/v2/roles?service_name=quantum-computing&service_group_id=IAM").await.status, StatusCode::BAD_REQUEST);

        let create = |name: &str, display: &str, actions: &[&str]| json!({
            "name": name, "display_name": display, "account_id": ACCOUNT,
            "service_name": "quantum-computing", "actions": actions});
        let created = api.post("/v2/roles", &create("Runner", "Runner", &["quantum-computing.job.create"])).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let runner = created.body["id"].as_str().expect("id").to_string();
        assert_eq!(created.body["description"], "");
        let conflict = api.post("/v2/roles", &create("JobManager", "Another", &["quantum-computing.job.read"])).await;
        assert_eq!((conflict.status.as_u16(), conflict.code()), (409, "role_conflict_error"));
        assert_eq!(conflict.message(), "This role name has already been used, please update the existing one or change the role name.");
        assert_eq!(conflict.body["errors"][0]["details"]["conflicts_with"]["role"]["id"], id.as_str());
        assert!(conflict.body["errors"][0]["details"]["conflicts_with"]["etag"].as_str().is_some_and(is_ibm_etag));
        for bad in [
            create("runner2", "R", &["quantum-computing.job.read"]),
            create("Runner2", "", &["quantum-computing.job.read"]),
            create("Runner2", "R", &[]),
            create("Runner2", "R", &["quantum-computing.job.read", "quantum-computing.job.read"]),
            create("Runner2", "R", &["iam.policy.read"]),
            create("Runner2", "Reader", &["quantum-computing.job.read"]),
        ] {
            let r = api.post("/v2/roles", &bad).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }
        let path = format!("/v2/roles/{runner}");
        let etag = api.get(&path).await.etag.expect("etag");
        let replace = json!({"display_name": "Runner 2", "actions": ["quantum-computing.job.read"], "description": "reads"});
        assert_eq!(api.put(&path, &replace, None).await.status.as_u16(), 428);
        let renamed = api.put(&path, &json!({"display_name": "x", "actions": ["quantum-computing.job.read"], "name": "Other"}), Some(&etag)).await;
        assert_eq!(renamed.status, StatusCode::BAD_REQUEST, "the name cannot change");
        let replaced = api.put(&path, &replace, Some(&etag)).await;
        assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
        assert_eq!(replaced.body["actions"], json!(["quantum-computing.job.read"]));
        assert_eq!(api.put(&path, &replace, Some(&etag)).await.status.as_u16(), 412);
        assert_eq!(api.delete(&format!("/v2/roles/{id}")).await.status, StatusCode::CONFLICT, "JobManager is granted by a policy");
        assert_eq!(api.delete(&path).await.status, StatusCode::NO_CONTENT);
        let gone = api.get(&path).await;
        assert_eq!((gone.status.as_u16(), gone.code()), (404, "role_not_found"));
        // A policy may grant a custom role only on the role's service.
        let job_manager = format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT}::customRole:JobManager");
        let mut foreign = v2_body(FINANCE, "g", &[&job_manager]);
        foreign["resource"]["attributes"][1]["value"] = json!("cloud-object-storage");
        assert!(emu.state().roles.iter().all(|r| r.name != "Runner"));
        let refused = api.post("/v2/policies", &foreign).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_group_or_a_user_takes_their_policies() {
    bounded(async {
        let mut state = qiskit();
        state.policies.push(orgsync::emulator::Policy {
            iam_id: Some("IBMid-RAVI000001".into()),
            roles: vec!["Viewer".into()],
            resource: serde_json::from_value(json!({"serviceType": "service"}))
                .expect("attributes"),
            ..Default::default()
        });
        let emu = start(state).await;
        let api = Api::new(&emu, ADMIN_KEY).await;
        let user = api
            .get(&format!(
                "/v2/policies?account_id={ACCOUNT}&iam_id=IBMid-RAVI000001"
            ))
            .await;
        assert_eq!(ids(&user.body).len(), 1);
        assert_eq!(
            api.delete(&format!("/v2/groups/{ML}?force=true"))
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let ml = api
            .get(&format!(
                "/v2/policies?account_id={ACCOUNT}&access_group_id={ML}"
            ))
            .await;
        assert_eq!(ml.body["policies"], json!([]));
        assert_eq!(
            api.get("/v2/policies/00000000-0000-4000-8000-0000000000a1")
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.delete(&format!("/v2/accounts/{ACCOUNT}/users/IBMid-RAVI000001"))
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let user = api
            .get(&format!(
                "/v2/policies?account_id={ACCOUNT}&iam_id=IBMid-RAVI000001"
            ))
            .await;
        assert_eq!(user.body["policies"], json!([]));
        let left = emu.state();
        assert_eq!(left.policies.len(), 1, "only finance's policy is left");
        assert!(left.groups.iter().all(|g| g.id != ML));
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_stats_cover_the_policy_routes() {
    bounded(async {
        // Every call fails, the token request too: take the token without a request.
        let emu = emulator::start(
            qiskit(),
            Options {
                fail_rate: 1.0,
                ..Options::default()
            },
        )
        .await
        .expect("start");
        let token = emu.token_for(ADMIN_KEY).expect("a token for a known key");
        let http = crate::emulator_http::http();
        let before = emu.state();
        let r = http
            .post(format!("{}/v2/policies", emu.base_url()))
            .bearer_auth(&token)
            .json(&v2_body(FINANCE, "g-9", &[VIEWER]))
            .send()
            .await
            .expect("send");
        assert!(r.status().is_server_error(), "{}", r.status());
        assert_eq!(emu.state(), before, "an injected failure changes nothing");
        let r = http
            .get(format!(
                "{}/v2/policies/00000000-0000-4000-8000-0000000000a1",
                emu.base_url()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send");
        assert!(r.status().is_server_error());
        let stats = emu.stats();
        assert_eq!(stats["by_route"]["POST /v2/policies"], 1);
        assert_eq!(stats["by_route"]["GET /v2/policies/{policy_id}"], 1);
        assert!(stats["served_5xx"].as_u64().is_some_and(|n| n >= 2));
        emu.shutdown().await;

        let (emu, api) = qiskit_emulator().await;
        api.get(&format!("/v1/policies?account_id={ACCOUNT}")).await;
        api.get("/v2/roles?service_name=quantum-computing").await;
        api.get("/v2/roles/nope").await;
        api.send(
            reqwest::Method::PATCH,
            "/v1/policies/nope",
            Some(&json!({"state": "active"})),
            Some("*"),
        )
        .await;
        let by_route = &emu.stats()["by_route"];
        for route in [
            "GET /v1/policies",
            "GET /v2/roles",
            "GET /v2/roles/{role_id}",
            "PATCH /v1/policies/{policy_id}",
        ] {
            assert_eq!(by_route[route], 1, "{route}: {by_route}");
        }
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persist_writes_policies_roles_and_rules_back() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.yaml");
        std::fs::write(&path, crate::emulator_http::QISKIT).expect("write");
        let state = State::load(&path).expect("loads");
        let emu = emulator::start(
            state,
            Options {
                persist: Some(path.clone()),
                ..Options::default()
            },
        )
        .await
        .expect("start");
        let api = Api::new(&emu, ADMIN_KEY).await;
        let created = api
            .post("/v2/policies", &v2_body(FINANCE, QR_COMMON, &[VIEWER]))
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let role = api
            .post(
                "/v2/roles",
                &json!({"name": "Runner", "display_name": "Runner", "account_id": ACCOUNT,
            "service_name": "quantum-computing", "actions": ["quantum-computing.job.create"]}),
            )
            .await;
        assert_eq!(role.status, StatusCode::CREATED);
        let rule = api
            .post(
                &format!("/v2/groups/{FINANCE}/rules"),
                &json!({"expiration": 2, "realm_name": "https://idp",
            "conditions": [{"claim": "dept", "operator": "EQUALS", "value": "\"finance\""}]}),
            )
            .await;
        assert_eq!(rule.status, StatusCode::CREATED);
        let on_disk = State::load(&path).expect("the persisted state loads");
        assert_eq!(
            on_disk,
            emu.state(),
            "what is on disk is what the emulator serves"
        );
        assert_eq!(on_disk.policies.len(), 4);
        assert!(on_disk.roles.iter().any(|r| r.name == "Runner"));
        assert_eq!(on_disk.groups[1].rules.len(), 1);
        assert_eq!(on_disk.resource_instances.len(), 3);
        emu.shutdown().await;
        let again = emulator::start(on_disk, Options::default())
            .await
            .expect("restart");
        let api = Api::new(&again, ADMIN_KEY).await;
        let id = created.body["id"].as_str().expect("id");
        let after = api.get(&format!("/v2/policies/{id}")).await;
        assert_eq!(after.etag, created.etag, "the ETag survives a restart");
        again.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_create_that_landed_is_a_409_on_the_retry() {
    bounded(async {
        let faulty = emulator::start(
            qiskit(),
            Options {
                drop_rate: 1.0,
                seed: 1,
                ..Options::default()
            },
        )
        .await
        .expect("start");
        // Every call is dropped, the token request too: take the token without a request.
        let token = faulty
            .token_for(ADMIN_KEY)
            .expect("a token for a known key");
        let http = crate::emulator_http::http();
        let url = format!("{}/v2/policies", faulty.base_url());
        let mut landed = None;
        for i in 0..20 {
            let body = v2_body(FINANCE, &format!("g-{i}"), &[VIEWER]);
            let sent = http.post(&url).bearer_auth(&token).json(&body).send().await;
            assert!(sent.is_err(), "every connection is dropped");
            let state = faulty.state();
            if state.policies.len() > 3 {
                landed = Some((body, state));
                break;
            }
        }
        let (body, state) = landed.expect("half of the drops apply the write first");
        assert!(faulty.stats()["drops"].as_u64().is_some_and(|n| n >= 1));
        faulty.shutdown().await;
        let emu = start(state.clone()).await;
        let api = Api::new(&emu, ADMIN_KEY).await;
        let retry = api.post("/v2/policies", &body).await;
        assert_eq!(
            (retry.status.as_u16(), retry.code()),
            (409, "policy_conflict_error")
        );
        let named = retry.body["errors"][0]["details"]["conflicts_with"]["policy"]["id"].clone();
        assert_eq!(
            named.as_str(),
            state.policies[3].id.as_deref(),
            "the retry names what landed"
        );
        emu.shutdown().await;
    })
    .await;
}
