//! The end-to-end helpers under their first name: `use crate::e2e::*` brings exactly the
//! items it always has (the runner, the account builder, the config writer, the emulator's
//! readers and the [`every_kind`] fixture). They live in [`crate::support`] now, beside the
//! stub server and the scenario helper; new modules use `crate::support::*`.

// Some names are only used by modules being written against this one.
#[allow(unused_imports)]
pub use crate::support::{
    ACCOUNT, ADMIN_EMAIL, ADMIN_IAM_ID, ALGO_ID, Account, CHEM_ID, FINANCE_ID, KEY, OTHER_ACCOUNT,
    Orgsync, Run, SERVICE_ID, Spawned, TODAY, WRITE_ROUTES, Workdir, bounded, calls, config_yaml,
    every_kind, member, orgsync, orgsync_args, rosters, start, user, writes,
};
