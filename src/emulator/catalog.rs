//! What IAM knows before any account exists: the services, their actions, the platform
//! (system) roles and service roles, and the CRNs that name them (docs/ibm-api.md, Roles).
//!
//! Both the state file's validation and the store resolve roles through this one table,
//! so a policy that loads from a file is a policy the API would have accepted. The only
//! built-in service is `quantum-computing` (IBM Quantum's Qiskit Runtime), with the actions
//! IBM's Quantum documentation lists; any other service a state file names (by an
//! instance, a custom role or a policy) is known too, with every `<service>.…` action
//! accepted and no catalog of its own.

/// The service IBM Quantum's examples use, with its catalog below.
pub const QUANTUM: &str = "quantum-computing";

/// IAM's own services, which every account has: Access Groups (`iam-groups`, whose custom
/// role IBM's Policy Management integration tests create) and IAM Identity
/// (`iam-identity`, whose ServiceIdCreator role the IAM service group lists). Like the
/// services a state file names, they accept every `<service>.…` action.
pub const IAM_SERVICES: [&str; 2] = ["iam-groups", "iam-identity"];

/// The pseudo-service Terraform asks for when it needs the service roles of every
/// IAM-enabled service.
pub const ALL_IAM_SERVICE_ROLES: &str = "alliamserviceroles";

/// The one service group the emulator knows (`service_group_id=IAM`).
pub const IAM_SERVICE_GROUP: &str = "IAM";

/// The role of a v1 placeholder (the v1 view of a v2 policy).
pub const UNSUPPORTED_ROLE: &str = "crn:v1:bluemix:public:iam::::role:UnsupportedVersion";

/// A built-in role: its CRN, display name and IBM's English description.
pub struct BuiltinRole {
    pub crn: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
}

/// The platform roles, returned as `system_roles`; descriptions verbatim from a real v1
/// response (docs/ibm-api.md).
pub const SYSTEM_ROLES: [BuiltinRole; 4] = [
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::role:Viewer",
        display_name: "Viewer",
        description: "As a viewer, you can view service instances, but you can't modify them.",
    },
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::role:Operator",
        display_name: "Operator",
        description: "As an operator, you can perform platform actions required to configure and operate service instances, such as viewing a service's dashboard.",
    },
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::role:Editor",
        display_name: "Editor",
        description: "As an editor, you can perform all platform actions except for managing the account and assigning access policies.",
    },
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::role:Administrator",
        display_name: "Administrator",
        description: "As an administrator, you can perform all platform actions based on the resource this role is being assigned, including assigning access policies to other users.",
    },
];

/// The service roles every IAM-enabled service has, returned as `service_roles`.
pub const SERVICE_ROLES: [BuiltinRole; 3] = [
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::serviceRole:Reader",
        display_name: "Reader",
        description: "As a reader, you can perform read-only actions within a service such as viewing service-specific resources.",
    },
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::serviceRole:Writer",
        display_name: "Writer",
        description: "As a writer, you have permissions beyond the reader role, including creating and editing service-specific resources.",
    },
    BuiltinRole {
        crn: "crn:v1:bluemix:public:iam::::serviceRole:Manager",
        display_name: "Manager",
        description: "As a manager, you have permissions beyond the writer role to complete privileged actions as defined by the service. In addition, you can create and edit service-specific resources.",
    },
];

/// A service-specific role of the IAM service group (IBM's integration test asserts it
/// under `service_group_id=IAM`).
pub const IAM_GROUP_ROLES: [BuiltinRole; 1] = [BuiltinRole {
    crn: "crn:v1:bluemix:public:iam-identity::::serviceRole:ServiceIdCreator",
    display_name: "Service ID creator",
    description: "As a service ID creator, you can create service IDs in the account.",
}];

/// `quantum-computing`'s actions and their display names: the first eighteen from IBM
/// Quantum's documentation (custom-role recipe, role comparison and REST permission
/// table), the last two (`instance.update`, `instance.delete`) the emulator's stand-ins
/// for the platform roles' instance management. `GET /v2/roles` on IBM is authoritative
/// (docs/ibm-api.md, Roles).
pub const QUANTUM_ACTIONS: [(&str, &str); 20] = [
    (
        "quantum-computing.account-analytics-usage.read",
        "Read account analytics usage",
    ),
    ("quantum-computing.device.read", "Read devices"),
    (
        "quantum-computing.direct-access-backend-properties.read",
        "Read backend properties",
    ),
    (
        "quantum-computing.instance-usage.read",
        "Read instance usage",
    ),
    ("quantum-computing.instance.read", "Read instance"),
    ("quantum-computing.job.cancel", "Cancel jobs"),
    ("quantum-computing.job.create", "Create jobs"),
    ("quantum-computing.job.delete", "Delete jobs"),
    ("quantum-computing.job.read", "Read jobs"),
    ("quantum-computing.program.create", "Create programs"),
    ("quantum-computing.program.delete", "Delete programs"),
    ("quantum-computing.program.read", "Read programs"),
    ("quantum-computing.program.update", "Update programs"),
    ("quantum-computing.session.create", "Create sessions"),
    ("quantum-computing.session.read", "Read sessions"),
    ("quantum-computing.session.update", "Update sessions"),
    ("quantum-computing.user.logout", "Log out"),
    ("quantum-computing.workload.list", "List workloads"),
    ("quantum-computing.instance.update", "Update instance"),
    ("quantum-computing.instance.delete", "Delete instance"),
];

