//! The emulator's Resource Controller and Resource Manager over HTTP (docs/emulator.md):
//! instances paged as IBM pages them, found by name, GUID or CRN; resource groups listed
//! and read, with the implicit `Default` of an account that lists none.

use orgsync::emulator::{self, SYNTHETIC_ADMIN_KEY, Synthetic, SyntheticAccess};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::emulator_http::{ACCOUNT, Api, QR_ML, bounded, qiskit_emulator, start};

fn names(body: &Value) -> Vec<String> {
    body["resources"]
        .as_array()
        .expect("resources is always an array")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn start_of(next_url: &str) -> String {
    let query = next_url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|p| p.strip_prefix("start="))
        .expect("a start")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_page_as_resource_controller_does() {
    bounded(async {
        let spec = Synthetic {
            users: 3,
            groups: 1,
            memberships: 0,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 9,
        };
        let mut state = emulator::synthetic_access(
            &spec,
            &SyntheticAccess {
                instances: 250,
                ..SyntheticAccess::default()
            },
        );
        state.resource_instances[3].state = Some("removed".into());
        state.resource_instances[4].state = Some("provisioning".into());
        state.resource_instances[5].name = "qr-006".into();
        let emu = start(state.clone()).await;
        let api = Api::new(&emu, SYNTHETIC_ADMIN_KEY).await;

        let first = api.get("/v2/resource_instances").await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.body["rows_count"], 100, "default limit 100");
        let next = first.body["next_url"]
            .as_str()
            .expect("a next page")
            .to_string();
        assert!(
            next.starts_with("/v2/resource_instances?start="),
            "relative: {next}"
        );
        let token = start_of(&next);
        // With a token, every other parameter is ignored, as IBM documents.
        let second = api
            .get(&format!(
                "/v2/resource_instances?start={token}&name=qr-000&limit=3"
            ))
            .await;
        assert_eq!(second.body["rows_count"], 100);
        let third = api
            .get(&format!(
                "/v2/resource_instances?start={}",
                start_of(second.body["next_url"].as_str().expect("next"))
            ))
            .await;
        assert_eq!(
            third.body["rows_count"], 49,
            "249 visible: the removed one is not listed by default"
        );
        assert_eq!(third.body["next_url"], Value::Null, "null on the last page");
        let all: Vec<String> = [&first, &second, &third]
            .iter()
            .flat_map(|a| names(&a.body))
            .collect();
        let visible: Vec<String> = state
            .resource_instances
            .iter()
            .filter(|i| i.state.as_deref() != Some("removed"))
            .map(|i| i.name.clone())
            .collect();
        assert_eq!(all, visible);
        assert_eq!(
            api.get("/v2/resource_instances?limit=400").await.body["rows_count"],
            100,
            "capped at 100"
        );
        assert_eq!(
            api.get("/v2/resource_instances?limit=0").await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            api.get("/v2/resource_instances?start=bm9wZQ").await.status,
            StatusCode::BAD_REQUEST
        );

        let dup = api.get("/v2/resource_instances?name=qr-006").await;
        assert_eq!(dup.body["rows_count"], 2, "names are not unique");
        assert_eq!(
            api.get("/v2/resource_instances?name=QR-006").await.body["rows_count"],
            0,
            "exact, case-sensitive"
        );
        let removed = api.get("/v2/resource_instances?state=removed").await;
        assert_eq!(names(&removed.body), ["qr-003"]);
        let both = api
            .get("/v2/resource_instances?state=active,removed&limit=5")
            .await;
        assert_eq!(
            names(&both.body),
            ["qr-000", "qr-001", "qr-002", "qr-003", "qr-006"],
            "provisioning is not asked for"
        );
        assert_eq!(
            api.get("/v2/resource_instances?state=asleep").await.status,
            StatusCode::BAD_REQUEST
        );
        let guid = state.resource_instances[10].guid.clone().expect("guid");
        let one = api
            .get(&format!(
                "/v2/resource_instances?guid={guid}&type=service_instance"
            ))
            .await;
        assert_eq!(
            (one.body["rows_count"].clone(), names(&one.body)),
            (json!(1), vec!["qr-010".to_string()])
        );
        assert_eq!(
            api.get("/v2/resource_instances?type=composite_instance")
                .await
                .body["rows_count"],
            0
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_read_by_guid_or_url_encoded_crn() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let by_guid = api.get(&format!("/v2/resource_instances/{QR_ML}")).await;
        assert_eq!(by_guid.status, StatusCode::OK);
        let crn = format!("crn:v1:bluemix:public:quantum-computing:us-east:a/{ACCOUNT}:{QR_ML}::");
        let body = &by_guid.body;
        assert_eq!(body["id"], crn.as_str(), "id == crn");
        assert_eq!(body["crn"], crn.as_str());
        assert_eq!(body["guid"], QR_ML);
        assert_eq!(body["name"], "QR-ml");
        assert_eq!(body["type"], "service_instance");
        assert_eq!(body["state"], "active");
        assert_eq!(body["region_id"], "us-east");
        assert_eq!(body["account_id"], ACCOUNT);
        assert_eq!(
            body["resource_group_id"], "0be5ad401ae913d8ff665d92680664ed",
            "the default group"
        );
        assert_eq!(body["resource_id"], "quantum-computing");
        assert!(body["resource_plan_id"].is_string());
        assert_eq!(body["url"], format!("/v2/resource_instances/{QR_ML}"));
        let encoded: String = crn
            .bytes()
            .map(|b| match b {
                b':' => "%3A".to_string(),
                b'/' => "%2F".to_string(),
                _ => char::from(b).to_string(),
            })
            .collect();
        let by_crn = api.get(&format!("/v2/resource_instances/{encoded}")).await;
        assert_eq!(by_crn.status, StatusCode::OK, "{}", by_crn.body);
        assert_eq!(by_crn.body["guid"], QR_ML);
        assert_eq!(
            api.get("/v2/resource_instances/00000000-0000-4000-8000-000000000000")
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let finance = api.get("/v2/resource_instances?name=QR-finance").await;
        assert!(
            finance.body["resources"][0]["crn"]
                .as_str()
                .is_some_and(|c| c.contains(":quantum-computing:eu-de:"))
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_groups_are_listed_and_read() {
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let list = api
            .get(&format!("/v2/resource_groups?account_id={ACCOUNT}"))
            .await;
        assert_eq!(list.status, StatusCode::OK);
        let group = &list.body["resources"][0];
        let id = "0be5ad401ae913d8ff665d92680664ed";
        assert_eq!(group["id"], id);
        assert_eq!(group["name"], "Default");
        assert_eq!(group["default"], true);
        assert_eq!(group["state"], "ACTIVE");
        assert_eq!(
            group["crn"],
            format!("crn:v1:bluemix:public:resource-controller::a/{ACCOUNT}::resource-group:{id}")
        );
        assert_eq!(
            group["quota_url"],
            format!(
                "/v2/quota_definitions/{}",
                group["quota_id"].as_str().expect("quota id")
            )
        );
        assert_eq!(group["resource_linkages"], json!([]));
        assert_eq!(
            api.get(&format!("/v2/resource_groups/{id}")).await.body["name"],
            "Default"
        );
        assert_eq!(
            api.get("/v2/resource_groups?name=Missing").await.body["resources"],
            json!([])
        );
        assert_eq!(
            api.get("/v2/resource_groups?default=false").await.body["resources"],
            json!([])
        );
        assert_eq!(
            api.get("/v2/resource_groups/ffffffffffffffffffffffffffffffff")
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            api.get("/v2/resource_groups?account_id=ffffffffffffffffffffffffffffffff")
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        emu.shutdown().await;

        // An account whose state lists no resource group still has its Default.
        let spec = Synthetic {
            users: 2,
            groups: 0,
            memberships: 0,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 2,
        };
        let emu = start(emulator::synthetic(&spec)).await;
        let api = Api::new(&emu, SYNTHETIC_ADMIN_KEY).await;
        let implicit = api.get("/v2/resource_groups").await;
        assert_eq!(implicit.body["resources"][0]["name"], "Default");
        assert_eq!(implicit.body["resources"][0]["default"], true);
        assert!(
            emu.state().resource_groups.is_empty(),
            "the implicit group is not written back"
        );
        emu.shutdown().await;
    })
    .await;
}

/// Page tokens are the client's to forge: an offset beyond any listing is an empty last
/// page and a page size the service does not serve is refused — never a panic, never a
/// `next` that repeats its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_page_tokens_are_an_empty_page_or_a_400() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    bounded(async {
        let (emu, api) = qiskit_emulator().await;
        let first = api
            .get(&format!("/v2/policies?account_id={ACCOUNT}&limit=1"))
            .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let start = first.body["next"]["start"].as_str().expect("a next page");
        let token = String::from_utf8(URL_SAFE_NO_PAD.decode(start).unwrap()).unwrap();
        let (_, fingerprint) = token.rsplit_once(':').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(format!("emu-policies:{}:{fingerprint}", u64::MAX));
        let far = api
            .get(&format!(
                "/v2/policies?account_id={ACCOUNT}&limit=1&start={forged}"
            ))
            .await;
        assert_eq!(far.status, StatusCode::OK, "{}", far.body);
        assert_eq!(far.body["policies"], json!([]));
        assert!(far.body["next"].is_null(), "{}", far.body);

        let instance_token = |offset: u64, limit: u64| {
            URL_SAFE_NO_PAD.encode(format!(
                "next_docid={offset}&limit={limit}&account_id={ACCOUNT}"
            ))
        };
        let far = api
            .get(&format!(
                "/v2/resource_instances?start={}",
                instance_token(u64::MAX, 1)
            ))
            .await;
        assert_eq!(far.status, StatusCode::OK, "{}", far.body);
        assert!(names(&far.body).is_empty());
        assert!(far.body["next_url"].is_null(), "{}", far.body);
        for limit in [0, 1_000_000] {
            let odd = api
                .get(&format!(
                    "/v2/resource_instances?start={}",
                    instance_token(0, limit)
                ))
                .await;
            assert_eq!(
                odd.status,
                StatusCode::BAD_REQUEST,
                "limit {limit}: {}",
                odd.body
            );
        }
        emu.shutdown().await;
    })
    .await;
}
