//! Domain types every layer shares.
//!
//! `config` produces a [`DesiredState`], `iam` produces a [`LiveState`], and the pure
//! planner compares the two. Nothing here does I/O or reads the clock: [`Date::today_utc`]
//! is the one exception, and only `commands` calls it.
//!
//! - [`ids`]: emails, group names and IBM's identifiers, each compared as IBM does;
//! - [`date`]: calendar dates and timestamps;
//! - [`access`]: what a group grants — services, roles, access policies, instances and
//!   resource groups (docs/reconciliation.md, Access policies and custom roles);
//! - [`rules`]: the dynamic rules that let ID-provider users join a group
//!   (docs/reconciliation.md, Dynamic rules);
//! - [`desired`]: the validated config file; [`live`]: the account as read, and
//!   [`LiveQuery`], what to read for a given file;
//! - [`similar`]: how far apart two names are, for "did you mean".

mod access;
mod date;
mod desired;
mod ids;
mod live;
mod rules;
mod similar;

pub use access::*;
pub use date::*;
pub use desired::*;
pub use ids::*;
pub use live::*;
pub use rules::*;
pub use similar::edit_distance;

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
