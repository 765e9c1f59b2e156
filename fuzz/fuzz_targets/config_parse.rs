//! Fuzzes the config parser (docs/security.md: no input makes orgsync panic): any bytes
//! that are UTF-8 go through `parse_str` and, when invalid, through rendering of the
//! diagnostics.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match orgsync::config::parse_str("fuzz.yaml", text) {
            Ok(desired) => {
                // The invariant the planner relies on: every user's group is declared.
                for user in desired.users.values() {
                    for group in &user.groups {
                        assert!(desired.groups.contains_key(group));
                    }
                }
            }
            Err(diagnostics) => {
                assert!(!diagnostics.is_empty());
                let _ = diagnostics.render(true);
            }
        }
    }
});
