//! Runs a plan against the account (SPEC §7), deciding nothing new.
