"""IBM's own integration tests, replayed against the orgsync emulator (docs/emulator.md).

IBM's SDK repositories carry integration tests that IBM runs against the real IBM Cloud
services: `test/integration/test_*.py` in IBM/platform-services-python-sdk and
`*_integration_test.go` in IBM/platform-services-go-sdk. They are the best evidence of
what the real services do. Every behaviour they assert of a call the emulator serves is
checked here, with the same SDK calls and the same values (a random IBMid no account
has, `IBMid-` + a number below 100,000; a custom role of `iam-groups`; a time-based v2
policy), so the emulator answers as IBM does where IBM's own tests can tell.

Each check's docstring names its source: repository (`py` = platform-services-python-sdk,
`go` = platform-services-go-sdk), file and test. docs/emulator.md lists them in a table.
`conformance.py` mixes `ItChecks` into its `Conformance` class and runs them last: they
first replace the account (`POST /__admin/state`) with a small one like IBM's test
accounts (a few groups, 25 users, 26 instances), where IBM's assertions about a first page
hold as they do for IBM.
"""

import base64
import json
import random

import requests
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

from access_checks import eq, expect_error
from ibm_cloud_sdk_core import get_query_param
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services.iam_access_groups_v2 import (
    AccessGroupMembersPager,
    AccessGroupsPager,
    AddGroupMembersRequestMembersItem,
    AddGroupMembersResponse,
    AddMembershipMultipleGroupsResponse,
    Group,
    GroupMembersList,
    GroupsList,
    Rule,
    RuleConditions,
    RulesList,
)
from ibm_platform_services.iam_policy_management_v1 import (
    Control,
    CustomRole,
    Grant,
    Policy,
    PolicyCollection,
    PolicyResource,
    PolicyRole,
    PolicySubject,
    ResourceAttribute,
    ResourceTag,
    RoleCollection,
    RuleAttribute,
    SubjectAttribute,
    V2Policy,
    V2PolicyCollection,
    V2PolicyResource,
    V2PolicyResourceAttribute,
    V2PolicyResourceTag,
    V2PolicyRuleRuleWithNestedConditions,
    V2PolicySubject,
    V2PolicySubjectAttribute,
)
from ibm_platform_services.resource_controller_v2 import ResourceInstancesPager
from ibm_platform_services.user_management_v1 import UserList, UsersPager

PY_AG = "py test/integration/test_iam_access_groups_v2.py"
GO_AG = "go iamaccessgroupsv2/iam_access_groups_v2_integration_test.go"
PY_UM = "py test/integration/test_user_management_v1.py"
GO_UM = "go usermanagementv1/user_management_v1_integration_test.go"
PY_PM = "py test/integration/test_iam_policy_management_v1.py"
GO_PM = "go iampolicymanagementv1/iam_policy_management_v1_integration_test.go"
PY_RC = "py test/integration/test_resource_controller_v2.py"
GO_RC = "go resourcecontrollerv2/resource_controller_v2_integration_test.go"
PY_RM = "py test/integration/test_resource_manager_v2.py"
GO_RM = "go resourcemanagerv2/resource_manager_v2_integration_test.go"

VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
EDITOR = "crn:v1:bluemix:public:iam::::role:Editor"
SERVICE_ID_CREATOR = "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator"
TIME_PATTERN = "time-based-conditions:weekly:custom-hours"


def no_body(response, what):
    if response.get_result() is not None:
        raise AssertionError(f"{what}: IBM's tests expect no body, got {response.get_result()!r}")


def recent(ts, what):
    """IBM's teardowns subtract created_at from now: it must be an aware, recent time."""
    if ts is None or ts.tzinfo is None:
        raise AssertionError(f"{what}: created_at must be an ISO-8601 time with a zone, got {ts!r}")
    if abs(datetime.now(timezone.utc) - ts) > timedelta(minutes=5):
        raise AssertionError(f"{what}: created_at {ts} is not the time of creation")


def pager_both_ways(make):
    """IBM's pager tests: get_next() until has_next() is false, then get_all(); same count."""
    pager, by_page = make(), []
    while pager.has_next():
        page = pager.get_next()
        if page is None:
            raise AssertionError("get_next() returned None")
        by_page.extend(page)
    everything = make().get_all()
    eq(len(by_page), len(everything), "get_next() and get_all() see the same items")
    return everything


IT_INSTANCES = 24  # listed (active or provisioning): two pages of 12, one of 100


