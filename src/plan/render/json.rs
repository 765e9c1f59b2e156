//! The plan as JSON: exactly the fields of docs/cli.md, the same text `plan --out` saves.

use crate::plan::types::Plan;

/// Pretty-printed JSON with a trailing newline.
pub fn render_json(plan: &Plan) -> String {
    // A plan is strings, numbers and lists only: serialising it cannot fail, so the empty
    // fallback exists to keep this function free of panics, not because it happens.
    let mut json = serde_json::to_string_pretty(plan).unwrap_or_default();
    json.push('\n');
    json
}
