//! Digests that tie a saved plan to what it was computed from (docs/cli.md, the JSON
//! fields; docs/reconciliation.md, saved plans).
//!
//! `apply PLANFILE` refuses a plan whose config digest no longer matches, so the digest must
//! change exactly when the meaning of the file changes: it is taken over the validated,
//! normalized [`DesiredState`] (comments, key order, email case and formatting never reach
//! it). The live digest is taken over a canonical form of the [`LiveState`] with users,
//! groups and members sorted and deduplicated, because IBM returns pages in no fixed order.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::{DesiredState, LiveMember, LiveState, LiveUser};

/// `sha256:<hex>` of the normalized desired state.
pub fn config_digest(desired: &DesiredState) -> String {
    // DesiredState is all sorted maps and sets, so its JSON is already canonical.
    digest("orgsync-config-v1", desired)
}

/// `sha256:<hex>` of the live state, independent of the order (and repetition) of its
/// users, groups and members.
pub fn live_digest(live: &LiveState) -> String {
    #[derive(Serialize)]
    struct CanonicalGroup<'a> {
        id: &'a str,
        name: &'a str,
        description: &'a str,
        members: Option<Vec<&'a LiveMember>>,
    }
    #[derive(Serialize)]
    struct Canonical<'a> {
        account_id: &'a str,
        caller: &'a str,
        users: Vec<&'a LiveUser>,
        groups: Vec<CanonicalGroup<'a>>,
    }

    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| {
        (&a.iam_id, &a.email, &a.state, a.added_on)
            .cmp(&(&b.iam_id, &b.email, &b.state, b.added_on))
    });
    users.dedup();
    let mut groups: Vec<CanonicalGroup> = live
        .groups
        .iter()
        .map(|g| CanonicalGroup {
            id: g.id.as_str(),
            name: g.name.as_str(),
            description: &g.description,
            members: g.members.as_ref().map(|ms| {
                let mut ms: Vec<&LiveMember> = ms.iter().collect();
                ms.sort();
                ms.dedup();
                ms
            }),
        })
        .collect();
    groups.sort_by(|a, b| {
        (a.id, a.name, a.description, &a.members).cmp(&(b.id, b.name, b.description, &b.members))
    });
    groups.dedup_by(|a, b| {
        (a.id, a.name, a.description, &a.members) == (b.id, b.name, b.description, &b.members)
    });
    digest(
        "orgsync-live-v1",
        &Canonical {
            account_id: live.account_id.as_str(),
            caller: live.caller.as_str(),
            users,
            groups,
        },
    )
}

/// The domain tag keeps a config and a live state from ever sharing a digest.
fn digest(domain: &str, value: &impl Serialize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(domain.as_bytes());
    hasher.update(b"\n");
    // Streamed straight into the hasher: no copy of a large state is held. Serialising
    // these plain types cannot fail (every map key is a string, and hashing does no I/O),
    // so there is no error to report.
    let _ = serde_json::to_writer(&mut hasher, value);
    let bytes = hasher.finalize();
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}
