//! The rules for what a group grants (docs/config.md, access): each `access` entry → a
//! [`DesiredAccess`], one policy per target.
//!
//! What only the account can tell is left to the planner: whether an instance name names
//! exactly one instance, whether a role name that is neither built in nor declared exists
//! for the service. Everything the file alone decides is decided here: a declared role
//! used for another service, a role listed twice, two entries for one target, an entry
//! without a target, a CRN of another service or account.

use std::collections::{BTreeSet, HashMap};

use crate::model::{
    AccountId, DesiredAccess, DesiredRole, InstanceGuid, InstanceRef, PLATFORM_ROLES,
    ResourceGroupId, ResourceGroupRef, RoleName, SERVICE_ROLES, ServiceName,
};

use super::super::diagnostics::{Diagnostic, Loc};
use super::super::raw::{RawAccess, Sp};
use super::roles::{DeclaredRoles, MAX_DISPLAY_NAME_CHARS, builtin_role};
use super::{Validator, closest, first_place, text, visible};

/// IBM's limit of access policies per subject (one access group).
pub const MAX_POLICIES_PER_GROUP: usize = 1_000;

impl Validator<'_> {
    /// A group's `access` entries: each well formed, no two for one target.
    pub(super) fn access(
        &mut self,
        group: &str,
        raw: &Sp<Vec<Sp<RawAccess>>>,
        roles: &DeclaredRoles,
        account: Option<&AccountId>,
    ) -> Vec<DesiredAccess> {
        let mut out = Vec::new();
        let mut targets: HashMap<Target, Loc> = HashMap::new();
        for (i, entry) in raw.value.iter().enumerate() {
            if i == MAX_POLICIES_PER_GROUP {
                self.diags.push(
                    Diagnostic::new(
                        format!("group `{group}` has more than {MAX_POLICIES_PER_GROUP} `access` entries"),
                        entry.loc,
                        format!("entry number {}", MAX_POLICIES_PER_GROUP + 1),
                    )
                    .hint(format!(
                        "IBM Cloud allows at most {MAX_POLICIES_PER_GROUP} access policies per access group"
                    )),
                );
            }
            let context = format!("`access` entry {} of group `{group}`", i + 1);
            let Some(access) = self.access_entry(&context, entry, roles, account) else {
                continue;
            };
            let target = Target::of(&access);
            if let Some(first) = first_place(&mut targets, target.clone(), entry.loc) {
                self.diags.push(
                    Diagnostic::duplicate(
                        format!("group `{group}` has two `access` entries for {}", target.describe()),
                        (first, "first entry for this target".to_string()),
                        (entry.loc, "same target again".to_string()),
                    )
                    .hint("one entry is one policy per target (service, instance, resource group); merge their roles into one entry"),
                );
                continue;
            }
            out.push(access);
        }
        out
    }

    fn access_entry(
        &mut self,
        context: &str,
        entry: &Sp<RawAccess>,
        roles: &DeclaredRoles,
        account: Option<&AccountId>,
    ) -> Option<DesiredAccess> {
        let raw = &entry.value;
        if raw.service.is_none() && raw.resource_group.is_none() {
            self.diags.push(
                Diagnostic::new(
                    format!("{context} names neither a `service` nor a `resource_group`"),
                    entry.loc,
                    "no target",
                )
                .hint("say what the roles are granted on: `service: quantum-computing` (with `instance:` for one instance), or `resource_group: Default`"),
            );
        }
        let service = raw.service.as_ref().and_then(|s| self.service(s, context));
        let instance = raw.instance.as_ref().and_then(|i| match &raw.service {
            None => {
                self.diags.push(
                    Diagnostic::new(
                        format!("`instance` in {context} needs a `service`"),
                        i.loc,
                        "instance of which service?",
                    )
                    .hint("add the instance's service, e.g. `service: quantum-computing`"),
                );
                None
            }
            Some(s) => self.instance(context, i, &s.value, account),
        });
        let resource_group = raw
            .resource_group
            .as_ref()
            .and_then(|r| self.resource_group(context, r));
        let granted = self.access_roles(context, &raw.roles, service.as_ref(), roles);
        let target_ok = (raw.service.is_none() || service.is_some())
            && (raw.instance.is_none() || instance.is_some())
            && (raw.resource_group.is_none() || resource_group.is_some())
            && (service.is_some() || resource_group.is_some());
        target_ok.then_some(DesiredAccess {
            service,
            instance,
            resource_group,
            roles: granted,
        })
    }

    /// An instance by CRN (its service segment must be the entry's service), by GUID, or
    /// by name.
    fn instance(
        &mut self,
        context: &str,
        raw: &Sp<String>,
        service: &str,
        account: Option<&AccountId>,
    ) -> Option<InstanceRef> {
        let value = raw.value.as_str();
        if value.starts_with("crn:") {
            return match crn_problem(value, service, account) {
                None => Some(InstanceRef::Crn(value.to_string())),
                Some((problem, hint)) => {
                    self.diags.push(
                        Diagnostic::new(
                            format!("the `instance` CRN in {context} {problem}"),
                            raw.loc,
                            "not an instance of this service",
                        )
                        .hint(hint),
                    );
                    None
                }
            };
        }
        if is_guid(value) {
            return Some(InstanceRef::Guid(InstanceGuid::new(
                value.to_ascii_lowercase(),
            )));
        }
        self.plain_name(context, "instance", raw)
            .map(InstanceRef::Name)
    }

    fn resource_group(&mut self, context: &str, raw: &Sp<String>) -> Option<ResourceGroupRef> {
        let value = raw.value.as_str();
        if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(ResourceGroupRef::Id(ResourceGroupId::new(
                value.to_ascii_lowercase(),
            )));
        }
        self.plain_name(context, "resource_group", raw)
            .map(ResourceGroupRef::Name)
    }

    /// A name of something in the account (an instance, a resource group): any text, but
    /// without odd spaces or invisible characters.
    fn plain_name(&mut self, context: &str, key: &str, raw: &Sp<String>) -> Option<String> {
        let Some(problem) = text::name_problem(&raw.value) else {
            return Some(raw.value.clone());
        };
        let (at, label) = match text::first_odd_char(&raw.value, false) {
            Some((i, c)) => (
                text::char_loc(raw.loc, &raw.value, i),
                format!("{} here", text::describe_char(c)),
            ),
            None => (raw.loc, problem.to_string()),
        };
        self.diags.push(
            Diagnostic::new(
                format!("`{key}: {}` in {context} {problem}", visible(&raw.value)),
                at,
                label,
            )
            .hint("write the name exactly as the account shows it, with single ordinary spaces"),
        );
        None
    }

    /// The roles of one entry: at least one, none twice, each a role this entry's service
    /// can have.
    fn access_roles(
        &mut self,
        context: &str,
        raw: &Sp<Vec<Sp<String>>>,
        service: Option<&ServiceName>,
        declared: &DeclaredRoles,
    ) -> BTreeSet<RoleName> {
        if raw.loc.pos.is_some() && raw.value.is_empty() {
            self.diags.push(
                Diagnostic::new(format!("{context} grants no roles"), raw.loc, "empty list")
                    .hint("list at least one role, e.g. `roles: [Viewer]`; to grant nothing, remove the entry"),
            );
        }
        let mut out = BTreeSet::new();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        for role in &raw.value {
            if let Some(first) = first_place(&mut seen, role.value.clone(), role.loc) {
                self.diags.push(
                    Diagnostic::twice(
                        format!("role `{}` is listed twice in {context}", role.value),
                        role.loc,
                        first,
                        "listed",
                    )
                    .hint("remove one of them"),
                );
                continue;
            }
            if self.role_ref(context, role, service, declared) {
                out.insert(RoleName::new(role.value.clone()));
            }
        }
        out
    }

    /// Whether a role named in `access` can be granted by this entry. Built-in roles can;
    /// a declared role only for its own service; another name only when it could be a
    /// role of the account (the planner then looks it up; docs/config.md explains the
    /// shape accepted).
    fn role_ref(
        &mut self,
        context: &str,
        role: &Sp<String>,
        service: Option<&ServiceName>,
        declared: &DeclaredRoles,
    ) -> bool {
        let name = role.value.as_str();
        if builtin_role(name, true).is_some() {
            return true;
        }
        if let Some((custom, at)) = declared.get(&name.to_lowercase()) {
            if custom.name.as_str() != name {
                return self.role_spelling(context, role, custom.name.as_str());
            }
            return self.custom_role_service(context, role, custom, *at, service);
        }
        if let Some(builtin) = builtin_role(name, false) {
            return self.role_spelling(context, role, builtin);
        }
        let Some(problem) = undeclared_role_problem(name) else {
            return true;
        };
        let known = PLATFORM_ROLES
            .iter()
            .chain(&SERVICE_ROLES)
            .copied()
            .chain(declared.values().map(|(r, _)| r.name.as_str()));
        let hint = match closest(name, known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "a role is a platform role (Viewer, Operator, Editor, Administrator), a \
                     service role (Reader, Writer, Manager) or a custom role of the service, \
                     by its name"
                .to_string(),
        };
        self.diags.push(
            Diagnostic::new(
                format!("`{}` in {context} is not a role name", visible(name)),
                role.loc,
                problem,
            )
            .hint(hint),
        );
        false
    }

    /// A role written with another case than its name: IBM compares role names exactly.
    fn role_spelling(&mut self, context: &str, role: &Sp<String>, name: &str) -> bool {
        self.diags.push(
            Diagnostic::new(
                format!("unknown role `{}` in {context}", role.value),
                role.loc,
                "role names are compared exactly",
            )
            .hint(format!("did you mean `{name}`?")),
        );
        false
    }

    fn custom_role_service(
        &mut self,
        context: &str,
        role: &Sp<String>,
        custom: &DesiredRole,
        declared_at: Loc,
        service: Option<&ServiceName>,
    ) -> bool {
        if service == Some(&custom.service) {
            return true;
        }
        let (message, hint) = match service {
            Some(other) => (
                format!(
                    "custom role `{}` is a role of `{}`, but {context} grants on `{other}`",
                    custom.name, custom.service
                ),
                format!(
                    "a custom role bundles one service's actions; grant it in an entry with `service: {}`, or declare a role for `{other}`",
                    custom.service
                ),
            ),
            None => (
                format!(
                    "custom role `{}` is a role of `{}`, but {context} has no `service`",
                    custom.name, custom.service
                ),
                format!(
                    "add `service: {}` to the entry, or grant only platform roles on a resource group itself",
                    custom.service
                ),
            ),
        };
        self.diags.push(
            Diagnostic::new(message, role.loc, "role of another service")
                .also(declared_at, format!("`{}` declared here", custom.name))
                .hint(hint),
        );
        false
    }
}

