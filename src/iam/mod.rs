//! The IBM Cloud client (SPEC §8): auth, HTTP with retries, paging, live-state acquisition.
