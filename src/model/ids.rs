//! Names and identifiers, each with the comparison IBM (and so orgsync) applies: emails
//! trimmed and lower-cased, group names case-insensitive, ids exact.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// An email address as orgsync compares them: trimmed and lower-cased.
///
/// IBM stores whatever case the invitation used, so identity is always the normalized form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Normalizes any string into the comparison form, without judging plausibility.
    /// Config validation judges; live data from IBM is taken as it comes.
    pub fn new(raw: &str) -> Self {
        Email(raw.trim().to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the last `@`, or "" when there is none.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for Email {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// An access group's name, kept as written but compared case-insensitively
/// (IBM treats names as unique regardless of case).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupName(String);

impl GroupName {
    pub fn new(name: impl Into<String>) -> Self {
        GroupName(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The comparison key: lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    fn cmp_key(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars().flat_map(char::to_lowercase)
    }
}

impl PartialEq for GroupName {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GroupName {}

impl PartialOrd for GroupName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_key().cmp(other.cmp_key())
    }
}

impl Hash for GroupName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for c in self.cmp_key() {
            c.hash(state);
        }
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(super) use string_id;

string_id!(
    /// An IAM identity: `IBMid-...` (user), `iam-ServiceId-...`, `iam-Profile-...`.
    IamId
);
impl IamId {
    /// Whether the identity is a service ID (`iam-ServiceId-…`): IBM lets a service ID's
    /// key read users but never invite or remove them.
    pub fn is_service_id(&self) -> bool {
        self.0.starts_with("iam-ServiceId-")
    }
}

string_id!(
    /// An access group's id, e.g. `AccessGroupId-5f0c...`.
    AccessGroupId
);
string_id!(
    /// An IBM Cloud account id: 32 lower-case hex characters (validated by `config`).
    AccountId
);

impl AccountId {
    /// Whether `raw` (as given, untrimmed) is an account id: exactly 32 characters of
    /// `0-9a-f`. The one definition of the format, for the config file, `--account-id` and
    /// the emulator's state file.
    pub fn is_valid(raw: &str) -> bool {
        raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// The id of IBM's built-in group that every identity implicitly belongs to.
pub const PUBLIC_ACCESS_GROUP_ID: &str = "AccessGroupId-PublicAccess";
/// Its name, reserved: the config can never manage it.
pub const PUBLIC_ACCESS_GROUP_NAME: &str = "Public Access";

/// Whether a group name is IBM's reserved `Public Access`, compared as orgsync compares
/// every group name: trimmed and ignoring case.
pub fn is_public_access_name(name: &str) -> bool {
    name.trim().to_lowercase() == PUBLIC_ACCESS_GROUP_NAME.to_lowercase()
}

/// Whether a live group is IBM's built-in Public Access group, by id or by name. orgsync
/// never reads its members and never changes it, whatever a listing says.
pub fn is_public_access(id: &str, name: &str) -> bool {
    id == PUBLIC_ACCESS_GROUP_ID || is_public_access_name(name)
}
