#!/usr/bin/env python3
"""IBM's own Python SDK judges the orgsync emulator (docs/emulator.md).

The emulator claims to speak IBM's wire format. This script holds it to that with
`ibm-platform-services` (the official SDK): every endpoint orgsync uses is called through
the SDK's methods and pagers (UsersPager, AccessGroupsPager, AccessGroupMembersPager,
PoliciesPager, V2PoliciesPager, ResourceInstancesPager), every result goes through the
SDK's strict `Model.from_dict`, and every answer is checked against the emulator's own
account (`GET /__admin/state`), before and after the writes. The checks of what a group
grants (policies, roles, instances, resource groups, dynamic rules) are in
`access_checks.py`.

Two modes:
  conformance.py write-state FILE        write the seeded account (>=1,000 users, >=120 groups)
  conformance.py run BASE SHORT_TTL_BASE check an emulator started from that file with
                                         --processing-ms 1500, and a second one with
                                         --token-ttl 1 for the expired-token path

The account is generated here, independently of the Rust generator, so the emulator's
loader is tested on a file it did not write.
"""

import json
import random
import re
import sys
import time
import traceback
from urllib.parse import parse_qs, urlparse

import requests
from access_checks import AccessChecks, static_members, write_access
from it_checks import ItChecks
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator, IAMAuthenticator
from ibm_platform_services import IamAccessGroupsV2, UserManagementV1
from ibm_platform_services.iam_access_groups_v2 import (
    AccessGroupMembersPager,
    AccessGroupsPager,
    AddGroupMembersRequestMembersItem,
    AddGroupMembersResponse,
    AddMembershipMultipleGroupsResponse,
    DeleteFromAllGroupsResponse,
    DeleteGroupBulkMembersResponse,
    Group,
    GroupMembersList,
    GroupsList,
    ListGroupMembersResponseMember,
)
from ibm_platform_services.user_management_v1 import (
    InvitedUserList,
    InviteUser,
    UserList,
    UserProfile,
    UsersPager,
)

ACCOUNT = "c0ffee00c0ffee00c0ffee00c0ffee00"
ADMIN_KEY = "conformance-admin-key"
ADMIN_IAM_ID = "IBMid-ADMIN00001"
SERVICE_KEY = "conformance-service-key"
SERVICE_IAM_ID = "iam-ServiceId-00000000-0000-4000-8000-000000000001"
USERS = 1200
GROUPS = 125
BIG_GROUP_MEMBERS = 260  # group 0: several member pages at limit 100
# Seeded PROCESSING without `processing_until`: PENDING once --processing-ms has passed.
SEEDED_PROCESSING = "IBMid-5999999999"
WHOLE_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
USER_MANAGEMENT_DOCS = "https://cloud.ibm.com/apidocs/user-management"

# ---------------------------------------------------------------------------- state


def write_state(path):
    rng = random.Random(20261127)
    users = [
        {"email": "admin@example.com", "iam_id": ADMIN_IAM_ID, "state": "ACTIVE",
         "firstname": "Account", "lastname": "Admin"}
    ]
    for i in range(1, USERS):
        users.append({
            "email": f"Person{i:04d}@Example.com" if i % 97 == 0 else f"person{i:04d}@example.com",
            "iam_id": f"IBMid-{5000000000 + i:010d}",
            "state": "PENDING" if i % 50 == 0 else "ACTIVE",
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
        })
    users.append({"email": "seeded.processing@example.com", "iam_id": SEEDED_PROCESSING,
                  "state": "PROCESSING", "firstname": "", "lastname": ""})
    groups = []
    for g in range(GROUPS):
        groups.append({
            "id": f"AccessGroupId-{g:08x}-1111-4222-8333-{g:012x}",
            "name": f"team-{g:03d}",
            "description": f"Team number {g}" if g % 3 else "",
            "members": [],
        })
    for u in users[1:BIG_GROUP_MEMBERS + 1]:
        groups[0]["members"].append({"iam_id": u["iam_id"], "type": "user"})
    for u in users[BIG_GROUP_MEMBERS + 1:-1]:
        for g in rng.sample(range(1, GROUPS), rng.randint(0, 3)):
            groups[g]["members"].append({"iam_id": u["iam_id"], "type": "user"})
    service_ids = []
    for s in range(5):
        iam_id = f"iam-ServiceId-00000000-0000-4000-8000-{s + 1:012d}"
        service_ids.append({"iam_id": iam_id, "name": f"robot-{s}", "description": f"Robot {s}"})
        groups[1 + s]["members"].append({"iam_id": iam_id, "type": "service"})
    state = {
        "account_id": ACCOUNT,
        "api_keys": [
            {"apikey": ADMIN_KEY, "iam_id": ADMIN_IAM_ID, "type": "user"},
            {"apikey": SERVICE_KEY, "iam_id": SERVICE_IAM_ID, "type": "service"},
        ],
        "users": users,
        "groups": groups,
        "service_ids": service_ids,
    }
    write_access(state)
    with open(path, "w") as f:
        json.dump(state, f)


