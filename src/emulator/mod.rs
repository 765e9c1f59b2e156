//! An emulator of IBM's token, User Management v2 and Access Groups v2 APIs (SPEC §9).
