//! The planner (SPEC §3): a pure function of desired and live state.
