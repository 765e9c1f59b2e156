//! The emulator's Access Groups dynamic rules and dynamic members over HTTP
//! (docs/emulator.md), and the state file's new keys through `/__admin/state`.

use orgsync::emulator::{MembershipType, State};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::emulator_http::{ACCOUNT, FINANCE, ML, QISKIT, bounded, is_ibm_etag, qiskit_emulator};

fn rule(name: Option<&str>, expiration: u32) -> Value {
    let mut r = json!({
        "expiration": expiration,
        "realm_name": "https://us-south.appid.cloud.ibm.com/oauth/v4/tenant",
        "conditions": [{"claim": "project", "operator": "CONTAINS", "value": "\"finance\""}]
    });
    if let Some(n) = name {
        r["name"] = json!(n);
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_created_read_replaced_and_removed_in_ibms_shape() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let path = format!("/v2/groups/{FINANCE}/rules");
        assert_eq!(api.get(&path).await.body, json!({"rules": []}));
        let created = api.post(&path, &rule(Some("finance-project"), 24)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().expect("id").to_string();
        assert!(id.starts_with("ClaimRule-"), "{id}");
        let mut keys: Vec<&str> = created.body.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["access_group_id", "account_id", "conditions", "created_at", "created_by_id", "expiration",
                          "id", "last_modified_at", "last_modified_by_id", "name", "realm_name"]);
        assert_eq!(created.body["access_group_id"], FINANCE);
        assert_eq!(created.body["account_id"], ACCOUNT);
        assert_eq!(created.body["conditions"][0]["value"], "\"finance\"", "kept verbatim");
        let one = format!("{path}/{id}");
        let got = api.get(&one).await;
        let etag = got.etag.clone().expect("an ETag");
        assert!(is_ibm_etag(&etag), "{etag}");
        assert_eq!(api.put(&one, &rule(None, 12), None).await.status.as_u16(), 428);
        assert_eq!(api.put(&one, &rule(None, 12), Some("1-x")).await.status.as_u16(), 412);
        let replaced = api.put(&one, &rule(None, 12), Some(&etag)).await;
        assert_eq!(replaced.status, StatusCode::OK);
        assert_eq!(replaced.body["name"], "", "a replace without name clears it");
        assert_eq!(replaced.body["expiration"], 12);
        assert_ne!(replaced.etag, Some(etag));
        for bad in [rule(None, 0), rule(None, 25), json!({"expiration": 1, "realm_name": "r", "conditions": []}),
                    json!({"expiration": 1, "realm_name": "r", "conditions": [{"claim": "c", "operator": "LIKE", "value": "v"}]}),
                    json!({"expiration": 1, "conditions": [{"claim": "c", "operator": "IN", "value": "v"}]})] {
            let r = api.post(&path, &bad).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }
        for i in 0..4 {
            assert_eq!(api.post(&path, &rule(Some(&format!("r{i}")), 1)).await.status, StatusCode::CREATED);
        }
        let sixth = api.post(&path, &rule(Some("sixth"), 1)).await;
        assert_eq!((sixth.status.as_u16(), sixth.code()), (400, "limit_exceeded"));
        assert_eq!(api.get(&path).await.body["rules"].as_array().map(Vec::len), Some(5));
        assert_eq!(api.delete(&one).await.status, StatusCode::NO_CONTENT);
        assert_eq!(api.get(&one).await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.delete(&one).await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.get("/v2/groups/AccessGroupId-nope/rules").await.status, StatusCode::NOT_FOUND);
        assert_eq!(api.get("/v2/groups/AccessGroupId-PublicAccess/rules").await.body, json!({"rules": []}));
        assert_eq!(api.post("/v2/groups/AccessGroupId-PublicAccess/rules", &rule(None, 1)).await.status, StatusCode::FORBIDDEN);
        let federated = api.get(&format!("/v2/groups/{FINANCE}?show_federated=true")).await;
        assert_eq!(federated.body["is_federated"], true);
        let by_route = &emu.stats()["by_route"];
        assert!(by_route["POST /v2/groups/{access_group_id}/rules"].as_u64().is_some_and(|n| n >= 5));
        assert_eq!(by_route["PUT /v2/groups/{access_group_id}/rules/{rule_id}"], 3);
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_members_are_listed_on_request_and_cannot_be_removed() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let dynamic = "IBMid-APPIDUSER01";
        let members = |body: &Value| -> Vec<(String, String)> {
            body["members"]
                .as_array()
                .expect("array")
                .iter()
                .map(|m| {
                    (
                        m["iam_id"].as_str().unwrap_or("").into(),
                        m["membership_type"].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        };
        let path = format!("/v2/groups/{ML}/members");
        let default = api.get(&path).await;
        assert_eq!(
            members(&default.body),
            [("IBMid-FATIMA0001".to_string(), "static".to_string())],
            "static by default"
        );
        assert_eq!(default.body["total_count"], 1);
        assert_eq!(
            members(
                &api.get(&format!("{path}?membership_type=dynamic"))
                    .await
                    .body
            ),
            [(dynamic.to_string(), "dynamic".to_string())]
        );
        assert_eq!(
            api.get(&format!("{path}?membership_type=all")).await.body["total_count"],
            2
        );
        assert_eq!(
            api.get(&format!("{path}?membership_type=some"))
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            api.send(Method::HEAD, &format!("{path}/{dynamic}"), None, None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
        let refused = api.delete(&format!("{path}/{dynamic}")).await;
        assert_eq!(
            (refused.status.as_u16(), refused.code()),
            (400, "dynamic_member")
        );
        let bulk = api
            .post(
                &format!("{path}/delete"),
                &json!({"members": [dynamic, "IBMid-NOBODY"]}),
            )
            .await;
        assert_eq!(bulk.status.as_u16(), 207);
        assert_eq!(bulk.body["members"][0]["status_code"], 400);
        assert_eq!(
            bulk.body["members"][0]["errors"][0]["code"],
            "dynamic_member"
        );
        assert_eq!(bulk.body["members"][1]["status_code"], 404);
        let all = api
            .delete(&format!(
                "/v2/groups/_allgroups/members/{dynamic}?account_id={ACCOUNT}"
            ))
            .await;
        assert_eq!(all.status.as_u16(), 207);
        assert_eq!(all.body["groups"][0]["status_code"], 400);
        let groups = api
            .get(&format!(
                "/v2/groups?account_id={ACCOUNT}&iam_id={dynamic}&membership_type=dynamic"
            ))
            .await;
        assert_eq!(groups.body["groups"][0]["id"], ML);
        let none = api
            .get(&format!("/v2/groups?account_id={ACCOUNT}&iam_id={dynamic}"))
            .await;
        assert_eq!(
            none.body["groups"],
            json!([]),
            "static by default for groups too"
        );
        assert!(
            emu.state().groups[0]
                .members
                .iter()
                .any(|m| m.iam_id == dynamic),
            "still a member"
        );

        // Added explicitly, a dynamic member becomes static; then it can be removed.
        let add = api
            .put(
                &path,
                &json!({"members": [{"iam_id": "IBMid-RAVI000001", "type": "user"}]}),
                None,
            )
            .await;
        assert_eq!(add.status.as_u16(), 207);
        let mut state = emu.state();
        state.users.push(orgsync::emulator::User {
            email: "appid.user@example.com".into(),
            iam_id: dynamic.into(),
            state: "ACTIVE".into(),
            firstname: String::new(),
            lastname: String::new(),
            added_on: None,
            processing_until: None,
        });
        emu.set_state(state);
        let add = api
            .put(
                &path,
                &json!({"members": [{"iam_id": dynamic, "type": "user"}]}),
                None,
            )
            .await;
        assert_eq!(add.body["members"][0]["status_code"], 200);
        let now = emu.state();
        let member = now.groups[0]
            .members
            .iter()
            .find(|m| m.iam_id == dynamic)
            .expect("member");
        assert_eq!(member.membership_type, MembershipType::Static);
        assert_eq!(
            api.delete(&format!("{path}/{dynamic}")).await.status,
            StatusCode::NO_CONTENT
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_carries_what_the_account_grants() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let admin = format!("{}/__admin/state", api.base);
        let text = api.http.get(&admin).send().await.expect("get").text().await.expect("text");
        let served: Value = serde_json::from_str(&text).expect("json");
        // Hand-written entries come back filled in: ids, timestamps, CRNs, accountId.
        assert_eq!(served["policies"][0]["roles"][0], "crn:v1:bluemix:public:iam::::role:Viewer");
        assert_eq!(served["policies"][0]["resource"]["accountId"], ACCOUNT);
        assert!(served["roles"][0]["id"].is_string());
        assert!(served["groups"][0]["rules"][0]["id"].as_str().is_some_and(|i| i.starts_with("ClaimRule-")));
        assert_eq!(served["groups"][0]["members"][1]["membership_type"], "dynamic");
        assert!(served["groups"][0]["members"][0].get("membership_type").is_none(), "static is not written");
        assert_eq!(served["resource_instances"][0]["resource_group_id"], "0be5ad401ae913d8ff665d92680664ed");
        // What GET answers, POST accepts, and the account stays the same.
        let before = emu.state();
        let r = api.http.post(&admin).body(text).send().await.expect("post");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(emu.state(), before);
        // YAML with a typo in a new key is refused, and so is a policy on a missing group.
        let r = api.http.post(&admin).body(QISKIT.replace("policies:", "policys:")).send().await.expect("post");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.expect("text").contains("policys"));
        let r = api.http.post(&admin).body(QISKIT.replace("access_group_id: AccessGroupId-finance", "access_group_id: AccessGroupId-gone")).send().await.expect("post");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // A state without the new keys is written exactly as before.
        let old = State::parse(r#"{"account_id":"0123456789abcdef0123456789abcdef","api_keys":[],"users":[],"groups":[{"id":"AccessGroupId-1","name":"g","description":"","members":[{"iam_id":"IBMid-A","type":"user"}]}]}"#).expect("old state");
        assert_eq!(
            serde_json::to_string(&old).expect("json"),
            r#"{"account_id":"0123456789abcdef0123456789abcdef","api_keys":[],"users":[],"groups":[{"id":"AccessGroupId-1","name":"g","description":"","members":[{"iam_id":"IBMid-A","type":"user"}]}]}"#
        );
        emu.shutdown().await;
    })
    .await;
}
