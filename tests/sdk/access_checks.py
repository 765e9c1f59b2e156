"""What a group grants, judged by IBM's own SDK (docs/emulator.md): IAM Policy Management
(v1 and v2 policies, roles, custom roles), Resource Controller, Resource Manager and the
Access Groups dynamic rules, with dynamic members.

`conformance.py` imports this module: `write_access(state)` adds the seeded instances,
resource groups, custom role, policies, rules and dynamic members to its account, and
`AccessChecks` is mixed into its `Conformance` class. Every result goes through the SDK's
strict `from_dict`, and every listing is compared with `GET /__admin/state`.
"""

from urllib.parse import parse_qs, quote, urlparse

from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamPolicyManagementV1, ResourceControllerV2, ResourceManagerV2
from ibm_platform_services.iam_access_groups_v2 import Rule, RuleConditions, RulesList
from ibm_platform_services.iam_policy_management_v1 import (
    Control,
    CustomRole,
    Grant,
    PoliciesPager,
    Policy,
    PolicyCollection,
    PolicyResource,
    PolicyRole,
    PolicySubject,
    PolicyTemplateMetaData,
    ResourceAttribute,
    ResourceTag,
    RoleCollection,
    Roles,
    SubjectAttribute,
    V2PoliciesPager,
    V2Policy,
    V2PolicyCollection,
    V2PolicyResource,
    V2PolicyResourceAttribute,
    V2PolicySubject,
    V2PolicySubjectAttribute,
    V2PolicyTemplateMetaData,
)
from ibm_platform_services.resource_controller_v2 import (
    ResourceInstance,
    ResourceInstancesList,
    ResourceInstancesPager,
)
from ibm_platform_services.resource_manager_v2 import ResourceGroup, ResourceGroupList

QUANTUM = "quantum-computing"
INSTANCES = 230  # three Resource Controller pages of 100
RG_DEFAULT = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
RG_RESEARCH = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"
POLICY_GROUPS = 40
BIG_POLICY_GROUP_EXTRA = 12
RULE_GROUP = 2
DYNAMIC_GROUP = 3
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
READER = "crn:v1:bluemix:public:iam::::serviceRole:Reader"
MANAGER = "crn:v1:bluemix:public:iam::::serviceRole:Manager"
PLACEHOLDER_ROLE = "crn:v1:bluemix:public:iam::::role:UnsupportedVersion"
REALM = "https://us-south.appid.cloud.ibm.com/oauth/v4/00000000-0000-4000-8000-0000000000aa"
CONFLICT_TEXT = "The policy wasn't created because an access policy with identical attributes already exists."


def instance_guid(i):
    return f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}"


def policy_id(n):
    return f"{n:08x}-5555-4666-8777-{n:012x}"


# ---------------------------------------------------------------------------- state


def write_access(state):
    account = state["account_id"]
    state["resource_groups"] = [
        {"id": RG_DEFAULT, "name": "Default", "default": True},
        {"id": RG_RESEARCH, "name": "research"},
    ]
    instances = []
    for i in range(INSTANCES):
        inst = {"name": f"qr-{i:03d}", "service": QUANTUM, "guid": instance_guid(i),
                "resource_group_id": RG_RESEARCH if i % 5 == 0 else "Default"}
        if i % 50 == 7:
            inst["state"] = "removed"
        elif i % 50 == 8:
            inst["state"] = "provisioning"
        instances.append(inst)
    for k in range(2):  # IBM allows two instances with one name
        instances.append({"name": "QR-common", "service": QUANTUM, "guid": instance_guid(1000 + k)})
    instances.append({"name": "cos-1", "service": "cloud-object-storage", "guid": instance_guid(2000)})
    state["resource_instances"] = instances
    state["roles"] = [{
        "name": "JobManager", "display_name": "Job manager", "description": "Run, cancel and delete jobs",
        "service_name": QUANTUM,
        "actions": ["quantum-computing.job.create", "quantum-computing.job.read",
                    "quantum-computing.job.cancel", "quantum-computing.job.delete"],
    }]
    policies = []
    groups = state["groups"]

    def add(group, guid, version, roles, **extra):
        n = len(policies)
        v1 = version == "v1"
        resource = {"serviceName": QUANTUM, "serviceInstance": guid}
        if not v1 or n % 2:  # some v1 policies name their operators, some do not
            resource = {k: {"operator": "stringEquals", "value": v} for k, v in resource.items()}
        p = {"id": policy_id(n), "access_group_id": group, "roles": roles, "resource": resource}
        if v1:
            p["version"] = "v1"
        p.update(extra)
        policies.append(p)

    for g in range(POLICY_GROUPS):
        version = "v1" if g % 3 == 0 else "v2"
        add(groups[g]["id"], instance_guid(g), version, ["Viewer", "Reader"])
        add(groups[g]["id"], instance_guid(g + 100), "v2" if version == "v1" else "v1", ["JobManager"])
    for e in range(BIG_POLICY_GROUP_EXTRA):
        add(groups[0]["id"], instance_guid(150 + e), "v2", ["Reader"])
    add(groups[5]["id"], instance_guid(199), "v1", ["Viewer"],
        tags=[{"key": "project", "value": "ml", "operator": "stringEquals"}], description="tagged")
    add(groups[6]["id"], instance_guid(198), "v2", ["Viewer"], state="deleted")
    policies.append({"id": policy_id(len(policies)), "version": "v1", "iam_id": state["users"][1]["iam_id"],
                     "roles": [VIEWER], "resource": {"serviceType": "service"}})
    state["policies"] = policies
    groups[RULE_GROUP]["rules"] = [
        {"name": "ml-project", "expiration": 24, "realm_name": REALM,
         "conditions": [{"claim": "project", "operator": "CONTAINS", "value": '"ml"'}]},
        {"expiration": 12, "realm_name": REALM,
         "conditions": [{"claim": "department", "operator": "EQUALS_IGNORE_CASE", "value": '"physics"'}]},
    ]
    members = {m["iam_id"] for m in groups[DYNAMIC_GROUP]["members"]}
    dynamic = [u["iam_id"] for u in state["users"][-40:-1] if u["iam_id"] not in members][:3]
    for iam_id in dynamic:
        groups[DYNAMIC_GROUP]["members"].append({"iam_id": iam_id, "type": "user", "membership_type": "dynamic"})
    assert account