/// The target of an entry as written, for finding two entries with one target. An
/// instance named by CRN is the instance of the CRN's GUID, so a CRN and that GUID are one
/// target; names are compared exactly, as IBM does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Target {
    service: Option<String>,
    instance: Option<(bool, String)>,
    resource_group: Option<(bool, String)>,
}

impl Target {
    fn of(access: &DesiredAccess) -> Target {
        Target {
            service: access.service.as_ref().map(|s| s.as_str().to_string()),
            instance: access.instance.as_ref().map(|i| match i {
                InstanceRef::Name(name) => (false, name.clone()),
                InstanceRef::Guid(guid) => (true, guid.as_str().to_string()),
                InstanceRef::Crn(crn) => (true, crn_guid(crn).to_ascii_lowercase()),
            }),
            resource_group: access.resource_group.as_ref().map(|r| match r {
                ResourceGroupRef::Name(name) => (false, name.clone()),
                ResourceGroupRef::Id(id) => (true, id.as_str().to_string()),
            }),
        }
    }

    /// As the plan would say it: `quantum-computing instance QR-ml`.
    fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(service) = &self.service {
            text.push_str(&format!("`{service}`"));
        }
        if let Some((_, instance)) = &self.instance {
            text.push_str(&format!(" instance `{instance}`"));
        }
        if let Some((_, rg)) = &self.resource_group {
            let join = if text.is_empty() { "" } else { " in " };
            text.push_str(&format!("{join}resource group `{rg}`"));
        }
        text
    }
}