/// Which `quantum-computing` actions a built-in role grants. The split follows IBM
/// Quantum's role comparison (`job.delete` is Manager only; `job.create`, `job.cancel`,
/// `session.create` need Writer); the platform roles' instance actions are the
/// emulator's inference.
fn quantum_role_actions(display_name: &str) -> Vec<&'static str> {
    const READER: [&str; 9] = [
        "quantum-computing.device.read",
        "quantum-computing.direct-access-backend-properties.read",
        "quantum-computing.instance-usage.read",
        "quantum-computing.instance.read",
        "quantum-computing.job.read",
        "quantum-computing.program.read",
        "quantum-computing.session.read",
        "quantum-computing.user.logout",
        "quantum-computing.workload.list",
    ];
    const WRITER: [&str; 7] = [
        "quantum-computing.account-analytics-usage.read",
        "quantum-computing.job.cancel",
        "quantum-computing.job.create",
        "quantum-computing.program.create",
        "quantum-computing.program.update",
        "quantum-computing.session.create",
        "quantum-computing.session.update",
    ];
    const MANAGER: [&str; 2] = [
        "quantum-computing.job.delete",
        "quantum-computing.program.delete",
    ];
    let mut out: Vec<&'static str> = Vec::new();
    match display_name {
        "Reader" => out.extend(READER),
        "Writer" => out.extend(READER.iter().chain(WRITER.iter())),
        "Manager" => out.extend(READER.iter().chain(WRITER.iter()).chain(MANAGER.iter())),
        "Viewer" | "Operator" => out.push("quantum-computing.instance.read"),
        "Editor" => out.extend([
            "quantum-computing.instance.read",
            "quantum-computing.instance.update",
        ]),
        "Administrator" => out.extend([
            "quantum-computing.instance.read",
            "quantum-computing.instance.update",
            "quantum-computing.instance.delete",
        ]),
        _ => {}
    }
    out.sort_unstable();
    out
}

/// The actions a built-in role grants on `service` (none for services without a catalog).
pub fn role_actions(service: Option<&str>, display_name: &str) -> Vec<String> {
    match service {
        Some(QUANTUM) => quantum_role_actions(display_name)
            .into_iter()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The display name of an action, for `format=display`: the catalog's, else derived from
/// the action's id (`svc.object.verb` → `Verb object`).
pub fn action_display_name(action: &str) -> String {
    if let Some((_, name)) = QUANTUM_ACTIONS.iter().find(|(id, _)| *id == action) {
        return (*name).to_string();
    }
    let mut parts = action.rsplitn(2, '.');
    let verb = parts.next().unwrap_or(action);
    let object = parts
        .next()
        .and_then(|rest| rest.split_once('.').map(|(_, o)| o))
        .unwrap_or("");
    let mut verb = verb.to_string();
    if let Some(first) = verb.get(0..1) {
        verb = format!("{}{}", first.to_uppercase(), &verb[1..]);
    }
    format!("{verb} {object}").trim().to_string()
}

/// Whether `action` may be part of a custom role of `service`: one of the catalog's for
/// a service that has one, else any `<service>.<something>`.
pub fn is_action_of(service: &str, action: &str) -> bool {
    if service == QUANTUM {
        return QUANTUM_ACTIONS.iter().any(|(id, _)| *id == action);
    }
    action
        .strip_prefix(service)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('.') && !rest.ends_with('.'))
}

/// A built-in role (system or service) by CRN.
pub fn builtin_by_crn(crn: &str) -> Option<&'static BuiltinRole> {
    SYSTEM_ROLES
        .iter()
        .chain(SERVICE_ROLES.iter())
        .chain(IAM_GROUP_ROLES.iter())
        .find(|r| r.crn == crn)
}

/// A built-in role by the display name a hand-written state file may use (`Viewer`,
/// `Reader`, ...).
pub fn builtin_by_name(name: &str) -> Option<&'static BuiltinRole> {
    SYSTEM_ROLES
        .iter()
        .chain(SERVICE_ROLES.iter())
        .find(|r| r.display_name == name)
}

pub fn is_system_role(crn: &str) -> bool {
    SYSTEM_ROLES.iter().any(|r| r.crn == crn)
}

pub fn is_service_role(crn: &str) -> bool {
    SERVICE_ROLES.iter().any(|r| r.crn == crn)
}

/// The CRN of an account's custom role.
pub fn custom_role_crn(account_id: &str, name: &str) -> String {
    format!("crn:v1:ibmcloud:public:iam-access-management::a/{account_id}::customRole:{name}")
}

/// IBM's rule for custom role names: a capital letter, then letters or digits, at most 30.
pub fn is_custom_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && name.len() <= 30
        && chars.all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_actions() {
        assert!(is_custom_role_name("JobManager"));
        assert!(is_custom_role_name("A"));
        assert!(!is_custom_role_name("jobManager"));
        assert!(!is_custom_role_name("Job-Manager"));
        assert!(!is_custom_role_name(&format!("A{}", "b".repeat(30))));
        assert!(is_action_of(QUANTUM, "quantum-computing.job.delete"));
        assert!(!is_action_of(QUANTUM, "quantum-computing.job.fly"));
        assert!(is_action_of("iam-groups", "iam-groups.groups.read"));
        assert!(!is_action_of("iam-groups", "iam-groupsx.read"));
        assert!(!is_action_of("iam-groups", "iam-groups."));
        let manager = role_actions(Some(QUANTUM), "Manager");
        assert!(manager.contains(&"quantum-computing.job.delete".to_string()));
        assert!(
            !role_actions(Some(QUANTUM), "Writer")
                .contains(&"quantum-computing.job.delete".to_string())
        );
        assert_eq!(action_display_name("iam-groups.groups.read"), "Read groups");
        assert_eq!(
            action_display_name("quantum-computing.job.delete"),
            "Delete jobs"
        );
    }
}
