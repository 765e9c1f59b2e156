//! The walk for what groups grant: `roles` (custom roles), `groups.NAME.access` (access
//! policies) and `groups.NAME.rules` (dynamic rules), with the same reporting as the rest
//! of the file (docs/config.md, roles, access and rules).

use super::super::diagnostics::Diagnostic;
use super::super::yaml::{Node, Value};
use super::read::Reader;
use super::{
    ACCESS_KEYS, CONDITION_KEYS, Entries, ROLE_KEYS, RULE_KEYS, RawAccess, RawCondition, RawRole,
    RawRule, Sp,
};

const ACCESS_EXAMPLE: &str = "`- {service: quantum-computing, instance: QR-ml, roles: [Reader]}`";
const RULE_EXAMPLE: &str = "`- {name: ml-project, realm: https://…, conditions: [{claim: project, operator: CONTAINS, value: ml}]}`";
const CONDITION_EXAMPLE: &str = "`{claim: project, operator: CONTAINS, value: ml}`";

impl Reader<'_> {
    pub(super) fn roles(&mut self, node: &Node) -> Entries<RawRole> {
        self.entries(
            node,
            "`roles`",
            "`roles: {JobManager: {service: quantum-computing, display_name: Job manager, actions: [quantum-computing.job.cancel]}}`",
            |r, name, v| r.role(name, v),
        )
    }

    fn role(&mut self, name: &Sp<String>, node: &Node) -> Option<RawRole> {
        let context = format!("role `{}`", name.value);
        let example = format!(
            "`{}: {{service: quantum-computing, display_name: Job manager, actions: [quantum-computing.job.read]}}`",
            name.value
        );
        let required = &["service", "display_name", "actions"];
        // A value of the wrong shape still yields the entry, so that its name is checked too.
        let Some(fields) = self.entry_fields(node, &context, &example, ROLE_KEYS, required) else {
            return Some(RawRole::default());
        };
        let mut role = RawRole::default();
        match fields.get("service") {
            Some(n) => {
                role.service = self
                    .string(n, "`service`", "`service: quantum-computing`")
                    .unwrap_or_default();
            }
            None => self.missing(
                &fields,
                name.loc,
                "service",
                &context,
                "`service: quantum-computing`",
            ),
        }
        match fields.get("display_name") {
            Some(n) => {
                role.display_name = self
                    .string(n, "`display_name`", "`display_name: Job manager`")
                    .unwrap_or_default();
            }
            None => self.missing(
                &fields,
                name.loc,
                "display_name",
                &context,
                "`display_name: Job manager`",
            ),
        }
        role.description = fields
            .given("description")
            .and_then(|n| self.string(n, "`description`", "`description: Run and cancel jobs`"));
        match fields.get("actions") {
            Some(n) => {
                role.actions = self
                    .strings(n, "`actions`", "`actions: [quantum-computing.job.read]`")
                    .unwrap_or_default();
            }
            None => self.missing(
                &fields,
                name.loc,
                "actions",
                &context,
                "`actions: [quantum-computing.job.read]`",
            ),
        }
        Some(role)
    }

    /// `access:` of a group: a list, even empty; `access:` with no value is an error, as
    /// "no policies" and "policies left alone" must not be confused.
    pub(super) fn access(&mut self, group: &str, node: &Node) -> Option<Sp<Vec<Sp<RawAccess>>>> {
        let items = self.authoritative_list(
            node,
            "access",
            group,
            ACCESS_EXAMPLE,
            ("policy", "policies"),
        )?;
        let entries = items
            .value
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.access_entry(group, i + 1, item))
            .collect();
        Some(Sp::new(entries, items.loc))
    }

    fn access_entry(&mut self, group: &str, n: usize, node: &Node) -> Option<Sp<RawAccess>> {
        let context = format!("`access` entry {n} of group `{group}`");
        let items = self.mapping(node, &context, ACCESS_EXAMPLE)?;
        let fields = self.fields(items, ACCESS_KEYS, &["roles"], &context, &|_| None);
        let text = |r: &mut Self, key: &str, example: &str| {
            fields
                .given(key)
                .and_then(|v| r.string(v, &format!("`{key}`"), example))
        };
        let service = text(self, "service", "`service: quantum-computing`");
        let instance = text(self, "instance", "`instance: QR-ml`");
        let resource_group = text(self, "resource_group", "`resource_group: Default`");
        let roles = match fields.get("roles") {
            Some(v) => self
                .strings(v, "`roles`", "`roles: [Viewer, Reader]`")
                .unwrap_or_default(),
            None => {
                self.missing(
                    &fields,
                    self.loc(node),
                    "roles",
                    &context,
                    "`roles: [Viewer]`",
                );
                Sp::default()
            }
        };
        let loc = self.loc(node);
        Some(Sp::new(
            RawAccess {
                service,
                instance,
                resource_group,
                roles,
            },
            loc,
        ))
    }

    /// `rules:` of a group: a list, even empty, as for `access`.
    pub(super) fn rules(&mut self, group: &str, node: &Node) -> Option<Sp<Vec<Sp<RawRule>>>> {
        let items = self.authoritative_list(
            node,
            "rules",
            group,
            RULE_EXAMPLE,
            ("dynamic rule", "dynamic rules"),
        )?;
        let rules = items
            .value
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.rule(group, i + 1, item))
            .collect();
        Some(Sp::new(rules, items.loc))
    }

    fn rule(&mut self, group: &str, n: usize, node: &Node) -> Option<Sp<RawRule>> {
        let context = format!("rule {n} of group `{group}`");
        let items = self.mapping(node, &context, RULE_EXAMPLE)?;
        let required = &["name", "realm", "conditions"];
        let fields = self.fields(items, RULE_KEYS, required, &context, &|_| None);
        let loc = self.loc(node);
        let mut rule = RawRule::default();
        match fields.get("name") {
            Some(v) => {
                rule.name = self
                    .string(v, "`name`", "`name: ml-project`")
                    .unwrap_or_default()
            }
            None => self.missing(&fields, loc, "name", &context, "`name: ml-project`"),
        }
        let realm_example = "`realm: https://us-south.appid.cloud.ibm.com/oauth/v4/<tenant-id>`";
        match fields.get("realm") {
            Some(v) => rule.realm = self.string(v, "`realm`", realm_example).unwrap_or_default(),
            None => self.missing(&fields, loc, "realm", &context, realm_example),
        }
        rule.expiration_hours = fields
            .given("expiration_hours")
            .and_then(|v| self.expiration(v));
        match fields.get("conditions") {
            Some(v) => rule.conditions = self.conditions(&context, v),
            None => self.missing(
                &fields,
                loc,
                "conditions",
                &context,
                "`conditions: [{claim: project, operator: CONTAINS, value: ml}]`",
            ),
        }
        Some(Sp::new(rule, loc))
    }

    fn expiration(&mut self, node: &Node) -> Option<Sp<u32>> {
        let hours = self.integer(node, "`expiration_hours`", "`expiration_hours: 24`")?;
        match u32::try_from(hours.value) {
            Ok(h) if crate::model::RULE_EXPIRATION_HOURS.contains(&h) => {
                Some(Sp::new(h, hours.loc))
            }
            _ => {
                self.diags.push(
                    Diagnostic::new(
                        format!("`expiration_hours` must be between 1 and 24, not {}", hours.value),
                        hours.loc,
                        "out of range",
                    )
                    .hint("IBM keeps a dynamic membership for 1 to 24 hours after a login; leave the key out for 24"),
                );
                None
            }
        }
    }

    fn conditions(&mut self, rule: &str, node: &Node) -> Sp<Vec<Sp<RawCondition>>> {
        let Some(items) = self.list(
            node,
            "`conditions`",
            "`conditions: [{claim: project, operator: CONTAINS, value: ml}]`",
        ) else {
            return Sp::default();
        };
        let conditions = items
            .value
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.condition(rule, i + 1, item))
            .collect();
        Sp::new(conditions, items.loc)
    }

    fn condition(&mut self, rule: &str, n: usize, node: &Node) -> Option<Sp<RawCondition>> {
        let context = format!("condition {n} of {rule}");
        let items = self.mapping(node, &context, CONDITION_EXAMPLE)?;
        let required = &["claim", "operator", "value"];
        let fields = self.fields(items, CONDITION_KEYS, required, &context, &|_| None);
        let loc = self.loc(node);
        let mut condition = RawCondition::default();
        for (key, slot, example) in [
            ("claim", &mut condition.claim, "`claim: project`"),
            ("operator", &mut condition.operator, "`operator: CONTAINS`"),
        ] {
            match fields.get(key) {
                Some(v) => {
                    *slot = self
                        .string(v, &format!("`{key}`"), example)
                        .unwrap_or_default()
                }
                None => self.missing(&fields, loc, key, &context, example),
            }
        }
        match fields.get("value") {
            Some(v) => condition.value = self.condition_value(v).unwrap_or_default(),
            None => self.missing(&fields, loc, "value", &context, "`value: ml`"),
        }
        Some(Sp::new(condition, loc))
    }

    /// A condition's value: one scalar, as text (a number or boolean as it was written).
    fn condition_value(&mut self, node: &Node) -> Option<Sp<String>> {
        match node.value {
            Value::Null | Value::Seq(_) | Value::Map(_) => {
                self.diags.push(
                    Diagnostic::new(
                        format!("`value` must be one string, number or boolean, not {}", node.value.kind()),
                        self.loc(node),
                        "expected one value",
                    )
                    .hint("write the value the claim is compared with, e.g. `value: ml`; quote it (`value: \"\"`) for an empty one"),
                );
                None
            }
            _ => self.string(node, "`value`", "`value: ml`"),
        }
    }

    /// The list under `access:` or `rules:`. Its presence makes the file authoritative,
    /// so an empty value is refused rather than read as either meaning.
    fn authoritative_list<'n>(
        &mut self,
        node: &'n Node,
        key: &str,
        group: &str,
        example: &str,
        (one, many): (&str, &str),
    ) -> Option<Sp<&'n [Node]>> {
        if node.value == Value::Null {
            self.diags.push(
                Diagnostic::new(
                    format!("`{key}` of group `{group}` has no value"),
                    self.loc(node),
                    "expected a list",
                )
                .hint(format!(
                    "write `{key}: []` to have the group keep no {one} at all, or leave `{key}` out \
                     to leave the group's {many} alone; an entry looks like {example}"
                )),
            );
            return None;
        }
        self.list(node, &format!("`{key}` of group `{group}`"), example)
    }
}