def static_members(group):
    return [m for m in group["members"] if m.get("membership_type", "static") == "static"]


# --------------------------------------------------------------------------- checking


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_error(status, fn, contains=None, code=None):
    try:
        fn()
    except ApiException as e:
        eq(e.code, status, "HTTP status")
        if contains is not None and contains not in (e.message or ""):
            raise AssertionError(f"error message {e.message!r} does not contain {contains!r}")
        body = e.http_response.json()
        if code is not None:
            eq(body["errors"][0]["code"], code, "error code")
        eq(body["status_code"], status, "envelope status_code")
        return body
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


def start_of(next_link):
    return parse_qs(urlparse(next_link).query)["start"][0]


class AccessChecks:
    """Mixed into conformance.Conformance: expects self.base, self.ag, self.state,
    self.admin_state(), self.account."""

    def access_clients(self):
        def auth():
            return IAMAuthenticator(self.admin_key, url=self.base)
        self.pm = IamPolicyManagementV1(authenticator=auth())
        self.pm.set_service_url(self.base)
        self.rc = ResourceControllerV2(authenticator=auth())
        self.rc.set_service_url(self.base)
        self.rm = ResourceManagerV2(authenticator=auth())
        self.rm.set_service_url(self.base)

    # -- expectations from the admin state

    def policies_in_state(self, state=None, active=True):
        return [p for p in (state or self.state)["policies"]
                if (p.get("state", "active") == "active") == active]

    def expected_v2(self, p):
        subject = [("access_group_id", p["access_group_id"])] if "access_group_id" in p else [("iam_id", p["iam_id"])]
        attrs = []
        for key, v in p["resource"].items():
            op, value = (v["operator"], v["value"]) if isinstance(v, dict) else ("stringEquals", v)
            attrs.append({"key": key, "operator": op, "value": value})
        return {
            "id": p["id"],
            "subject": [{"key": k, "operator": "stringEquals", "value": v} for k, v in subject],
            "resource": attrs,
            "roles": [{"role_id": r} for r in p["roles"]],
            "href": f"{self.base}/{p.get('version', 'v2')}/policies/{p['id']}",
            "state": p.get("state", "active"),
        }

    def check_v2(self, got, p):
        want = self.expected_v2(p)
        model = V2PolicyTemplateMetaData.from_dict(got)
        eq(model.id, want["id"], "v2 id")
        eq(got["subject"]["attributes"], want["subject"], f"v2 subject of {p['id']}")
        eq(got["resource"]["attributes"], want["resource"], f"v2 resource of {p['id']}")
        eq(got["control"]["grant"]["roles"], want["roles"], f"v2 roles of {p['id']}")
        eq(got["href"], want["href"], f"v2 href of {p['id']}")
        eq(got["state"], want["state"], "v2 state")

    def check_v1(self, got, p):
        model = PolicyTemplateMetaData.from_dict(got)
        eq(model.id, p["id"], "v1 id")
        eq(got["href"], f"{self.base}/{p.get('version', 'v2')}/policies/{p['id']}", f"v1 href of {p['id']}")
        if p.get("version", "v2") == "v2":
            eq(got["roles"][0]["role_id"], PLACEHOLDER_ROLE, "placeholder role")
            eq(got["subjects"][0]["attributes"], [{"name": "iam_id", "value": "unsupported version"}],
               "placeholder subject")
            if "placeholder" not in got["description"]:
                raise AssertionError(f"a v2 policy in a v1 answer is IBM's placeholder: {got}")
            return
        attrs = []
        for key, v in p["resource"].items():
            attrs.append({"name": key, "value": v["value"], "operator": v["operator"]} if isinstance(v, dict)
                         else {"name": key, "value": v})
        eq(got["resources"][0]["attributes"], attrs, f"v1 attributes as sent for {p['id']}")
        eq([r["role_id"] for r in got["roles"]], p["roles"], "v1 roles")
        for r in got["roles"]:
            if not r.get("display_name") or not r.get("description"):
                raise AssertionError(f"v1 roles carry display_name and description: {r}")

    # -- policies: reads

    def policy_pagers_match_state(self):
        want = self.policies_in_state()
        v2 = V2PoliciesPager(client=self.pm, account_id=self.account, limit=25).get_all()
        eq([p["id"] for p in v2], [p["id"] for p in want], "v2 pager: every active policy in order")
        for got, p in zip(v2, want):
            self.check_v2(got, p)
        v1 = PoliciesPager(client=self.pm, account_id=self.account, limit=25).get_all()
        eq([p["id"] for p in v1], [p["id"] for p in want], "v1 pager: every active policy in order")
        for got, p in zip(v1, want):
            self.check_v1(got, p)
        everything = self.pm.list_v2_policies(account_id=self.account).get_result()
        V2PolicyCollection.from_dict(everything)
        eq(len(everything["policies"]), len(want), "no limit: everything on one page")
        if "next" in everything:
            raise AssertionError("no next link without a limit")

    def policy_pages_have_opaque_starts(self):
        want = self.policies_in_state()
        start, pages, seen = None, 0, []
        while True:
            result = self.pm.list_v2_policies(account_id=self.account, limit=10, start=start).get_result()
            V2PolicyCollection.from_dict(result)
            seen += [p["id"] for p in result["policies"]]
            pages += 1
            eq(result["limit"], 10, "limit echoed")
            if "next" not in result:
                break
            eq(result["next"]["start"], start_of(result["next"]["href"]), "next.href carries next.start")
            start = result["next"]["start"]
            if start.isdigit():
                raise AssertionError(f"start must be opaque, not an offset: {start}")
        eq(seen, [p["id"] for p in want], "pages cover every policy once")
        eq(pages, -(-len(want) // 10), "pages of 10")
        expect_error(400, lambda: self.pm.list_v2_policies(account_id=self.account, limit=10,
                                                           start="bm90LWEtdG9rZW4"))
        expect_error(400, lambda: self.pm.list_v2_policies(account_id=self.account, limit=101))
        # The SDK itself refuses to send a listing without account_id; send one by hand.
        bare = self.pm.prepare_request(method="GET", url="/v2/policies", headers={"Accept": "application/json"})
        expect_error(400, lambda: self.pm.send(bare), code="missing_required_query_parameter")

    def policy_filters(self):
        groups = self.state["groups"]
        for g in (0, 1, 5, 6, 39, 40):
            group = groups[g]["id"]
            want = [p for p in self.policies_in_state() if p.get("access_group_id") == group]
            got = self.pm.list_v2_policies(account_id=self.account, access_group_id=group, type="access").get_result()
            V2PolicyCollection.from_dict(got)
            eq([p["id"] for p in got["policies"]], [p["id"] for p in want], f"access_group_id filter, group {g}")
            got1 = PolicyCollection.from_dict(
                self.pm.list_policies(account_id=self.account, access_group_id=group).get_result())
            eq([p.id for p in got1.policies], [p["id"] for p in want], f"v1 access_group_id filter, group {g}")
        user = self.state["users"][1]["iam_id"]
        by_user = self.pm.list_policies(account_id=self.account, iam_id=user).get_result()["policies"]
        eq([p["subjects"][0]["attributes"][0]["value"] for p in by_user], [user], "iam_id filter")
        deleted = self.pm.list_v2_policies(account_id=self.account, state="deleted").get_result()["policies"]
        eq([p["id"] for p in deleted], [p["id"] for p in self.policies_in_state(active=False)], "state=deleted")
        eq(deleted[0]["state"], "deleted", "a deleted policy says so")
        platform = self.pm.list_v2_policies(account_id=self.account, service_type="platform_service").get_result()
        eq(platform["policies"], [], "service_type=platform_service")
        auth = self.pm.list_v2_policies(account_id=self.account, type="authorization").get_result()
        eq(auth["policies"], [], "type=authorization")
        tagged = self.pm.list_policies(account_id=self.account, tag_name="project", tag_value="ml").get_result()
        eq([p["description"] for p in tagged["policies"]], ["tagged"], "tag filter")
        eq(tagged["policies"][0]["resources"][0]["tags"],
           [{"name": "project", "value": "ml", "operator": "stringEquals"}], "v1 tags")
        ordered = self.pm.list_v2_policies(account_id=self.account, sort="-id").get_result()["policies"]
        ids = [p["id"] for p in ordered]
        eq(ids, sorted(ids, reverse=True), "sort=-id")
        expect_error(400, lambda: self.pm.list_v2_policies(account_id=self.account, sort="color"))
        shown = self.pm.list_v2_policies(account_id=self.account, access_group_id=groups[1]["id"],
                                         format="display").get_result()
        for p in shown["policies"]:
            for role in p["control"]["grant"]["roles"]:
                if not role.get("display_name") or not isinstance(role.get("actions"), list):
                    raise AssertionError(f"format=display enriches roles: {role}")
        V2PolicyCollection.from_dict(shown)
        plain = self.pm.list_v2_policies(account_id=self.account, access_group_id=groups[1]["id"]).get_result()
        if any("display_name" in r for p in plain["policies"] for r in p["control"]["grant"]["roles"]):
            raise AssertionError("v2 roles carry role_id only unless format=display")

    # -- policies: writes

    def v2_resource(self, guid):
        return V2PolicyResource(attributes=[
            V2PolicyResourceAttribute(key="accountId", operator="stringEquals", value=self.account),
            V2PolicyResourceAttribute(key="serviceName", operator="stringEquals", value=QUANTUM),
            V2PolicyResourceAttribute(key="serviceInstance", operator="stringEquals", value=guid)])

    def v2_subject(self, group):
        return V2PolicySubject(attributes=[V2PolicySubjectAttribute(key="access_group_id", operator="stringEquals",
                                                                     value=group)])

    def v1_args(self, group, guid, roles, operator=None):
        return dict(
            type="access",
            subjects=[PolicySubject(attributes=[SubjectAttribute(name="access_group_id", value=group)])],
            roles=[PolicyRole(role_id=r) for r in roles],
            resources=[PolicyResource(attributes=[
                ResourceAttribute(name="accountId", value=self.account),
                ResourceAttribute(name="serviceName", value=QUANTUM, operator=operator),
                ResourceAttribute(name="serviceInstance", value=guid, operator=operator)])])

    def v1_policy_lifecycle(self):
        group = self.state["groups"][50]["id"]
        created = self.pm.create_policy(**self.v1_args(group, instance_guid(3), [VIEWER, READER]),
                                        description="made by the SDK")
        eq(created.get_status_code(), 201, "v1 create status")
        policy = Policy.from_dict(created.get_result())
        eq(policy.href, f"{self.base}/v1/policies/{policy.id}", "v1 href")
        eq([r.display_name for r in policy.roles], ["Viewer", "Reader"], "v1 enriches roles")
        eq(created.get_result()["resources"][0]["attributes"][1], {"name": "serviceName", "value": QUANTUM},
           "a v1 attribute sent without operator is echoed without one")
        got = self.pm.get_policy(policy_id=policy.id)
        PolicyTemplateMetaData.from_dict(got.get_result())
        etag = got.get_headers()["ETag"]
        if not etag.split("-", 1)[0].isdigit() or len(etag.split("-", 1)[1]) != 32:
            raise AssertionError(f"policy ETags look like IBM's <revision>-<32 hex>: {etag}")
        v2 = self.pm.get_v2_policy(id=policy.id).get_result()
        V2PolicyTemplateMetaData.from_dict(v2)
        eq(v2["href"], f"{self.base}/v1/policies/{policy.id}", "v2 view keeps the v1 href")
        eq([a["operator"] for a in v2["resource"]["attributes"]], ["stringEquals"] * 3, "v2 view fills operators")
        replaced = self.pm.replace_policy(policy_id=policy.id, if_match=etag,
                                          **self.v1_args(group, instance_guid(3), [MANAGER]))
        eq(replaced.get_status_code(), 200, "v1 replace status")
        eq([r.role_id for r in Policy.from_dict(replaced.get_result()).roles], [MANAGER], "roles replaced")
        new_etag = replaced.get_headers()["ETag"]
        if new_etag == etag:
            raise AssertionError("a replace answers a new ETag")
        expect_error(412, lambda: self.pm.replace_policy(policy_id=policy.id, if_match=etag,
                                                         **self.v1_args(group, instance_guid(3), [VIEWER])))
        expect_error(400, lambda: self.pm.replace_v2_policy(
            id=policy.id, if_match=new_etag, type="access", control=Control(grant=Grant(roles=[Roles(role_id=VIEWER)])),
            subject=self.v2_subject(group), resource=self.v2_resource(instance_guid(3))),
            contains="/v1/policies", code="request_not_processed")
        expect_error(400, lambda: self.pm.delete_v2_policy(id=policy.id), contains="/v1/policies")
        eq(self.pm.delete_policy(policy_id=policy.id).get_status_code(), 204, "v1 delete")
        expect_error(404, lambda: self.pm.get_policy(policy_id=policy.id),
                     contains=f"Policy with Id {policy.id} not found.", code="policy_not_found")
        restored = self.pm.update_policy_state(policy_id=policy.id, if_match=new_etag, state="active")
        eq(restored.get_status_code(), 200, "PATCH restores")
        eq(Policy.from_dict(restored.get_result()).state, "active", "restored state")
        self.pm.get_policy(policy_id=policy.id)
        self.v1_created = policy.id

    def v2_policy_lifecycle(self):
        group = self.state["groups"][51]["id"]
        control = Control(grant=Grant(roles=[Roles(role_id=VIEWER), Roles(role_id=READER)]))
        created = self.pm.create_v2_policy(control=control, type="access", subject=self.v2_subject(group),
                                           resource=self.v2_resource(instance_guid(4)), description="v2 by the SDK")
        eq(created.get_status_code(), 201, "v2 create status")
        policy = V2Policy.from_dict(created.get_result())
        eq(policy.href, f"{self.base}/v2/policies/{policy.id}", "v2 href")
        eq(created.get_result()["control"]["grant"]["roles"], [{"role_id": VIEWER}, {"role_id": READER}], "v2 roles")
        got = self.pm.get_v2_policy(id=policy.id)
        V2PolicyTemplateMetaData.from_dict(got.get_result())
        etag = got.get_headers()["ETag"]
        shown = self.pm.get_v2_policy(id=policy.id, format="display").get_result()
        eq([r["display_name"] for r in shown["control"]["grant"]["roles"]], ["Viewer", "Reader"], "format=display")
        v1 = self.pm.get_policy(policy_id=policy.id).get_result()
        PolicyTemplateMetaData.from_dict(v1)
        eq(v1["roles"][0]["role_id"], PLACEHOLDER_ROLE, "GET v1 of a v2 policy: the placeholder")
        replaced = self.pm.replace_v2_policy(id=policy.id, if_match=etag, type="access",
                                             control=Control(grant=Grant(roles=[Roles(role_id=MANAGER)])),
                                             subject=self.v2_subject(group), resource=self.v2_resource(instance_guid(4)))
        eq(replaced.get_status_code(), 200, "v2 replace status")
        V2Policy.from_dict(replaced.get_result())
        if replaced.get_headers()["ETag"] == etag:
            raise AssertionError("a v2 replace answers a new ETag")
        expect_error(412, lambda: self.pm.replace_v2_policy(
            id=policy.id, if_match=etag, type="access", control=control,
            subject=self.v2_subject(group), resource=self.v2_resource(instance_guid(4))))
        expect_error(400, lambda: self.pm.replace_policy(policy_id=policy.id, if_match="*",
                                                         **self.v1_args(group, instance_guid(4), [VIEWER])),
                     contains="/v2/policies")
        expect_error(400, lambda: self.pm.update_policy_state(policy_id=policy.id, if_match="*", state="active"))
        eq(self.pm.delete_v2_policy(id=policy.id).get_status_code(), 204, "v2 delete")
        expect_error(404, lambda: self.pm.get_v2_policy(id=policy.id), code="policy_not_found")
        expect_error(404, lambda: self.pm.delete_v2_policy(id=policy.id))
        listed = self.pm.list_v2_policies(account_id=self.account, access_group_id=group).get_result()
        eq(listed["policies"], [], "a deleted policy is not listed")

    def duplicates_conflict_across_versions(self):
        existing = next(p for p in self.policies_in_state() if p.get("version") == "v1")
        group = existing["access_group_id"]
        guid = existing["resource"]["serviceInstance"]
        guid = guid["value"] if isinstance(guid, dict) else guid
        body = expect_error(409, lambda: self.pm.create_v2_policy(
            control=Control(grant=Grant(roles=[Roles(role_id=MANAGER)])), type="access",
            subject=self.v2_subject(group), resource=self.v2_resource(guid)),
            contains=CONFLICT_TEXT, code="policy_conflict_error")
        conflict = body["errors"][0]["details"]["conflicts_with"]
        eq(conflict["policy"]["id"], existing["id"], "conflicts_with names the existing policy")
        eq(conflict["policy"]["href"], f"{self.base}/v1/policies/{existing['id']}", "in v2 shape with its v1 href")
        V2Policy.from_dict(conflict["policy"])
        eq(conflict["etag"], self.pm.get_policy(policy_id=existing["id"]).get_headers()["ETag"], "and its ETag")
        v2 = next(p for p in self.policies_in_state() if p.get("version", "v2") == "v2" and "access_group_id" in p)
        v2_guid = v2["resource"]["serviceInstance"]["value"]
        body = expect_error(409, lambda: self.pm.create_policy(
            **self.v1_args(v2["access_group_id"], v2_guid, [VIEWER], operator="stringEquals")),
            code="policy_conflict_error")
        eq(body["errors"][0]["details"]["conflicts_with"]["policy"]["id"], v2["id"], "v1 create meets a v2 policy")

    def bad_policies_are_refused(self):
        group = self.state["groups"][52]["id"]
        expect_error(400, lambda: self.pm.create_v2_policy(
            control=Control(grant=Grant(roles=[Roles(role_id="crn:v1:bluemix:public:iam::::role:Nope")])),
            type="access", subject=self.v2_subject(group), resource=self.v2_resource("g")), code="invalid_body")
        expect_error(400, lambda: self.pm.create_policy(**self.v1_args("AccessGroupId-not-in-account", "g", [VIEWER])),
                     contains="Access groups can only be assigned against resources in the same account as the access group.",
                     code="invalid_body")
        job_manager = f"crn:v1:ibmcloud:public:iam-access-management::a/{self.account}::customRole:JobManager"
        cos = V2PolicyResource(attributes=[
            V2PolicyResourceAttribute(key="accountId", operator="stringEquals", value=self.account),
            V2PolicyResourceAttribute(key="serviceName", operator="stringEquals", value="cloud-object-storage")])
        expect_error(400, lambda: self.pm.create_v2_policy(
            control=Control(grant=Grant(roles=[Roles(role_id=job_manager)])), type="access",
            subject=self.v2_subject(group), resource=cos), contains="JobManager")
        no_account = V2PolicyResource(attributes=[
            V2PolicyResourceAttribute(key="serviceName", operator="stringEquals", value=QUANTUM)])
        expect_error(400, lambda: self.pm.create_v2_policy(
            control=Control(grant=Grant(roles=[Roles(role_id=VIEWER)])), type="access",
            subject=self.v2_subject(group), resource=no_account), contains="accountId")
        long = self.v2_resource("x" * 1001)
        expect_error(400, lambda: self.pm.create_v2_policy(
            control=Control(grant=Grant(roles=[Roles(role_id=VIEWER)])), type="access",
            subject=self.v2_subject(group), resource=long))

    # -- roles

    def roles_listings(self):
        result = self.pm.list_roles(account_id=self.account, service_name=QUANTUM).get_result()
        roles = RoleCollection.from_dict(result)
        eq([r.display_name for r in roles.system_roles], ["Viewer", "Operator", "Editor", "Administrator"],
           "system roles")
        eq([r.crn for r in roles.service_roles], [READER, "crn:v1:bluemix:public:iam::::serviceRole:Writer", MANAGER],
           "service roles")
        eq([r.name for r in roles.custom_roles], [r["name"] for r in self.state["roles"]], "custom roles")
        manager = next(r for r in result["service_roles"] if r["display_name"] == "Manager")
        if "quantum-computing.job.delete" not in manager["actions"]:
            raise AssertionError("Manager may delete jobs on quantum-computing")
        for query in ({"service_name": "alliamserviceroles"}, {"service_group_id": "IAM"}, {}):
            result = self.pm.list_roles(account_id=self.account, **query).get_result()
            RoleCollection.from_dict(result)
            for key in ("custom_roles", "service_roles", "system_roles"):
                if not isinstance(result.get(key), list):
                    raise AssertionError(f"{key} is always an array: {query}")
        iam = self.pm.list_roles(service_group_id="IAM").get_result()
        if not any(r["crn"].endswith("serviceRole:ServiceIdCreator") for r in iam["service_roles"]):
            raise AssertionError("service_group_id=IAM lists ServiceIdCreator")
        eq(self.pm.list_roles(service_name=QUANTUM).get_result()["custom_roles"], [],
           "no custom roles without account_id")
        expect_error(400, lambda: self.pm.list_roles(service_name=QUANTUM, service_group_id="IAM"))

    def custom_role_lifecycle(self):
        actions = ["quantum-computing.job.read", "quantum-computing.device.read"]
        created = self.pm.create_role(display_name="Device reader", actions=actions, name="DeviceReader",
                                      account_id=self.account, service_name=QUANTUM, description="Reads devices")
        eq(created.get_status_code(), 201, "create role status")
        role = CustomRole.from_dict(created.get_result())
        eq(role.crn, f"crn:v1:ibmcloud:public:iam-access-management::a/{self.account}::customRole:DeviceReader",
           "custom role CRN")
        eq(role.href, f"{self.base}/v2/roles/{role.id}", "custom role href")
        if not bytes.fromhex(role.id).decode().startswith("customRole-"):
            raise AssertionError(f"custom role ids are hex of customRole-…: {role.id}")
        got = self.pm.get_role(role_id=role.id)
        CustomRole.from_dict(got.get_result())
        etag = got.get_headers()["ETag"]
        replaced = self.pm.replace_role(role_id=role.id, if_match=etag, display_name="Device reader 2",
                                        actions=actions[:1])
        eq(replaced.get_status_code(), 200, "replace role status")
        eq(CustomRole.from_dict(replaced.get_result()).actions, actions[:1], "actions replaced")
        expect_error(412, lambda: self.pm.replace_role(role_id=role.id, if_match=etag, display_name="x",
                                                       actions=actions))
        body = expect_error(409, lambda: self.pm.create_role(display_name="Other", actions=actions,
                                                             name="DeviceReader", account_id=self.account,
                                                             service_name=QUANTUM),
                            contains="This role name has already been used", code="role_conflict_error")
        conflict = body["errors"][0]["details"]["conflicts_with"]
        eq(conflict["role"]["id"], role.id, "conflicts_with names the role")
        CustomRole.from_dict(conflict["role"])
        expect_error(400, lambda: self.pm.create_role(display_name="Bad", actions=actions, name="badName",
                                                      account_id=self.account, service_name=QUANTUM))
        expect_error(400, lambda: self.pm.create_role(display_name="Bad", actions=["iam.policy.read"],
                                                      name="OtherService", account_id=self.account,
                                                      service_name=QUANTUM))
        listed = self.pm.list_roles(account_id=self.account, service_name=QUANTUM).get_result()["custom_roles"]
        if role.id not in [r["id"] for r in listed]:
            raise AssertionError("a new custom role is listed")
        eq(self.pm.delete_role(role_id=role.id).get_status_code(), 204, "delete role")
        expect_error(404, lambda: self.pm.get_role(role_id=role.id), code="role_not_found")
        in_use = self.pm.list_roles(account_id=self.account, service_name=QUANTUM).get_result()["custom_roles"][0]
        expect_error(409, lambda: self.pm.delete_role(role_id=in_use["id"]))

    # -- Resource Controller and Resource Manager

    def resource_instances_pager_matches_state(self):
        visible = [i for i in self.state["resource_instances"] if i.get("state", "active") in ("active", "provisioning")]
        got = ResourceInstancesPager(client=self.rc, limit=100).get_all()
        eq([i["guid"] for i in got], [i["guid"] for i in visible], "pager: active and provisioning, in order")
        for g, want in zip(got, visible):
            inst = ResourceInstance.from_dict(g)
            eq(inst.id, inst.crn, "id == crn")
            eq(inst.crn, f"crn:v1:bluemix:public:{want['service']}:us-east:a/{self.account}:{want['guid']}::", "crn")
            eq((inst.name, inst.type, inst.state), (want["name"], "service_instance", want.get("state", "active")),
               "instance")
            group = RG_RESEARCH if want.get("resource_group_id") == RG_RESEARCH else RG_DEFAULT
            eq(inst.resource_group_id, group, "resource group (by name in the state file)")
        start, pages = None, 0
        while True:
            result = self.rc.list_resource_instances(limit=100, start=start).get_result()
            pages += 1
            eq(result["rows_count"], len(result["resources"]), "rows_count counts this page")
            if result["next_url"] is None:
                try:
                    ResourceInstancesList.from_dict(result)
                except ValueError as e:
                    if "next_url" not in str(e):
                        raise
                else:
                    raise AssertionError("the SDK's ResourceInstancesList refuses IBM's null next_url")
                break
            ResourceInstancesList.from_dict(result)
            if not result["next_url"].startswith("/v2/resource_instances?start="):
                raise AssertionError(f"next_url is a relative path: {result['next_url']}")
            start = start_of(result["next_url"])
        eq(pages, -(-len(visible) // 100), "pages of 100")
        capped = self.rc.list_resource_instances(limit=400).get_result()
        eq(capped["rows_count"], 100, "limit is capped at 100")

    def resource_instance_filters_and_get(self):
        common = self.rc.list_resource_instances(name="QR-common").get_result()
        eq(len(common["resources"]), 2, "duplicate names are allowed")
        eq(self.rc.list_resource_instances(name="qr-common").get_result()["resources"], [], "names match exactly")
        one = self.rc.list_resource_instances(guid=instance_guid(3)).get_result()
        eq((one["rows_count"], one["resources"][0]["name"]), (1, "qr-003"), "guid filter")
        research = ResourceInstancesPager(client=self.rc, resource_group_id=RG_RESEARCH).get_all()
        eq(len(research), sum(1 for i in range(INSTANCES) if i % 5 == 0 and i % 50 not in (7,)), "resource group filter")
        removed = self.rc.list_resource_instances(state="removed").get_result()
        eq(removed["rows_count"], sum(1 for i in range(INSTANCES) if i % 50 == 7), "state=removed")
        cos = self.rc.list_resource_instances(resource_id="cloud-object-storage").get_result()
        eq([i["name"] for i in cos["resources"]], ["cos-1"], "resource_id filter")
        by_guid = ResourceInstance.from_dict(self.rc.get_resource_instance(id=instance_guid(7)).get_result())
        eq((by_guid.name, by_guid.state), ("qr-007", "removed"), "get by GUID, any state")
        crn = by_guid.crn
        by_crn = self.rc.get_resource_instance(id=crn).get_result()
        eq(by_crn["guid"], instance_guid(7), "get by URL-encoded CRN")
        expect_error(404, lambda: self.rc.get_resource_instance(id="no-such-instance"))
        expect_error(400, lambda: self.rc.list_resource_instances(state="sleeping"))
        expect_error(400, lambda: self.rc.list_resource_instances(start="garbage"))
        eq(quote(crn, safe="") != crn, True, "a CRN needs URL-encoding")

    def resource_groups_list_and_get(self):
        result = self.rm.list_resource_groups(account_id=self.account).get_result()
        groups = ResourceGroupList.from_dict(result)
        eq([(g.id, g.name, g.default) for g in groups.resources],
           [(RG_DEFAULT, "Default", True), (RG_RESEARCH, "research", False)], "resource groups")
        for g in groups.resources:
            eq(g.crn, f"crn:v1:bluemix:public:resource-controller::a/{self.account}::resource-group:{g.id}", "crn")
            eq((g.state, g.account_id, g.quota_url), ("ACTIVE", self.account, f"/v2/quota_definitions/{g.quota_id}"),
               "group fields")
        by_name = self.rm.list_resource_groups(account_id=self.account, name="research").get_result()["resources"]
        eq([g["id"] for g in by_name], [RG_RESEARCH], "name filter")
        default = self.rm.list_resource_groups(account_id=self.account, default=True).get_result()["resources"]
        eq([g["id"] for g in default], [RG_DEFAULT], "default filter")
        got = ResourceGroup.from_dict(self.rm.get_resource_group(id=RG_RESEARCH).get_result())
        eq(got.name, "research", "get resource group")
        expect_error(404, lambda: self.rm.get_resource_group(id="ffffffffffffffffffffffffffffffff"))
        expect_error(403, lambda: self.rm.list_resource_groups(account_id="ffffffffffffffffffffffffffffffff"))

    # -- dynamic rules and members

    def rules_lifecycle(self):
        group = self.state["groups"][RULE_GROUP]
        listed = self.ag.list_access_group_rules(access_group_id=group["id"]).get_result()
        RulesList.from_dict(listed)
        eq([r.get("name", "") for r in listed["rules"]], [r.get("name", "") for r in group["rules"]], "listed rules")
        eq(listed["rules"][0]["conditions"][0]["value"], '"ml"', "values are kept verbatim (stringified JSON)")
        target = self.state["groups"][60]["id"]
        cond = [RuleConditions(claim="project", operator="CONTAINS", value='"qiskit"')]
        added = self.ag.add_access_group_rule(access_group_id=target, expiration=24, realm_name=REALM,
                                              conditions=cond, name="qiskit-project")
        eq(added.get_status_code(), 201, "add rule status")
        rule = Rule.from_dict(added.get_result())
        eq((rule.access_group_id, rule.account_id, rule.name), (target, self.account, "qiskit-project"), "rule")
        got = self.ag.get_access_group_rule(access_group_id=target, rule_id=rule.id)
        Rule.from_dict(got.get_result())
        etag = got.get_headers()["ETag"]
        replaced = self.ag.replace_access_group_rule(access_group_id=target, rule_id=rule.id, if_match=etag,
                                                     expiration=12, realm_name=REALM, conditions=cond)
        eq(replaced.get_status_code(), 200, "replace rule status")
        after = Rule.from_dict(replaced.get_result())
        eq((after.expiration, after.name), (12, ""), "a replace without name clears it")
        expect_error(412, lambda: self.ag.replace_access_group_rule(
            access_group_id=target, rule_id=rule.id, if_match=etag, expiration=12, realm_name=REALM, conditions=cond))
        expect_error(400, lambda: self.ag.add_access_group_rule(access_group_id=target, expiration=25,
                                                                realm_name=REALM, conditions=cond))
        bad = [RuleConditions(claim="project", operator="LIKE", value='"x"')]
        expect_error(400, lambda: self.ag.add_access_group_rule(access_group_id=target, expiration=1,
                                                                realm_name=REALM, conditions=bad))
        for i in range(4):
            self.ag.add_access_group_rule(access_group_id=target, expiration=1, realm_name=REALM, conditions=cond,
                                          name=f"extra-{i}")
        expect_error(400, lambda: self.ag.add_access_group_rule(access_group_id=target, expiration=1,
                                                                realm_name=REALM, conditions=cond))
        eq(self.ag.remove_access_group_rule(access_group_id=target, rule_id=rule.id).get_status_code(), 204,
           "remove rule")
        expect_error(404, lambda: self.ag.get_access_group_rule(access_group_id=target, rule_id=rule.id))
        expect_error(404, lambda: self.ag.list_access_group_rules(access_group_id="AccessGroupId-does-not-exist"))
        shown = self.ag.get_access_group(access_group_id=target, show_federated=True).get_result()
        eq(shown.get("is_federated"), True, "a group with rules is federated")

    def dynamic_members(self):
        group = self.state["groups"][DYNAMIC_GROUP]
        dynamic = [m["iam_id"] for m in group["members"] if m.get("membership_type") == "dynamic"]
        static = [m["iam_id"] for m in static_members(group)]
        default = [m["iam_id"] for m in self.ag.list_access_group_members(access_group_id=group["id"],
                                                                           limit=100).get_result()["members"]]
        eq(default, static, "members lists static members by default")
        listed = self.ag.list_access_group_members(access_group_id=group["id"], membership_type="dynamic").get_result()
        eq([(m["iam_id"], m["membership_type"]) for m in listed["members"]], [(i, "dynamic") for i in dynamic],
           "membership_type=dynamic")
        every = self.ag.list_access_group_members(access_group_id=group["id"], membership_type="all",
                                                  limit=100).get_result()
        eq(sorted(m["iam_id"] for m in every["members"]), sorted(static + dynamic), "membership_type=all")
        eq(self.ag.is_member_of_access_group(access_group_id=group["id"], iam_id=dynamic[0]).get_status_code(), 204,
           "HEAD reports a dynamic member")
        expect_error(400, lambda: self.ag.remove_member_from_access_group(access_group_id=group["id"],
                                                                          iam_id=dynamic[0]), code="dynamic_member")
        bulk = self.ag.remove_members_from_access_group(access_group_id=group["id"], members=[dynamic[1]]).get_result()
        eq([(m["iam_id"], m["status_code"]) for m in bulk["members"]], [(dynamic[1], 400)], "bulk: per-member 400")
        groups = self.ag.list_access_groups(account_id=self.account, iam_id=dynamic[0],
                                            membership_type="dynamic").get_result()
        eq([g["id"] for g in groups["groups"]], [group["id"]], "groups of a dynamic member")
        state = self.admin_state()
        after = next(g for g in state["groups"] if g["id"] == group["id"])
        eq(sorted(m["iam_id"] for m in after["members"] if m.get("membership_type") == "dynamic"), sorted(dynamic),
           "dynamic members stay")

    def deleting_a_group_deletes_its_policies_and_rules(self):
        group = self.state["groups"][RULE_GROUP]["id"]
        before = self.pm.list_v2_policies(account_id=self.account, access_group_id=group).get_result()["policies"]
        if not before:
            raise AssertionError("the rule group has policies to lose")
        eq(self.ag.delete_access_group(access_group_id=group, force=True).get_status_code(), 204, "delete group")
        eq(self.pm.list_v2_policies(account_id=self.account, access_group_id=group).get_result()["policies"], [],
           "its policies are gone")
        expect_error(404, lambda: self.pm.get_v2_policy(id=before[0]["id"]))
        state = self.admin_state()
        if any(p.get("access_group_id") == group for p in state["policies"]):
            raise AssertionError("the admin state still holds the group's policies")

    def stats_count_new_routes(self):
        import requests
        routes = requests.get(f"{self.base}/__admin/stats", timeout=30).json()["by_route"]
        for route in ("GET /v2/policies", "GET /v2/policies/{policy_id}", "PUT /v1/policies/{policy_id}",
                      "PATCH /v1/policies/{policy_id}", "GET /v2/roles", "PUT /v2/roles/{role_id}",
                      "GET /v2/resource_instances", "GET /v2/resource_instances/{id}", "GET /v2/resource_groups",
                      "GET /v2/groups/{access_group_id}/rules", "PUT /v2/groups/{access_group_id}/rules/{rule_id}"):
            if not routes.get(route):
                raise AssertionError(f"stats count {route}: {sorted(routes)}")

    def access_checks(self, check):
        check("v1 and v2 policy pagers match the state, in both views", self.policy_pagers_match_state)
        check("policy pages: opaque start, next {href, start}, no limit = everything", self.policy_pages_have_opaque_starts)
        check("policy filters: group, iam_id, state, type, service_type, tags, sort, format", self.policy_filters)
        check("v1 policy: create, get + ETag, replace, 412, cross-version 400, delete, 404, restore",
              self.v1_policy_lifecycle)
        check("v2 policy: create, get + ETag, display, replace + new ETag, 412, delete, 404", self.v2_policy_lifecycle)
        check("duplicate policies conflict across versions (409 conflicts_with)", self.duplicates_conflict_across_versions)
        check("bad role, unknown group, foreign custom role, missing accountId refused", self.bad_policies_are_refused)
        check("roles: three arrays; quantum-computing, alliamserviceroles, IAM", self.roles_listings)
        check("custom roles: create, get + ETag, replace, 412, 409, 400, delete, in use 409", self.custom_role_lifecycle)
        check("resource instances pager matches the state; pages of 100; null next_url",
              self.resource_instances_pager_matches_state)
        check("resource instance filters; get by GUID and CRN", self.resource_instance_filters_and_get)
        check("resource groups: list, filters, get", self.resource_groups_list_and_get)
        check("dynamic rules: add, list, get + ETag, replace, 412, 400, 5 per group, remove", self.rules_lifecycle)
        check("dynamic members: membership_type, HEAD, removal refused", self.dynamic_members)
        check("deleting a group deletes its policies and rules", self.deleting_a_group_deletes_its_policies_and_rules)
        check("stats count the new routes as templates", self.stats_count_new_routes)