def it_state(account, api_keys):
    """A small account like the ones IBM's integration tests run in."""
    users = [{"email": "admin@example.com", "iam_id": "IBMid-ADMIN00001", "state": "ACTIVE",
              "firstname": "Account", "lastname": "Admin"}]
    for i in range(1, 25):
        users.append({"email": f"it{i:02d}@example.com", "iam_id": f"IBMid-IT{i:08d}",
                      "state": "PENDING" if i % 6 == 0 else "ACTIVE", "firstname": f"It{i}", "lastname": "User"})
    groups = [{"id": f"AccessGroupId-it{g}", "name": f"it-group-{g}", "description": "",
               "members": [{"iam_id": u["iam_id"], "type": "user"} for u in users[1 + g * 3:4 + g * 3]]}
              for g in range(3)]
    instances = [{"name": f"it-instance-{i:02d}", "service": "quantum-computing",
                  "guid": f"{i:08x}-1717-4171-8171-{i:012x}",
                  **({"state": "provisioning"} if i == 5 else {})} for i in range(IT_INSTANCES)]
    instances.append({"name": "it-removed", "service": "quantum-computing", "state": "removed",
                      "guid": "ffffffff-1717-4171-8171-000000000001"})
    instances.append({"name": "it-reclaimed", "service": "quantum-computing", "state": "pending_reclamation",
                      "guid": "ffffffff-1717-4171-8171-000000000002"})
    return {"account_id": account, "api_keys": api_keys, "users": users, "groups": groups,
            "resource_groups": [{"id": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "name": "Default", "default": True}],
            "resource_instances": instances}