# --------------------------------------------------------------------------- checking

PASSED = []
FAILED = []


def check(name, fn):
    try:
        fn()
        PASSED.append(name)
        print(f"ok   {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the run fails
        FAILED.append(name)
        print(f"FAIL {name}: {type(e).__name__}: {e}")
        traceback.print_exc(limit=3)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def expect_more_info(e):
    """User Management errors carry `more_info`, as IBM's real bodies do."""
    more = e.http_response.json()["errors"][0].get("more_info")
    if not isinstance(more, str) or not more.strip():
        raise AssertionError(f"a User Management error must carry more_info: {e.http_response.text}")
    return more


def expect_api_error(status, fn, contains=None):
    try:
        fn()
    except ApiException as e:
        eq(e.code, status, "HTTP status")
        if contains is not None and contains not in (e.message or ""):
            raise AssertionError(f"error message {e.message!r} does not contain {contains!r}")
        return e
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


class Conformance(AccessChecks, ItChecks):
    def __init__(self, base, short_ttl_base):
        self.base = base
        self.short_ttl_base = short_ttl_base
        self.account = ACCOUNT
        self.admin_key = ADMIN_KEY
        self.access_clients()
        self.um = self.user_management(IAMAuthenticator(ADMIN_KEY, url=base))
        self.ag = self.access_groups(IAMAuthenticator(ADMIN_KEY, url=base))
        self.service_um = self.user_management(IAMAuthenticator(SERVICE_KEY, url=base))
        self.state = self.admin_state()

    def user_management(self, auth):
        client = UserManagementV1(authenticator=auth)
        client.set_service_url(self.base)
        return client

    def access_groups(self, auth, base=None):
        client = IamAccessGroupsV2(authenticator=auth)
        client.set_service_url(base or self.base)
        return client

    def admin_state(self):
        r = requests.get(f"{self.base}/__admin/state", timeout=30)
        r.raise_for_status()
        return r.json()

    def group_state(self, group_id, state=None):
        for g in (state or self.state)["groups"]:
            if g["id"] == group_id:
                return g
        raise AssertionError(f"group {group_id} not in the admin state")

    # ------------------------------------------------------------------ reads: users

    def seeded_processing_turns_pending(self):
        # The emulator was started with --processing-ms 1500; the state file has no
        # processing_until for this user. Poll rather than guess how long start-up took.
        deadline = time.monotonic() + 8
        while True:
            state = self.admin_state()
            seeded = next(u for u in state["users"] if u["iam_id"] == SEEDED_PROCESSING)
            if seeded["state"] == "PENDING":
                break
            eq(seeded["state"], "PROCESSING", "seeded state before --processing-ms")
            if time.monotonic() > deadline:
                raise AssertionError("a user seeded PROCESSING never turned PENDING")
            time.sleep(0.2)
        profile = UserProfile.from_dict(
            self.um.get_user_profile(account_id=ACCOUNT, iam_id=SEEDED_PROCESSING).get_result())
        eq(profile.state, "PENDING", "seeded user through the SDK")
        if "processing_until" in seeded:
            raise AssertionError(f"a settled user keeps no processing_until: {seeded}")
        # From here on every check compares against the settled account.
        self.state = state

    def users_pager_matches_state(self):
        users = UsersPager(client=self.um, account_id=ACCOUNT, limit=100).get_all()
        eq(len(users), len(self.state["users"]), "users listed")
        for got, want in zip(users, self.state["users"]):
            profile = UserProfile.from_dict(got)
            eq((profile.iam_id, profile.email, profile.state, profile.firstname, profile.lastname),
               (want["iam_id"], want["email"], want["state"], want["firstname"], want["lastname"]),
               "user")
            eq(profile.account_id, ACCOUNT, "user account_id")
            eq(profile.realm, "IBMid", "realm")

    def users_pages_are_strict_user_lists(self):
        start, pages, seen = None, 0, 0
        while True:
            result = self.um.list_users(account_id=ACCOUNT, start=start).get_result()
            page = UserList.from_dict(result)
            eq(page.total_results, len(self.state["users"]), "total_results (whole account)")
            eq(page.limit, 100, "default limit")
            if not isinstance(result.get("resources"), list):
                raise AssertionError("resources must be an array on every page")
            seen += len(page.resources)
            pages += 1
            if page.next_url is None:
                break
            if not page.next_url.startswith(f"/v2/accounts/{ACCOUNT}/users?"):
                raise AssertionError(f"next_url must be a relative path: {page.next_url}")
            start = parse_qs(urlparse(page.next_url).query, strict_parsing=True)["_start"][0]
        eq(seen, len(self.state["users"]), "users over all pages")
        eq(pages, -(-len(self.state["users"]) // 100), "pages of 100")

    def users_search_and_get_profile(self):
        pending = [u for u in self.state["users"] if u["state"] == "PENDING"]
        found = UsersPager(client=self.um, account_id=ACCOUNT, search="state:PENDING").get_all()
        eq(sorted(u["iam_id"] for u in found), sorted(u["iam_id"] for u in pending), "search state:PENDING")
        for want in self.state["users"][::150]:
            got = UserProfile.from_dict(
                self.um.get_user_profile(account_id=ACCOUNT, iam_id=want["iam_id"]).get_result())
            eq((got.iam_id, got.email, got.state), (want["iam_id"], want["email"], want["state"]), "profile")
        e = expect_api_error(404, lambda: self.um.get_user_profile(account_id=ACCOUNT, iam_id="IBMid-NOBODY0000"))
        eq(expect_more_info(e), USER_MANAGEMENT_DOCS, "404 more_info")
        e = expect_api_error(400, lambda: self.um.list_users(account_id=ACCOUNT, limit=101))
        expect_more_info(e)

    # ----------------------------------------------------------------- reads: groups

    def groups_pager_matches_state(self):
        groups = AccessGroupsPager(client=self.ag, account_id=ACCOUNT, hide_public_access=True,
                                   limit=100).get_all()
        want = self.state["groups"]
        eq([g["id"] for g in groups], [g["id"] for g in want], "group ids in order")
        for got, w in zip(groups, want):
            group = Group.from_dict(got)
            eq((group.name, group.description, group.account_id), (w["name"], w["description"], ACCOUNT), "group")
            if group.created_at is None or group.created_at.tzinfo is None:
                raise AssertionError(f"created_at must be an ISO-8601 UTC timestamp: {got.get('created_at')}")
        everything = AccessGroupsPager(client=self.ag, account_id=ACCOUNT).get_all()
        eq(len(everything), len(want) + 1, "groups with Public Access")
        eq(everything[0]["id"], "AccessGroupId-PublicAccess", "Public Access listed")
        eq(everything[0]["name"], "Public Access", "Public Access name")

    def groups_pages_have_offset_links(self):
        offset, total, pages = 0, None, 0
        while True:
            result = self.ag.list_access_groups(account_id=ACCOUNT, offset=offset,
                                                hide_public_access=True).get_result()
            page = GroupsList.from_dict(result)
            eq(page.limit, 50, "default limit")
            eq(page.offset, offset, "offset echoed")
            total = page.total_count
            eq(total, len(self.state["groups"]), "total_count")
            for link in ("first", "last"):
                href = result[link]["href"]
                q = parse_qs(urlparse(href).query, strict_parsing=True)
                int(q["offset"][0])
                eq(q["hide_public_access"], ["true"], f"{link} keeps the filter")
            pages += 1
            if "next" not in result:
                break
            q = parse_qs(urlparse(result["next"]["href"]).query, strict_parsing=True)
            offset = int(q["offset"][0])
        eq(pages, -(-total // 50), "pages of 50")
        expect_api_error(400, lambda: self.ag.list_access_groups(account_id=ACCOUNT, limit=101))

    def get_group_has_etag(self):
        want = self.state["groups"][7]
        response = self.ag.get_access_group(access_group_id=want["id"])
        group = Group.from_dict(response.get_result())
        eq((group.id, group.name), (want["id"], want["name"]), "get group")
        if not response.get_headers().get("ETag"):
            raise AssertionError("GET group must send an ETag")
        expect_api_error(404, lambda: self.ag.get_access_group(access_group_id="AccessGroupId-does-not-exist"),
                         contains="AccessGroupId-does-not-exist")

    def members_pager_matches_state_for_every_group(self):
        for want in self.state["groups"]:
            members = AccessGroupMembersPager(client=self.ag, access_group_id=want["id"], limit=100).get_all()
            got = [(m["iam_id"], m["type"]) for m in members]
            eq(got, [(m["iam_id"], m["type"]) for m in static_members(want)], f"members of {want['name']}")
            for m in members:
                ListGroupMembersResponseMember.from_dict(m)

    def member_pages_filters_and_verbose(self):
        big = self.state["groups"][0]
        result = self.ag.list_access_group_members(access_group_id=big["id"], limit=100, offset=200).get_result()
        page = GroupMembersList.from_dict(result)
        eq((page.limit, page.offset, page.total_count), (100, 200, BIG_GROUP_MEMBERS), "member page counters")
        eq(len(page.members), BIG_GROUP_MEMBERS - 200, "last member page size")
        if "next" in result:
            raise AssertionError("no next link on the last page")
        default = GroupMembersList.from_dict(
            self.ag.list_access_group_members(access_group_id=big["id"]).get_result())
        eq(len(default.members), 50, "default member page size")
        mixed = self.state["groups"][1]
        services = AccessGroupMembersPager(client=self.ag, access_group_id=mixed["id"], type="service").get_all()
        eq([m["iam_id"] for m in services],
           [m["iam_id"] for m in mixed["members"] if m["type"] == "service"], "type=service filter")
        verbose = AccessGroupMembersPager(client=self.ag, access_group_id=mixed["id"], verbose=True).get_all()
        emails = {u["iam_id"]: u["email"] for u in self.state["users"]}
        for m in verbose:
            ListGroupMembersResponseMember.from_dict(m)
            eq(m.get("href"), f"{self.base}/v2/groups/{mixed['id']}/members/{m['iam_id']}", "verbose href")
            if not WHOLE_SECONDS.match(m.get("created_at", "")):
                raise AssertionError(f"verbose created_at must be whole seconds: {m.get('created_at')}")
            if m["type"] == "user":
                eq(m.get("email"), emails[m["iam_id"]], "verbose email")
            else:
                eq(m.get("name"), "robot-0", "verbose service name")

    # -------------------------------------------------------------------------- writes

    def create_update_delete_group(self):
        response = self.ag.create_access_group(account_id=ACCOUNT, name="conformance-new",
                                               description="made by the SDK")
        eq(response.get_status_code(), 201, "create status")
        created = Group.from_dict(response.get_result())
        eq((created.name, created.description), ("conformance-new", "made by the SDK"), "created group")
        self.created_id = created.id
        expect_api_error(409, lambda: self.ag.create_access_group(account_id=ACCOUNT, name="CONFORMANCE-new"))
        expect_api_error(409, lambda: self.ag.create_access_group(account_id=ACCOUNT, name="public access"))
        etag = self.ag.get_access_group(access_group_id=created.id).get_headers()["ETag"]
        updated = self.ag.update_access_group(access_group_id=created.id, if_match=etag,
                                              description="updated by the SDK")
        eq(updated.get_status_code(), 200, "update status")
        eq(Group.from_dict(updated.get_result()).description, "updated by the SDK", "updated description")
        expect_api_error(412, lambda: self.ag.update_access_group(access_group_id=created.id, if_match=etag,
                                                                  description="stale"))
        empty = self.ag.create_access_group(account_id=ACCOUNT, name="conformance-empty").get_result()
        eq(empty["description"], "", "description defaults to empty")
        eq(self.ag.delete_access_group(access_group_id=empty["id"], force=True).get_status_code(), 204, "delete")
        expect_api_error(404, lambda: self.ag.get_access_group(access_group_id=empty["id"]))
        state = self.admin_state()
        eq(self.group_state(created.id, state)["description"], "updated by the SDK", "state after update")
        if any(g["id"] == empty["id"] for g in state["groups"]):
            raise AssertionError("deleted group still in the state")

    def add_check_and_remove_members(self):
        group = self.created_id
        users = [u["iam_id"] for u in self.state["users"][1:4]]
        service = "iam-ServiceId-00000000-0000-4000-8000-000000000002"
        items = [AddGroupMembersRequestMembersItem(iam_id=i, type="user") for i in users]
        items.append(AddGroupMembersRequestMembersItem(iam_id=service, type="service"))
        items.append(AddGroupMembersRequestMembersItem(iam_id="IBMid-NOTINACCOUNT", type="user"))
        items.append(AddGroupMembersRequestMembersItem(iam_id=users[0], type="service"))
        response = self.ag.add_members_to_access_group(access_group_id=group, members=items)
        eq(response.get_status_code(), 207, "add members status")
        result = AddGroupMembersResponse.from_dict(response.get_result())
        # An IBMid the account does not have is added, as IBM's integration tests show
        # (it_checks.py); a type that contradicts the prefix is not.
        eq([m.status_code for m in result.members], [200, 200, 200, 200, 200, 400], "per-member statuses")
        if not result.members[5].errors:
            raise AssertionError("a failed member carries errors")
        state = self.admin_state()
        eq([m["iam_id"] for m in self.group_state(group, state)["members"]],
           users + [service, "IBMid-NOTINACCOUNT"], "members in state")
        eq(self.ag.is_member_of_access_group(access_group_id=group, iam_id=users[0]).get_status_code(), 204, "HEAD")
        expect_api_error(404, lambda: self.ag.is_member_of_access_group(access_group_id=group,
                                                                        iam_id="IBMid-NOBODY0000"))
        again = self.ag.add_members_to_access_group(access_group_id=group, members=items[:1]).get_result()
        eq(again["members"][0]["status_code"], 200, "adding an existing member is idempotent")
        too_many = [AddGroupMembersRequestMembersItem(iam_id=u["iam_id"], type="user")
                    for u in self.state["users"][1:52]]
        expect_api_error(400, lambda: self.ag.add_members_to_access_group(access_group_id=group, members=too_many))
        eq(self.ag.remove_member_from_access_group(access_group_id=group, iam_id=users[2]).get_status_code(),
           204, "remove one member")
        expect_api_error(404, lambda: self.ag.remove_member_from_access_group(access_group_id=group,
                                                                              iam_id=users[2]))
        bulk = self.ag.remove_members_from_access_group(access_group_id=group, members=[users[1], users[2]])
        eq(bulk.get_status_code(), 207, "bulk delete status")
        parsed = DeleteGroupBulkMembersResponse.from_dict(bulk.get_result())
        eq(parsed.access_group_id, group, "bulk delete group id")
        eq([(m.iam_id, m.status_code) for m in parsed.members], [(users[1], 200), (users[2], 404)],
           "bulk per-member")
        expect_api_error(404, lambda: self.ag.remove_members_from_access_group(access_group_id=group,
                                                                               members=[users[2]]),
                         contains=group)
        state = self.admin_state()
        eq([m["iam_id"] for m in self.group_state(group, state)["members"]],
           [users[0], service, "IBMid-NOTINACCOUNT"], "members after removals")
        expect_api_error(404, lambda: self.ag.add_members_to_access_group(
            access_group_id="AccessGroupId-does-not-exist", members=items[:1]))
        expect_api_error(403, lambda: self.ag.add_members_to_access_group(
            access_group_id="AccessGroupId-PublicAccess", members=items[:1]))

    def all_groups_calls(self):
        target = self.state["users"][-1]["iam_id"]
        groups = [self.state["groups"][g]["id"] for g in (10, 11)] + ["AccessGroupId-does-not-exist"]
        response = self.ag.add_member_to_multiple_access_groups(account_id=ACCOUNT, iam_id=target, type="user",
                                                                groups=groups)
        eq(response.get_status_code(), 207, "add to many status")
        parsed = AddMembershipMultipleGroupsResponse.from_dict(response.get_result())
        eq([(g.access_group_id, g.status_code) for g in parsed.groups],
           list(zip(groups, [200, 200, 404])), "add to many per group")
        before = [g["id"] for g in self.admin_state()["groups"]
                  if any(m["iam_id"] == target for m in g["members"])]
        removed = self.ag.remove_member_from_all_access_groups(account_id=ACCOUNT, iam_id=target)
        eq(removed.get_status_code(), 207, "remove from all status")
        parsed = DeleteFromAllGroupsResponse.from_dict(removed.get_result())
        eq(sorted(g.access_group_id for g in parsed.groups), sorted(before), "groups left")
        expect_api_error(404, lambda: self.ag.remove_member_from_all_access_groups(account_id=ACCOUNT,
                                                                                   iam_id=target),
                         contains=target)
        state = self.admin_state()
        if any(m["iam_id"] == target for g in state["groups"] for m in g["members"]):
            raise AssertionError("member still in a group after remove-from-all")

    def invite_lifecycle(self):
        groups = [self.state["groups"][20]["id"], self.state["groups"][21]["id"]]
        response = self.um.invite_users(account_id=ACCOUNT,
                                        users=[InviteUser(email="Newcomer@Example.org", account_role="Member")],
                                        access_groups=groups)
        eq(response.get_status_code(), 202, "invite status")
        invited = InvitedUserList.from_dict(response.get_result())
        eq(len(invited.resources), 1, "one invitee")
        newcomer = invited.resources[0]
        if not newcomer.id.startswith("IBMid-"):
            raise AssertionError(f"invitee id must be an IBMid: {newcomer.id}")
        eq((newcomer.email, newcomer.state), ("Newcomer@Example.org", "PROCESSING"), "invitee")
        conflict = expect_api_error(409, lambda: self.um.invite_users(
            account_id=ACCOUNT, users=[InviteUser(email="newcomer@example.org", account_role="Member")]),
            contains="Invite request blocked : newcomer@example.org")
        body = conflict.http_response.json()
        eq(body["errors"][0]["code"], "Conflict", "409 code")
        eq(expect_more_info(conflict),
           "the following user(s) are already in processing state, please try again after one minute",
           "409 more_info (IBM's own)")
        eq(body["status_code"], 409, "409 status_code")
        profile = self.um.get_user_profile(account_id=ACCOUNT, iam_id=newcomer.id).get_result()
        eq(profile["state"], "PROCESSING", "state right after invite")
        time.sleep(1.8)
        profile = self.um.get_user_profile(account_id=ACCOUNT, iam_id=newcomer.id).get_result()
        eq(profile["state"], "PENDING", "state after --processing-ms")
        for g in groups:
            eq(self.ag.is_member_of_access_group(access_group_id=g, iam_id=newcomer.id).get_status_code(), 204,
               "invitee is in the invite's access groups")
        listed = UsersPager(client=self.um, account_id=ACCOUNT).get_all()
        eq(sum(1 for u in listed if u["iam_id"] == newcomer.id), 1, "invitee listed once")
        self.newcomer = newcomer.id
        stats = requests.get(f"{self.base}/__admin/stats", timeout=30).json()
        eq(stats["invites_by_email"].get("newcomer@example.org"), 1, "invites counted per email")

    def service_id_cannot_invite_or_remove(self):
        # Reads work with a service-ID token ...
        page = self.service_um.list_users(account_id=ACCOUNT, limit=5).get_result()
        eq(len(page["resources"]), 5, "service ID can list users")
        # ... writes to the account's users do not.
        e = expect_api_error(403, lambda: self.service_um.invite_users(
            account_id=ACCOUNT, users=[InviteUser(email="robot-invite@example.org", account_role="Member")]))
        expect_more_info(e)
        expect_api_error(403, lambda: self.service_um.remove_user(account_id=ACCOUNT, iam_id=self.newcomer))

    def remove_user_removes_memberships(self):
        eq(self.um.remove_user(account_id=ACCOUNT, iam_id=self.newcomer).get_status_code(), 204, "remove user")
        expect_api_error(404, lambda: self.um.get_user_profile(account_id=ACCOUNT, iam_id=self.newcomer))
        state = self.admin_state()
        if any(u["iam_id"] == self.newcomer for u in state["users"]):
            raise AssertionError("removed user still in the state")
        if any(m["iam_id"] == self.newcomer for g in state["groups"] for m in g["members"]):
            raise AssertionError("removed user still a group member")

    # -------------------------------------------------------------------------- errors

    def bad_api_key_gets_the_token_error_shape(self):
        client = self.access_groups(IAMAuthenticator("not-a-key", url=self.base))
        e = expect_api_error(400, lambda: client.list_access_groups(account_id=ACCOUNT),
                             contains="Provided API key could not be found")
        body = e.http_response.json()
        eq(body["errorCode"], "BXNIM0415E", "token error code")
        if "context" not in body:
            raise AssertionError("the token error carries a context")

    def expired_token_is_refused(self):
        token = requests.post(f"{self.short_ttl_base}/identity/token", timeout=30, data={
            "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": ADMIN_KEY,
            "response_type": "cloud_iam"}).json()
        eq(token["expires_in"], 1, "short ttl")
        eq(token["token_type"], "Bearer", "token type")
        time.sleep(2.2)
        client = self.access_groups(BearerTokenAuthenticator(token["access_token"]), base=self.short_ttl_base)
        e = expect_api_error(401, lambda: client.list_access_groups(account_id=ACCOUNT), contains="expired")
        body = e.http_response.json()
        eq(body["status_code"], 401, "envelope status_code")
        if not body.get("trace"):
            raise AssertionError("the envelope carries a trace")
        eq(e.http_response.headers.get("Content-Type"), "application/json", "error content type")

    def final_state_matches_sdk_view(self):
        state = self.admin_state()
        users = UsersPager(client=self.um, account_id=ACCOUNT).get_all()
        eq([u["iam_id"] for u in users], [u["iam_id"] for u in state["users"]], "final users")
        groups = AccessGroupsPager(client=self.ag, account_id=ACCOUNT, hide_public_access=True).get_all()
        eq([g["id"] for g in groups], [g["id"] for g in state["groups"]], "final groups")
        for g in state["groups"][:30]:
            members = AccessGroupMembersPager(client=self.ag, access_group_id=g["id"]).get_all()
            eq([m["iam_id"] for m in members], [m["iam_id"] for m in static_members(g)], f"final members {g['name']}")

    def run(self):
        check("users seeded PROCESSING turn PENDING after --processing-ms", self.seeded_processing_turns_pending)
        check("users pager matches the state", self.users_pager_matches_state)
        check("users pages are strict UserLists with relative next_url", self.users_pages_are_strict_user_lists)
        check("users search and get profile", self.users_search_and_get_profile)
        check("groups pager matches the state", self.groups_pager_matches_state)
        check("groups pages carry offset links", self.groups_pages_have_offset_links)
        check("get group has an ETag; unknown group 404", self.get_group_has_etag)
        check("members pager matches the state for every group", self.members_pager_matches_state_for_every_group)
        check("member pages, filters and verbose", self.member_pages_filters_and_verbose)
        check("create, duplicate, update (If-Match), delete group", self.create_update_delete_group)
        check("add, check and remove members; 51 members refused", self.add_check_and_remove_members)
        check("_allgroups add and remove", self.all_groups_calls)
        check("invite lifecycle: PROCESSING, 409, PENDING, groups", self.invite_lifecycle)
        check("service ID cannot invite or remove", self.service_id_cannot_invite_or_remove)
        check("removing a user removes their memberships", self.remove_user_removes_memberships)
        self.state = self.admin_state()
        self.access_checks(check)
        check("bad API key gets the token error shape", self.bad_api_key_gets_the_token_error_shape)
        check("expired token is refused", self.expired_token_is_refused)
        check("final state matches the SDK's view", self.final_state_matches_sdk_view)
        self.it_checks(check)


def main(argv):
    if len(argv) == 3 and argv[1] == "write-state":
        write_state(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "run":
        Conformance(argv[2], argv[3]).run()
        print(f"conformance: {len(PASSED)} passed, {len(FAILED)} failed")
        return 1 if FAILED or not PASSED else 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