/// Why a role name that is neither built in nor declared cannot be one of the account's
/// roles. Custom role names are a capital letter then letters or digits; service-specific
/// roles (Cloud Object Storage's `Content Reader`) are display names of words: so a name
/// is a capital letter, then letters, digits and single spaces, at most 50 characters.
fn undeclared_role_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        Some("does not start with a capital letter")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        Some("has characters other than letters, digits and spaces")
    } else if name.contains("  ") || name.ends_with(' ') {
        Some("has a space at the end or two in a row")
    } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        Some("is longer than 50 characters")
    } else {
        None
    }
}

/// `8-4-4-4-12` hexadecimal digits: a service instance's GUID.
fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The GUID segment (the eighth) of a CRN, or "" when it has none.
fn crn_guid(crn: &str) -> &str {
    crn.split(':').nth(7).unwrap_or("")
}

/// Why `crn` is not the CRN of an instance of `service` in `account`, with a hint.
/// A CRN is `crn:v1:<cloud>:<type>:<service>:<location>:<scope>:<instance>:<type>:<resource>`.
fn crn_problem(crn: &str, service: &str, account: Option<&AccountId>) -> Option<(String, String)> {
    let parts: Vec<&str> = crn.split(':').collect();
    let example = format!("crn:v1:bluemix:public:{service}:us-east:a/<account-id>:<guid>::");
    if parts.len() != 10 || parts[1] != "v1" {
        return Some((
            format!(
                "is not a CRN (a CRN has 10 `:`-separated parts, `crn:v1:…`; this has {})",
                parts.len()
            ),
            format!(
                "copy the instance's CRN from the console, e.g. `{example}`, or name the instance by GUID or name"
            ),
        ));
    }
    if parts[4] != service {
        return Some((
            format!("names the service `{}`, not `{service}`", parts[4]),
            format!(
                "use an instance of `{service}`, or set `service: {}`",
                parts[4]
            ),
        ));
    }
    if parts[7].is_empty() {
        return Some((
            "names no instance (its eighth part, the GUID, is empty)".to_string(),
            format!(
                "an instance's CRN looks like `{example}`; to grant on every instance, leave `instance` out"
            ),
        ));
    }
    if !parts[8].is_empty() || !parts[9].is_empty() {
        return Some((
            format!(
                "names `{}:{}` inside an instance, not the instance",
                parts[8], parts[9]
            ),
            "an `access` entry grants on a whole instance: drop the last two parts of the CRN"
                .to_string(),
        ));
    }
    if let (Some(scope), Some(account)) = (parts[6].strip_prefix("a/"), account)
        && scope != account.as_str()
    {
        return Some((
            format!("is in account `{scope}`, not in `{account}` that this file governs"),
            "a policy can grant only on instances of its own account".to_string(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_crns() {
        assert!(is_guid("0b2c7b1e-6f0d-4b8e-9a11-3f2a1c0d9e8f"));
        assert!(!is_guid("QR-ml"));
        assert!(!is_guid("0b2c7b1e-6f0d-4b8e-9a11-3f2a1c0d9e8"));
        let account = AccountId::new("0123456789abcdef0123456789abcdef");
        let crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/0123456789abcdef0123456789abcdef:0b2c7b1e-6f0d-4b8e-9a11-3f2a1c0d9e8f::";
        assert_eq!(crn_problem(crn, "quantum-computing", Some(&account)), None);
        assert_eq!(crn_guid(crn), "0b2c7b1e-6f0d-4b8e-9a11-3f2a1c0d9e8f");
        let problem =
            |crn: &str| crn_problem(crn, "quantum-computing", Some(&account)).map(|p| p.0);
        assert_eq!(
            crn_problem(crn, "cloud-object-storage", None).map(|p| p.0),
            Some("names the service `quantum-computing`, not `cloud-object-storage`".to_string())
        );
        assert!(problem("crn:v1:bluemix").is_some_and(|p| p.contains("has 3")));
        assert!(
            problem(&crn.replace("0b2c7b1e-6f0d-4b8e-9a11-3f2a1c0d9e8f", ""))
                .is_some_and(|p| p.contains("no instance"))
        );
        assert!(
            problem(&format!("{}bucket:b1", &crn[..crn.len() - 1]))
                .is_some_and(|p| p.contains("inside an instance"))
        );
        assert!(
            problem(&crn.replace("a/0123", "a/ffff")).is_some_and(|p| p.contains("is in account"))
        );
    }

    #[test]
    fn undeclared_role_names_that_could_exist() {
        assert_eq!(undeclared_role_problem("JobManager"), None);
        assert_eq!(undeclared_role_problem("Content Reader"), None);
        assert!(undeclared_role_problem("jobManager").is_some());
        assert!(undeclared_role_problem("Job-Manager").is_some());
        assert!(undeclared_role_problem("Content  Reader").is_some());
        assert!(undeclared_role_problem(&format!("A{}", "b".repeat(50))).is_some());
        assert_eq!(builtin_role("reader", false), Some("Reader"));
        assert_eq!(builtin_role("reader", true), None);
    }
}