class ItChecks:
    """Mixed into conformance.Conformance: expects self.ag, self.um, self.pm, self.rc,
    self.rm, self.state, self.admin_state(), self.account, self.base, self.admin_key."""

    def it_small_account(self):
        """Not IBM's: the account the checks below run in (IBM runs its tests in test
        accounts of a few groups)."""
        keys = self.admin_state()["api_keys"]
        r = requests.post(f"{self.base}/__admin/state", json=it_state(self.account, keys), timeout=30)
        eq(r.status_code, 204, f"replacing the account: {r.text}")
        self.state = self.admin_state()

    # ----------------------------------------------------------------- Access Groups

    def it_ag_group_create_get_update_list(self):
        """py test_01..test_04 (+ _with_pager); go "Create an access group", "Get an access
        group", "Update an access group description", "List access groups" (+ pager)."""
        name = "SDK Test Group - Python"
        response = self.ag.create_access_group(account_id=self.account, name=name)
        eq(response.get_status_code(), 201, "create status")
        created = Group.from_dict(response.get_result())
        eq((created.account_id, created.name), (self.account, name), "created group")
        self.it_group = created.id
        response = self.ag.get_access_group(access_group_id=created.id)
        eq(response.get_status_code(), 200, "get status")
        got = Group.from_dict(response.get_result())
        eq((got.account_id, got.id, got.name, got.description), (self.account, created.id, name, ""),
           "get: a group created without description has description \"\"")
        etag = response.get_headers().get("ETag")
        if not etag:
            raise AssertionError("get must send the ETag IBM's update test reads")
        description = "This group is used for integration test purposes. It can be deleted at any time."
        response = self.ag.update_access_group(access_group_id=created.id, if_match=etag, description=description)
        eq(response.get_status_code(), 200, "update status")
        updated = Group.from_dict(response.get_result())
        eq((updated.account_id, updated.id, updated.name, updated.description),
           (self.account, created.id, name, description), "updated group")
        response = self.ag.list_access_groups(account_id=self.account, hide_public_access=True)
        eq(response.get_status_code(), 200, "list status")
        listed = GroupsList.from_dict(response.get_result())
        if created.id not in [g.id for g in listed.groups]:
            raise AssertionError("the new group is on the first page of a listing IBM's test reads")
        groups = pager_both_ways(lambda: AccessGroupsPager(client=self.ag, account_id=self.account,
                                                           hide_public_access=True))
        if created.id not in [g["id"] for g in groups]:
            raise AssertionError("AccessGroupsPager finds the new group")

    def it_ag_unknown_ibmid_member(self):
        """py test_05..test_11 (+ test_08a pager); go "Add members to an access group" (207,
        type user, status_code 200), "... to multiple access groups", "Check access group
        membership", "List access group memberships", "Delete access group membership",
        "Delete member from all groups" (404), "Delete multiple members" (404).
        IBM's tests add "IBMid-" + a random number below 100,000: a user no account has."""
        group = self.it_group
        iam_id = "IBMid-" + str(random.randint(0, 99999))
        members = [AddGroupMembersRequestMembersItem(iam_id=iam_id, type="user")]
        response = self.ag.add_members_to_access_group(access_group_id=group, members=members)
        eq(response.get_status_code(), 207, "add status")
        added = AddGroupMembersResponse.from_dict(response.get_result())
        mine = [m for m in added.members if m.iam_id == iam_id]
        eq([(m.type, m.status_code) for m in mine], [("user", 200)], "the unknown IBMid is added")
        response = self.ag.add_member_to_multiple_access_groups(account_id=self.account, iam_id=iam_id,
                                                                type="user", groups=[group])
        eq(response.get_status_code(), 207, "add to many status")
        many = AddMembershipMultipleGroupsResponse.from_dict(response.get_result())
        eq([(g.access_group_id, g.status_code) for g in many.groups], [(group, 200)],
           "adding again through _allgroups is a per-group 200")
        response = self.ag.is_member_of_access_group(access_group_id=group, iam_id=iam_id)
        eq(response.get_status_code(), 204, "HEAD status")
        no_body(response, "HEAD")
        response = self.ag.list_access_group_members(access_group_id=group)
        eq(response.get_status_code(), 200, "members status")
        listed = GroupMembersList.from_dict(response.get_result())
        eq([(m.iam_id, m.type) for m in listed.members if m.iam_id == iam_id], [(iam_id, "user")],
           "the member is listed")
        pager_both_ways(lambda: AccessGroupMembersPager(client=self.ag, access_group_id=group))
        member = [m for g in self.admin_state()["groups"] if g["id"] == group for m in g["members"]]
        eq([(m["iam_id"], m["type"], m.get("membership_type", "static")) for m in member],
           [(iam_id, "user", "static")], "the admin state holds it as a static user member")
        response = self.ag.remove_member_from_access_group(access_group_id=group, iam_id=iam_id)
        eq(response.get_status_code(), 204, "DELETE status")
        no_body(response, "DELETE")
        expect_error(404, lambda: self.ag.remove_member_from_all_access_groups(account_id=self.account,
                                                                               iam_id=iam_id), contains=iam_id)
        expect_error(404, lambda: self.ag.remove_members_from_access_group(access_group_id=group,
                                                                           members=[iam_id]), contains=group)

    def it_ag_rule_lifecycle(self):
        """py test_12..test_16; go "Create an access group rule", "Get ...", "List ...",
        "Update ...", "Delete access group rule". IBM's rule has no name."""
        group = self.it_group
        conditions = [RuleConditions("test claim", "EQUALS", "1")]
        response = self.ag.add_access_group_rule(access_group_id=group, expiration=24,
                                                 realm_name="test realm name", conditions=conditions)
        eq(response.get_status_code(), 201, "rule create status")
        rule = Rule.from_dict(response.get_result())
        eq((rule.account_id, rule.access_group_id, rule.expiration), (self.account, group, 24), "created rule")
        response = self.ag.get_access_group_rule(access_group_id=group, rule_id=rule.id)
        eq(response.get_status_code(), 200, "rule get status")
        got = Rule.from_dict(response.get_result())
        eq((got.account_id, got.access_group_id, got.id), (self.account, group, rule.id), "rule read")
        etag = response.get_headers().get("ETag")
        if not etag:
            raise AssertionError("a rule's GET sends the ETag IBM's replace reads")
        response = self.ag.list_access_group_rules(access_group_id=group)
        eq(response.get_status_code(), 200, "rules list status")
        if rule.id not in [r.id for r in RulesList.from_dict(response.get_result()).rules]:
            raise AssertionError("the rule is listed")
        response = self.ag.replace_access_group_rule(access_group_id=group, rule_id=rule.id, if_match=etag,
                                                     expiration=24, realm_name="updated test realm name",
                                                     conditions=conditions)
        eq(response.get_status_code(), 200, "rule replace status")
        replaced = Rule.from_dict(response.get_result())
        eq((replaced.account_id, replaced.access_group_id, replaced.id, replaced.realm_name),
           (self.account, group, rule.id, "updated test realm name"), "replaced rule")
        response = self.ag.remove_access_group_rule(access_group_id=group, rule_id=rule.id)
        eq(response.get_status_code(), 204, "rule delete status")
        no_body(response, "rule DELETE")

    def it_ag_teardown(self):
        """py teardown_class; go AfterSuite: list without Public Access, subtract each test
        group's created_at from now, force-delete it (204)."""
        response = self.ag.list_access_groups(account_id=self.account, hide_public_access=True)
        eq(response.get_status_code(), 200, "teardown list status")
        found = False
        for group in GroupsList.from_dict(response.get_result()).groups:
            if group.id == self.it_group:
                found = True
                recent(group.created_at, "group")
        if not found:
            raise AssertionError("the test group is listed for the teardown")
        response = self.ag.delete_access_group(access_group_id=self.it_group, force=True)
        eq(response.get_status_code(), 204, "force delete status")

    # --------------------------------------------------------------- User Management

    def users_by_hand(self, limit=None, **query):
        """IBM's own loop: list, read `_start` from next_url, until there is none."""
        results, start, pages = [], None, 0
        while True:
            response = self.um.list_users(account_id=self.account, limit=limit, start=start, **query)
            eq(response.get_status_code(), 200, "list users status")
            page = response.get_result()
            if "resources" not in page:
                raise AssertionError("every user page carries resources")
            UserList.from_dict(page)
            if limit is not None and len(page["resources"]) > limit:
                raise AssertionError(f"a page of limit {limit} holds {len(page['resources'])}")
            results.extend(page["resources"])
            pages += 1
            next_url = page.get("next_url")
            start = parse_qs(urlparse(next_url).query).get("_start", [None])[0] if next_url else None
            if start is None:
                return results, pages

    def it_um_list_users(self):
        """py test_03, test_03a (UsersPager), test_03b (include_settings), test_03c (search);
        go "ListUsers" by hand, with search, with include_settings, with UsersPager."""
        users = self.admin_state()["users"]
        listed, pages = self.users_by_hand(limit=10)
        eq([u["iam_id"] for u in listed], [u["iam_id"] for u in users], "limit 10, by _start")
        eq(pages, -(-len(users) // 10), "pages of 10")
        settings, _ = self.users_by_hand(limit=10, include_settings=True)
        eq(len(settings), len(users), "include_settings")
        active = [u["iam_id"] for u in users if u["state"] == "ACTIVE"]
        for limit in (10, None):
            found, _ = self.users_by_hand(limit=limit, search="state:ACTIVE")
            eq([u["iam_id"] for u in found], active, f"search state:ACTIVE, limit {limit}")
        everything = pager_both_ways(lambda: UsersPager(client=self.um, account_id=self.account))
        eq(len(everything), len(users), "UsersPager")

    def it_um_invite_with_policy_then_remove(self):
        """py test_04, test_05, test_07; go "InviteUsers" (account_role, iam_policy,
        access_groups → 202 and an id), "GetUserProfile", "RemoveUser" (204)."""
        group = self.state["groups"][0]["id"]
        policy = {"type": "access", "roles": [{"role_id": VIEWER}],
                  "resources": [{"attributes": [{"name": "accountId", "value": self.account},
                                                {"name": "resourceGroupId", "value": "*"}]}]}
        response = self.um.invite_users(account_id=self.account,
                                        users=[{"email": "it.member@example.org", "account_role": "Member"}],
                                        iam_policy=[policy], access_groups=[group])
        eq(response.get_status_code(), 202, "invite status")
        invited = response.get_result().get("resources")
        if not invited or not invited[0].get("id"):
            raise AssertionError(f"the invite answers the invitee's id: {response.get_result()}")
        iam_id = invited[0]["id"]
        response = self.um.get_user_profile(account_id=self.account, iam_id=self.state["users"][0]["iam_id"])
        eq(response.get_status_code(), 200, "profile status")
        response = self.um.remove_user(account_id=self.account, iam_id=iam_id)
        eq(response.get_status_code(), 204, "remove status")
        no_body(response, "remove user")

    # ------------------------------------------------------------- Policy Management

    def it_subject_v1(self):
        return PolicySubject(attributes=[SubjectAttribute(name="iam_id", value=self.it_user)])

    def it_resource_v1(self):
        return PolicyResource(
            attributes=[ResourceAttribute(name="accountId", value=self.account, operator="stringEquals"),
                        ResourceAttribute(name="serviceType", value="service", operator="stringEquals")],
            tags=[ResourceTag(name="project", value="prototype", operator="stringEquals")])

    def it_pm_v1_lifecycle(self):
        """py test_01..test_04, test_09; go "Create an access policy" (type, subjects and
        resources equal to what was sent), "Get", "Update", "Patch" (state active on an
        active policy → 200), "List access policies" (iam_id)."""
        self.it_user = "IBMid-GoSDK" + str(random.randint(0, 99999))
        subject, resource = self.it_subject_v1(), self.it_resource_v1()
        response = self.pm.create_policy(type="access", subjects=[subject], roles=[PolicyRole(role_id=VIEWER)],
                                         resources=[resource], accept_language="en")
        eq(response.get_status_code(), 201, "v1 create status")
        raw = response.get_result()
        created = Policy.from_dict(raw)
        eq((created.type, created.subjects[0], created.resources[0], created.roles[0].role_id),
           ("access", subject, resource, VIEWER), "v1 policy as sent")
        eq((raw["subjects"], raw["resources"]), ([subject.to_dict()], [resource.to_dict()]),
           "v1 subjects and resources equal what was sent (the Go test's deep equality)")
        self.it_v1 = created.id
        response = self.pm.get_policy(policy_id=created.id)
        eq(response.get_status_code(), 200, "v1 get status")
        got = Policy.from_dict(response.get_result())
        eq((got.id, got.subjects[0], got.resources[0], got.roles[0].role_id, got.state),
           (created.id, subject, resource, VIEWER, "active"), "v1 get")
        etag = response.get_headers().get("ETag")
        response = self.pm.replace_policy(policy_id=created.id, if_match=etag, type="access", subjects=[subject],
                                          roles=[PolicyRole(role_id=EDITOR)], resources=[resource])
        eq(response.get_status_code(), 200, "v1 replace status")
        replaced = Policy.from_dict(response.get_result())
        eq((replaced.id, replaced.type, replaced.subjects[0], replaced.resources[0], replaced.roles[0].role_id),
           (created.id, "access", subject, resource, EDITOR), "v1 replaced")
        etag = response.get_headers().get("ETag")
        if not etag:
            raise AssertionError("a v1 replace sends the new ETag IBM's PATCH uses")
        response = self.pm.list_policies(account_id=self.account, iam_id=self.it_user)
        eq(response.get_status_code(), 200, "v1 list status")
        if created.id not in [p.id for p in PolicyCollection.from_dict(response.get_result()).policies]:
            raise AssertionError("the v1 policy is listed by iam_id")
        response = self.pm.update_policy_state(policy_id=created.id, if_match=etag, state="active")
        eq(response.get_status_code(), 200, "PATCH state=active of an active policy")
        patched = Policy.from_dict(response.get_result())
        eq((patched.id, patched.state), (created.id, "active"), "patched")

    def it_v2_rule(self):
        return V2PolicyRuleRuleWithNestedConditions(operator="and", conditions=[
            RuleAttribute(key="{{environment.attributes.day_of_week}}", operator="dayOfWeekAnyOf",
                          value=["1+00:00", "2+00:00", "3+00:00", "4+00:00", "5+00:00"]),
            RuleAttribute(key="{{environment.attributes.current_time}}", operator="timeGreaterThanOrEquals",
                          value="09:00:00+00:00"),
            RuleAttribute(key="{{environment.attributes.current_time}}", operator="timeLessThanOrEquals",
                          value="17:00:00+00:00")])

    def it_pm_v2_lifecycle(self):
        """py test_10..test_13; go "Create a v2 access policy" (control equal to the grant
        sent), "Get", "Update" (a new ETag), "List v2 access policies" (iam_id, sort=-id).
        Go's v2 policy has the subject and resource (tags included) of its v1 policy, plus
        time-based conditions, and IBM answers 201: conditions count for duplicates."""
        subject = V2PolicySubject(attributes=[V2PolicySubjectAttribute(key="iam_id", operator="stringEquals",
                                                                       value=self.it_user)])
        resource = V2PolicyResource(
            attributes=[V2PolicyResourceAttribute(key="accountId", value=self.account, operator="stringEquals"),
                        V2PolicyResourceAttribute(key="serviceType", value="service", operator="stringEquals")],
            tags=[V2PolicyResourceTag(key="project", value="prototype", operator="stringEquals")])

        def control(role):
            return Control(grant=Grant(roles=[PolicyRole(role_id=role)]))
        rule = self.it_v2_rule()
        response = self.pm.create_v2_policy(type="access", subject=subject, control=control(VIEWER),
                                            resource=resource, pattern=TIME_PATTERN, rule=rule,
                                            accept_language="en")
        eq(response.get_status_code(), 201, "v2 create beside the v1 policy of the same target")
        raw = response.get_result()
        created = V2Policy.from_dict(raw)
        eq((created.type, created.subject, created.resource), ("access", subject, resource), "v2 as sent")
        eq(raw["control"], {"grant": {"roles": [{"role_id": VIEWER}]}}, "v2 control is the grant sent")
        eq((raw.get("pattern"), raw.get("rule")), (TIME_PATTERN, rule.to_dict()), "v2 conditions echoed")
        self.it_v2 = created.id
        body = expect_error(409, lambda: self.pm.create_v2_policy(
            type="access", subject=subject, control=control(EDITOR), resource=resource, pattern=TIME_PATTERN,
            rule=rule), code="policy_conflict_error")
        eq(body["errors"][0]["details"]["conflicts_with"]["policy"]["id"], created.id,
           "the same conditions again are a duplicate")
        response = self.pm.get_v2_policy(id=created.id)
        eq(response.get_status_code(), 200, "v2 get status")
        got = V2Policy.from_dict(response.get_result())
        eq((got.id, got.subject, got.resource, got.state), (created.id, subject, resource, "active"), "v2 get")
        eq(Control.from_dict(got.control).grant.roles[0].role_id, VIEWER, "v2 get role")
        etag = response.get_headers().get("ETag")
        untagged = V2PolicyResource(attributes=resource.attributes)
        response = self.pm.replace_v2_policy(id=created.id, if_match=etag, type="access", subject=subject,
                                             control=control(EDITOR), resource=untagged, pattern=TIME_PATTERN,
                                             rule=rule)
        eq(response.get_status_code(), 200, "v2 replace status")
        raw = response.get_result()
        replaced = V2Policy.from_dict(raw)
        eq((replaced.id, replaced.subject, replaced.resource), (created.id, subject, untagged), "v2 replaced")
        eq(raw["control"], {"grant": {"roles": [{"role_id": EDITOR}]}}, "v2 replaced control")
        new_etag = response.get_headers().get("ETag")
        if not new_etag or new_etag == etag:
            raise AssertionError(f"a v2 replace answers a new ETag: {etag!r} then {new_etag!r}")
        response = self.pm.list_v2_policies(account_id=self.account, iam_id=self.it_user, sort="-id")
        eq(response.get_status_code(), 200, "v2 list status")
        if created.id not in [p.id for p in V2PolicyCollection.from_dict(response.get_result()).policies]:
            raise AssertionError("the v2 policy is listed by iam_id")

    def it_pm_custom_role_lifecycle(self):
        """py test_05..test_08; go "Create custom role", "Get a custom role", "Update custom
        roles", "List custom roles" (account_id alone). IBM's role is of `iam-groups`, and
        its description ends in a space."""
        name = "TestPythonRole" + str(random.randint(0, 99999))
        description = "SDK Test role description "
        actions = ["iam-groups.groups.read"]
        response = self.pm.create_role(name=name, account_id=self.account, service_name="iam-groups",
                                       display_name="SDK Test role", description=description, actions=actions)
        eq(response.get_status_code(), 201, "role create status")
        role = CustomRole.from_dict(response.get_result())
        eq((role.name, role.account_id, role.service_name, role.description, role.actions),
           (name, self.account, "iam-groups", description, actions), "created role, description verbatim")
        self.it_role = role.id
        response = self.pm.get_role(role_id=role.id)
        eq(response.get_status_code(), 200, "role get status")
        got = CustomRole.from_dict(response.get_result())
        eq((got.id, got.name, got.account_id, got.service_name, got.description, got.actions),
           (role.id, name, self.account, "iam-groups", description, actions), "role read")
        etag = response.get_headers().get("ETag")
        response = self.pm.replace_role(role_id=role.id, if_match=etag, display_name="Updated SDK Test role",
                                        description="Updated " + description, actions=actions)
        eq(response.get_status_code(), 200, "role replace status")
        replaced = CustomRole.from_dict(response.get_result())
        eq((replaced.id, replaced.name, replaced.account_id, replaced.display_name, replaced.description,
            replaced.actions),
           (role.id, name, self.account, "Updated SDK Test role", "Updated " + description, actions),
           "replaced role")
        for query in ({"service_name": "iam-groups"}, {}):
            response = self.pm.list_roles(account_id=self.account, **query)
            eq(response.get_status_code(), 200, "roles list status")
            listed = RoleCollection.from_dict(response.get_result())
            if role.id not in [r.id for r in listed.custom_roles]:
                raise AssertionError(f"the custom role is listed with {query or 'account_id alone'}")

    def it_pm_roles_of_the_iam_service_group(self):
        """py test_14_list_v2_roles; go "List V2 roles" (account_id, service_group_id=IAM):
        the system Viewer and iam-identity's ServiceIdCreator are listed."""
        response = self.pm.list_roles(account_id=self.account, service_group_id="IAM")
        eq(response.get_status_code(), 200, "roles status")
        roles = RoleCollection.from_dict(response.get_result())
        if VIEWER not in [r.crn for r in roles.system_roles]:
            raise AssertionError("system_roles holds Viewer")
        if SERVICE_ID_CREATOR not in [r.crn for r in roles.service_roles]:
            raise AssertionError("service_roles holds ServiceIdCreator")

    def it_pm_teardown(self):
        """py tearDownClass; go AfterSuite: list v1 by iam_id (the Go v2 policy too, as a
        placeholder), parse each created_at, delete through the version its href names
        (204), then list the custom roles, parse created_at and delete (204)."""
        response = self.pm.list_policies(account_id=self.account, iam_id=self.it_user)
        eq(response.get_status_code(), 200, "teardown list status")
        listed = PolicyCollection.from_dict(response.get_result()).policies
        eq(sorted(p.id for p in listed), sorted([self.it_v1, self.it_v2]), "v1 lists both policies of the user")
        for policy in listed:
            recent(policy.created_at, f"policy {policy.id}")
            if "v2/policies" in policy.href:
                eq(policy.id, self.it_v2, "the v2 policy's href names v2")
                response = self.pm.delete_v2_policy(id=policy.id)
            else:
                eq(policy.id, self.it_v1, "the v1 policy's href names v1")
                response = self.pm.delete_policy(policy_id=policy.id)
            eq(response.get_status_code(), 204, "policy delete status")
        response = self.pm.list_roles(account_id=self.account)
        eq(response.get_status_code(), 200, "teardown roles status")
        for role in RoleCollection.from_dict(response.get_result()).custom_roles:
            if role.created_at is None or role.created_at.tzinfo is None:
                raise AssertionError(f"custom role {role.name} carries created_at: {role.created_at!r}")
            if role.id == self.it_role:
                recent(role.created_at, "custom role")
                eq(self.pm.delete_role(role_id=role.id).get_status_code(), 204, "role delete status")

    # ----------------------------------------------------------- Resource Controller

    def instances_in_state(self):
        return self.admin_state()["resource_instances"]

    def check_instance(self, got, want, operation):
        if got.get("onetime_credentials") is None:
            raise AssertionError(f"an instance carries onetime_credentials: {got}")
        eq((got["id"], got["guid"], got["name"], got["account_id"]),
           (got["crn"], want["guid"], want["name"], self.account), "instance identity")
        if not got.get("resource_plan_id") or not got.get("resource_group_id"):
            raise AssertionError(f"an instance names its plan and resource group: {got}")
        eq(got["locked"], False, "locked")
        last = got.get("last_operation") or {}
        eq({k: last.get(k) for k in operation}, operation, "last_operation")

    def it_rc_get_instance(self):
        """py test_01_get_resource_instance, test_43 (removed); go "01 - Get A Resource
        Instance", "43 - Verify Resource Instance Was Deleted"."""
        instances = self.instances_in_state()
        active = next(i for i in instances if i.get("state", "active") == "active")
        response = self.rc.get_resource_instance(active["guid"], headers={"Transaction-Id": "rc-it-01"})
        eq(response.get_status_code(), 200, "get status")
        got = response.get_result()
        eq(got["state"], "active", "state")
        self.check_instance(got, active, {"type": "create", "async": False, "state": "succeeded"})
        removed = next(i for i in instances if i.get("state") == "removed")
        response = self.rc.get_resource_instance(removed["guid"])
        eq(response.get_status_code(), 200, "a removed instance is still read")
        got = response.get_result()
        eq((got["id"], got["state"]), (got["crn"], "removed"), "removed instance")
        self.check_instance(got, removed, {"type": "delete", "async": False, "state": "succeeded"})

    def it_rc_list_instances(self):
        """py test_03 (no filter, by start), test_04 (guid), test_05 (name), test_05a
        (pager); go "03 - ... No Filter", "04 - ... GUID Filter", "05 - ... Name Filter",
        ResourceInstancesPager. Every page holds 1 to limit rows."""
        listed = [i for i in self.instances_in_state()
                  if i.get("state", "active") in ("active", "provisioning")]
        eq(len(listed), IT_INSTANCES, "instances listed by default")
        for per_page, pages in ((12, 2), (100, 1)):  # 24 = 2 x 12: no empty last page
            start, seen, count = None, 0, 0
            while True:
                result = self.rc.list_resource_instances(limit=per_page, start=start).get_result()
                rows = len(result["resources"])
                if not (1 <= rows <= per_page and 1 <= result["rows_count"] <= per_page):
                    raise AssertionError(f"limit {per_page}: a page of {rows} rows, rows_count "
                                         f"{result['rows_count']} (IBM's tests expect 1 to {per_page})")
                seen += rows
                count += 1
                start = get_query_param(result.get("next_url"), "start")
                if start is None:
                    break
            eq((seen, count), (len(listed), pages), f"every instance once at limit {per_page}, pages")
        unique = next(i for i in listed if sum(1 for j in listed if j["name"] == i["name"]) == 1)
        result = self.rc.list_resource_instances(guid=unique["guid"]).get_result()
        eq((result["rows_count"], len(result["resources"])), (1, 1), "guid filter")
        got = result["resources"][0]
        eq((got["guid"], got["name"], got["state"]), (unique["guid"], unique["name"], "active"), "by guid")
        eq(got["id"], got["crn"], "id is the CRN")
        result = self.rc.list_resource_instances(name=unique["name"]).get_result()
        eq((result["rows_count"], len(result["resources"])), (1, 1), "name filter")
        everything = pager_both_ways(lambda: ResourceInstancesPager(client=self.rc))
        eq(len(everything), len(listed), "ResourceInstancesPager")

    # -------------------------------------------------------------- Resource Manager

    def it_rm_groups(self):
        """py test_03_list_resource_groups_in_an_account, test_05_get_resource_group_by_id;
        go "Successfully retrieved list of resource groups in an account", "... by ID"."""
        response = self.rm.list_resource_groups(account_id=self.account)
        eq(response.get_status_code(), 200, "list status")
        first = response.get_result()["resources"][0]
        for field in ("id", "name", "crn", "account_id", "state", "quota_id", "quota_url", "created_at",
                      "updated_at"):
            if first.get(field) is None:
                raise AssertionError(f"a resource group carries {field}: {first}")
        response = self.rm.get_resource_group(id=first["id"])
        eq(response.get_status_code(), 200, "get status")
        eq(response.get_result()["id"], first["id"], "get by id")

    # ---------------------------------------------------------------------- tokens

    def it_token_through_the_authenticator(self):
        """Every integration test above authenticates with the SDK core's IAMAuthenticator
        (`*_AUTH_TYPE=iam` in its credentials file; iam_identity's tests too): it posts the
        API key to /identity/token, keeps refresh_token, and schedules the refresh from
        the JWT's iat and exp."""
        auth = IAMAuthenticator(self.admin_key, url=self.base)
        manager = auth.token_manager
        token = manager.get_token()
        if not token or manager.refresh_token is None:
            raise AssertionError("the token answer carries access_token and refresh_token")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        eq(manager.expire_time, claims["exp"], "expiry from the JWT")
        if not claims["iat"] < claims["exp"] or manager.refresh_time >= manager.expire_time:
            raise AssertionError(f"iat before exp, refresh before expiry: {claims}")
        eq(claims["account"]["bss"], self.account, "account.bss")
        raw = manager.request_token()
        for field in ("access_token", "refresh_token", "token_type", "expires_in", "expiration"):
            if field not in raw:
                raise AssertionError(f"the token answer carries {field}: {sorted(raw)}")

    def it_checks(self, check):
        check("IT setup: a small account like IBM's test accounts", self.it_small_account)
        check("IT ag: create 201, get 200 (description \"\", ETag), update 200, list + pager",
              self.it_ag_group_create_get_update_list)
        check("IT ag: a random unknown IBMid is added (207/200), HEAD 204, listed, DELETE 204, then 404s",
              self.it_ag_unknown_ibmid_member)
        check("IT ag: rule without name 201, get + ETag, list, replace 200, delete 204", self.it_ag_rule_lifecycle)
        check("IT ag: teardown lists created_at and force-deletes 204", self.it_ag_teardown)
        check("IT um: users by _start at limit 10, include_settings, search, UsersPager", self.it_um_list_users)
        check("IT um: invite with account_role, iam_policy, access_groups 202; profile 200; remove 204",
              self.it_um_invite_with_policy_then_remove)
        check("IT pm: v1 create as sent, get active + ETag, replace, list by iam_id, PATCH active 200",
              self.it_pm_v1_lifecycle)
        check("IT pm: v2 time-based policy beside the v1 one 201, control as sent, get, replace new ETag, list",
              self.it_pm_v2_lifecycle)
        check("IT pm: iam-groups custom role create 201, get + ETag, replace 200, listed", self.it_pm_custom_role_lifecycle)
        check("IT pm: service_group_id=IAM lists Viewer and ServiceIdCreator", self.it_pm_roles_of_the_iam_service_group)
        check("IT pm: teardown by href version (204) and role delete (204), created_at everywhere", self.it_pm_teardown)
        check("IT rc: get instance (onetime_credentials, last_operation), removed instance", self.it_rc_get_instance)
        check("IT rc: pages of 1 to limit rows by start, guid and name filters, pager", self.it_rc_list_instances)
        check("IT rm: resource group fields, get by id", self.it_rm_groups)
        check("IT token: IAMAuthenticator token, refresh_token, JWT iat/exp", self.it_token_through_the_authenticator)
