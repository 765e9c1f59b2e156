//! The rules for custom roles (docs/config.md, roles): `roles:` of every file →
//! [`DesiredRole`]s, each with a name IBM accepts, its service, a display name and a set of
//! the service's actions; declared once, ignoring case.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{DesiredRole, PLATFORM_ROLES, RoleName, SERVICE_ROLES, ServiceName};

use super::super::diagnostics::{Diagnostic, Loc};
use super::super::raw::{RawRole, Sp};
use super::{MAX_DESCRIPTION_CHARS, Validator, first_place, text, visible};

/// IBM's limit of custom roles per account.
pub const MAX_CUSTOM_ROLES: usize = 40;
/// IBM's limits on a custom role's name and display name.
const MAX_ROLE_NAME_CHARS: usize = 30;
pub(super) const MAX_DISPLAY_NAME_CHARS: usize = 50;

/// Declared custom roles by lower-cased name, with where each name was written.
pub(in crate::config) type DeclaredRoles = BTreeMap<String, (DesiredRole, Loc)>;

impl Validator<'_> {
    /// The custom roles of the main file and the included files, in that order.
    pub(super) fn roles<'r>(
        &mut self,
        entries: impl Iterator<Item = &'r (Sp<String>, RawRole)>,
    ) -> DeclaredRoles {
        let mut out = DeclaredRoles::new();
        for (count, (name, raw)) in entries.enumerate() {
            if count == MAX_CUSTOM_ROLES {
                self.diags.push(
                    Diagnostic::new(
                        format!("more than {MAX_CUSTOM_ROLES} custom roles are declared"),
                        name.loc,
                        format!("role number {}", MAX_CUSTOM_ROLES + 1),
                    )
                    .hint(format!(
                        "IBM Cloud allows at most {MAX_CUSTOM_ROLES} custom roles in an account"
                    )),
                );
            }
            let name_ok = self.role_name(name);
            let role = self.role(name, raw);
            let key = name.value.to_lowercase();
            if let Some((first, first_loc)) = out.get(&key) {
                self.diags.push(
                    Diagnostic::duplicate(
                        format!("role `{}` is declared twice", name.value),
                        (*first_loc, format!("`{}` first declared here", first.name)),
                        (name.loc, "declared again here".to_string()),
                    )
                    .hint("role names are compared ignoring case; keep one of them"),
                );
                continue;
            }
            if let (true, Some(role)) = (name_ok, role) {
                out.insert(key, (role, name.loc));
            }
        }
        out
    }

    /// IBM's rule for a custom role's name: a capital letter, then up to 29 letters or
    /// digits; and not the name of a built-in role.
    fn role_name(&mut self, name: &Sp<String>) -> bool {
        let value = &name.value;
        let problem = if value.is_empty() {
            Some("is empty".to_string())
        } else if !value.starts_with(|c: char| c.is_ascii_uppercase()) {
            Some("does not start with a capital letter (A-Z)".to_string())
        } else if let Some(c) = value.chars().find(|c| !c.is_ascii_alphanumeric()) {
            Some(format!(
                "contains {}; only letters and digits are allowed",
                describe_or_quote(c)
            ))
        } else if value.chars().count() > MAX_ROLE_NAME_CHARS {
            Some(format!(
                "is {} characters long (at most {MAX_ROLE_NAME_CHARS})",
                value.chars().count()
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.diags.push(
                Diagnostic::new(
                    format!("custom role name `{}` {problem}", visible(value)),
                    name.loc,
                    "not a name IBM accepts",
                )
                .hint("IBM requires a custom role's name to be a capital letter followed by up to 29 letters or digits, e.g. `JobManager`; `display_name` is the free-text name"),
            );
            return false;
        }
        if let Some(builtin) = builtin_role(value, false) {
            self.diags.push(
                Diagnostic::new(
                    format!("`{builtin}` is one of IBM's built-in roles, not a custom role"),
                    name.loc,
                    "built-in role",
                )
                .hint(
                    "use it in `access` without declaring it, or give the custom role another name",
                ),
            );
            return false;
        }
        true
    }

    /// A declared role's fields. `None` when its service or display name could not be read.
    fn role(&mut self, name: &Sp<String>, raw: &RawRole) -> Option<DesiredRole> {
        let context = format!("role `{}`", name.value);
        let service = raw
            .service
            .loc
            .pos
            .and_then(|_| self.service(&raw.service, &context));
        let display_name = self.display_name(&context, &raw.display_name);
        let description = raw
            .description
            .as_ref()
            .and_then(|d| self.role_description(&context, d).then(|| d.value.clone()));
        let actions = match &service {
            Some(service) => self.actions(&context, service, &raw.actions),
            None => BTreeSet::new(),
        };
        Some(DesiredRole {
            name: RoleName::new(name.value.clone()),
            service: service?,
            display_name: display_name?,
            description,
            actions,
        })
    }

    fn display_name(&mut self, context: &str, raw: &Sp<String>) -> Option<String> {
        raw.loc.pos?;
        let chars = raw.value.chars().count();
        let problem = match text::name_problem(&raw.value) {
            Some(problem) => Some(problem.to_string()),
            None if chars > MAX_DISPLAY_NAME_CHARS => Some(format!(
                "is {chars} characters long (at most {MAX_DISPLAY_NAME_CHARS})"
            )),
            None => None,
        };
        if let Some(problem) = problem {
            self.diags.push(
                Diagnostic::new(
                    format!("the `display_name` of {context} {problem}"),
                    raw.loc,
                    "not a display name IBM accepts",
                )
                .hint(format!(
                    "a display name is 1 to {MAX_DISPLAY_NAME_CHARS} characters, single spaces between words"
                )),
            );
            return None;
        }
        Some(raw.value.clone())
    }

    fn role_description(&mut self, context: &str, raw: &Sp<String>) -> bool {
        let chars = raw.value.chars().count();
        let problem = if raw.value.trim().is_empty() {
            "is empty".to_string()
        } else if chars > MAX_DESCRIPTION_CHARS {
            format!("is {chars} characters long (at most {MAX_DESCRIPTION_CHARS})")
        } else {
            return true;
        };
        self.diags.push(
            Diagnostic::new(
                format!("the `description` of {context} {problem}"),
                raw.loc,
                "not a description IBM accepts",
            )
            .hint(format!(
                "IBM allows 1 to {MAX_DESCRIPTION_CHARS} characters; leave `description` out to leave the live one alone"
            )),
        );
        false
    }

    /// A role's actions: at least one, none twice, each `<service>.<something>`.
    fn actions(
        &mut self,
        context: &str,
        service: &ServiceName,
        raw: &Sp<Vec<Sp<String>>>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if raw.loc.pos.is_some() && raw.value.is_empty() {
            self.diags.push(
                Diagnostic::new(format!("{context} has no actions"), raw.loc, "empty list").hint(
                    format!("list what the role allows, e.g. `actions: [{service}.job.read]`"),
                ),
            );
        }
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let prefix = format!("{service}.");
        for action in &raw.value {
            let value = action.value.as_str();
            if let Some(first) = first_place(&mut seen, value.to_string(), action.loc) {
                self.diags.push(
                    Diagnostic::twice(
                        format!("action `{value}` is listed twice in {context}"),
                        action.loc,
                        first,
                        "listed",
                    )
                    .hint("remove one of them"),
                );
                continue;
            }
            let well_formed = value.len() > prefix.len()
                && value.starts_with(&prefix)
                && value.chars().all(|c| c.is_ascii_graphic());
            if !well_formed {
                self.diags.push(
                    Diagnostic::new(
                        format!("`{}` is not an action of `{service}`", visible(value)),
                        action.loc,
                        format!("expected `{prefix}…`"),
                    )
                    .hint(format!(
                        "a custom role bundles actions of its own service: each is `{prefix}<resource>.<operation>`, e.g. `{prefix}job.read`"
                    )),
                );
                continue;
            }
            out.insert(value.to_string());
        }
        out
    }

    /// An IAM service name: lower-case letters, digits, `-`, `_` and `.`.
    pub(super) fn service(&mut self, raw: &Sp<String>, context: &str) -> Option<ServiceName> {
        let value = raw.value.as_str();
        let ok = value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && value.len() <= 100
            && value.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
            });
        if ok {
            return Some(ServiceName::new(value));
        }
        let hint = if value.chars().any(|c| c.is_ascii_uppercase()) {
            format!(
                "service names are lower case: `{}`",
                value.to_ascii_lowercase()
            )
        } else {
            "write the service's IAM name, e.g. `quantum-computing` or `cloud-object-storage`"
                .to_string()
        };
        self.diags.push(
            Diagnostic::new(
                format!(
                    "`{}` in {context} is not an IAM service name",
                    visible(value)
                ),
                raw.loc,
                "expected lower-case letters, digits and `-`",
            )
            .hint(hint),
        );
        None
    }
}

/// A built-in role named `name`: exactly, or (with `exact` false) ignoring case.
pub(super) fn builtin_role(name: &str, exact: bool) -> Option<&'static str> {
    PLATFORM_ROLES
        .iter()
        .chain(&SERVICE_ROLES)
        .find(|r| {
            if exact {
                **r == name
            } else {
                r.eq_ignore_ascii_case(name)
            }
        })
        .copied()
}

fn describe_or_quote(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else if c == ' ' {
        "a space".to_string()
    } else {
        text::describe_char(c)
    }
}
