//! Domain types every layer shares.
//!
//! `config` produces a [`DesiredState`], `iam` produces a [`LiveState`], and the pure
//! planner compares the two. Nothing here does I/O or reads the clock: [`Date::today_utc`]
//! is the one exception, and only `commands` calls it.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

string_id!(
    /// An IAM identity: `IBMid-...` (user), `iam-ServiceId-...`, `iam-Profile-...`.
    IamId
);
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

/// Milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds, the way IBM's
/// APIs write timestamps: `2026-01-05T10:00:00.000Z`. The calendar is [`Date`]'s.
pub fn format_timestamp_ms(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let date = Date::from_days_since_epoch(days).unwrap_or(Date::UNIX_EPOCH);
    let tod = secs % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}.{:03}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60,
        epoch_ms % 1000
    )
}

/// A calendar date (proleptic Gregorian), enough for `expires:` and `--today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// 1970-01-01.
    pub const UNIX_EPOCH: Date = Date {
        year: 1970,
        month: 1,
        day: 1,
    };

    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let year = digits(0..4)?;
        let month = digits(5..7)?;
        let day = digits(8..10)?;
        Date::from_ymd(year as i32, month as u8, day as u8)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::days_since_epoch`]; `None` outside years 1..=9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::from_ymd(i32::try_from(year).ok()?, month, day)
    }

    /// This date plus `days` (may be negative); saturates at the ends of the range.
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch().saturating_add(days)).unwrap_or(
            if days < 0 {
                Date {
                    year: 1,
                    month: 1,
                    day: 1,
                }
            } else {
                Date {
                    year: 9999,
                    month: 12,
                    day: 31,
                }
            },
        )
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    /// The date part of an ISO-8601 timestamp such as IBM's `2026-01-05T10:00:00.000Z`.
    pub fn from_timestamp_prefix(ts: &str) -> Option<Date> {
        ts.get(..10).and_then(Date::parse)
    }

    /// Today in UTC. The only clock read in the model; the planner never calls it.
    pub fn today_utc() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Date::from_days_since_epoch(secs.div_euclid(86_400)).unwrap_or(Date {
            year: 1970,
            month: 1,
            day: 1,
        })
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s).ok_or_else(|| format!("`{s}` is not a date of the form YYYY-MM-DD"))
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Desired state: what the config file says.

/// What to do with account users the file does not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlistedUsers {
    #[default]
    Ignore,
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub unlisted_users: UnlistedUsers,
    pub max_removals: u32,
    pub protected: BTreeSet<Email>,
    pub create_groups: bool,
    /// Lower-cased; empty means "any domain".
    pub allowed_domains: BTreeSet<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unlisted_users: UnlistedUsers::Ignore,
            max_removals: 10,
            protected: BTreeSet::new(),
            create_groups: true,
            allowed_domains: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredGroup {
    pub name: GroupName,
    /// `None`: the file does not govern the description.
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredUser {
    pub email: Email,
    /// Managed groups this user belongs to; every one is declared in `DesiredState::groups`.
    pub groups: BTreeSet<GroupName>,
    /// From this day (UTC) on, the user is treated as unlisted.
    pub expires: Option<Date>,
}

/// The validated config file. Invariants (guaranteed by `config`): every user's group is a
/// key of `groups`; no group is `Public Access`; emails and group names are unique.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DesiredState {
    pub account_id: AccountId,
    pub policy: Policy,
    pub groups: BTreeMap<GroupName, DesiredGroup>,
    pub users: BTreeMap<Email, DesiredUser>,
}

// ---------------------------------------------------------------------------
// Live state: what the account holds, as read by `iam::acquire`.

/// A user's state in User Management. Unknown states are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserState {
    Active,
    Processing,
    Pending,
    ErrorWhileProcessing,
    ErrorWhileDeleting,
    Suspended,
    IamIdInvalid,
    VpnOnly,
    DisabledClassicInfrastructure,
    Other(String),
}

impl UserState {
    pub fn parse(s: &str) -> UserState {
        match s.trim().to_ascii_uppercase().as_str() {
            "ACTIVE" => UserState::Active,
            "PROCESSING" => UserState::Processing,
            "PENDING" => UserState::Pending,
            "ERROR_WHILE_PROCESSING" => UserState::ErrorWhileProcessing,
            "ERROR_WHILE_DELETING" => UserState::ErrorWhileDeleting,
            "SUSPENDED" => UserState::Suspended,
            "IAMID_INVALID" => UserState::IamIdInvalid,
            "VPN_ONLY" => UserState::VpnOnly,
            "DISABLED_CLASSIC_INFRASTRUCTURE" => UserState::DisabledClassicInfrastructure,
            _ => UserState::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UserState::Active => "ACTIVE",
            UserState::Processing => "PROCESSING",
            UserState::Pending => "PENDING",
            UserState::ErrorWhileProcessing => "ERROR_WHILE_PROCESSING",
            UserState::ErrorWhileDeleting => "ERROR_WHILE_DELETING",
            UserState::Suspended => "SUSPENDED",
            UserState::IamIdInvalid => "IAMID_INVALID",
            UserState::VpnOnly => "VPN_ONLY",
            UserState::DisabledClassicInfrastructure => "DISABLED_CLASSIC_INFRASTRUCTURE",
            UserState::Other(s) => s,
        }
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UserState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveUser {
    pub iam_id: IamId,
    /// Normalized; may be empty when IBM returned none (then it matches no listed user).
    pub email: Email,
    pub state: UserState,
    /// When the user was added (invited) to the account, if IBM said.
    pub added_on: Option<Date>,
}

impl LiveUser {
    /// Orders conflicting entries of one iam_id (IBM does not make them, but nothing may
    /// depend on input order if it ever does): the smallest key wins.
    pub fn dedup_key(&self) -> (&IamId, &Email, &UserState, Option<Date>) {
        (&self.iam_id, &self.email, &self.state, self.added_on)
    }

    /// When one email has several account entries, the smallest key stands for the
    /// person: working states first (ACTIVE, PROCESSING, PENDING, then any other), a
    /// failed invitation last; ties by iam_id. The planner and export both decide so.
    pub fn standing_key(&self) -> (u8, &IamId) {
        let rank = match self.state {
            UserState::Active => 0,
            UserState::Processing => 1,
            UserState::Pending => 2,
            UserState::ErrorWhileProcessing => 4,
            _ => 3,
        };
        (rank, &self.iam_id)
    }
}

/// The kind of identity a group member is, from the member's `type`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberKind {
    User,
    Service,
    Profile,
    Other(String),
}

impl MemberKind {
    pub fn parse(s: &str) -> MemberKind {
        match s {
            "user" => MemberKind::User,
            "service" => MemberKind::Service,
            "profile" => MemberKind::Profile,
            other => MemberKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MemberKind::User => "user",
            MemberKind::Service => "service",
            MemberKind::Profile => "profile",
            MemberKind::Other(s) => s,
        }
    }
}

impl Serialize for MemberKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LiveMember {
    pub iam_id: IamId,
    pub kind: MemberKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveGroup {
    pub id: AccessGroupId,
    pub name: GroupName,
    pub description: String,
    /// Read only for managed groups; `None` for the rest, which orgsync never touches.
    pub members: Option<Vec<LiveMember>>,
}

/// The account as `iam::acquire` read it. Public Access is never included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveState {
    pub account_id: AccountId,
    /// The identity orgsync runs as (the `iam_id` of its token): never removed.
    pub caller: IamId,
    pub users: Vec<LiveUser>,
    pub groups: Vec<LiveGroup>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::new("  Bob@Example.COM "),
            Email::new("bob@example.com")
        );
        assert_eq!(Email::new("a@b.example.org").domain(), "b.example.org");
    }

    #[test]
    fn group_names_compare_case_insensitively_but_keep_their_spelling() {
        let a = GroupName::new("Quantum-Chemistry");
        let b = GroupName::new("quantum-chemistry");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "Quantum-Chemistry");
        assert!(GroupName::new("alpha") < GroupName::new("Beta"));
    }

    #[test]
    fn dates_parse_strictly_and_round_trip_through_day_numbers() {
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-00",
            "２０２４-01-01",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        let d = Date::parse("1970-01-01").unwrap();
        assert_eq!(d.days_since_epoch(), 0);
        for n in [-700_000, -1, 0, 1, 59, 365, 20_000, 2_000_000] {
            let date = Date::from_days_since_epoch(n).unwrap();
            assert_eq!(date.days_since_epoch(), n);
        }
        assert_eq!(
            Date::parse("2026-12-30").unwrap().add_days(3).to_string(),
            "2027-01-02"
        );
        assert_eq!(
            Date::from_timestamp_prefix("2026-01-05T10:00:00.000Z"),
            Date::parse("2026-01-05")
        );
    }

    #[test]
    fn public_access_is_recognised_by_id_or_by_name_in_any_case() {
        assert!(is_public_access(PUBLIC_ACCESS_GROUP_ID, "renamed"));
        assert!(is_public_access("AccessGroupId-x", "public access"));
        assert!(is_public_access("AccessGroupId-x", " PUBLIC Access "));
        assert!(!is_public_access("AccessGroupId-x", "Public Accessors"));
    }

    #[test]
    fn account_ids_are_32_lower_case_hex_characters() {
        assert!(AccountId::is_valid("0123456789abcdef0123456789abcdef"));
        assert!(!AccountId::is_valid("0123456789ABCDEF0123456789abcdef"));
        assert!(!AccountId::is_valid("0123456789abcdef0123456789abcde"));
        assert!(!AccountId::is_valid(" 0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(format_timestamp_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp_ms(1_709_251_199_123),
            "2024-02-29T23:59:59.123Z"
        );
        assert_eq!(
            format_timestamp_ms(1_795_772_465_123),
            "2026-11-27T09:41:05.123Z"
        );
    }

    #[test]
    fn unknown_user_states_are_kept_verbatim() {
        assert_eq!(UserState::parse("PENDING"), UserState::Pending);
        assert_eq!(UserState::parse("SOMETHING_NEW").as_str(), "SOMETHING_NEW");
    }
}
