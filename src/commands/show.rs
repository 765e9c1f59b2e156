//! `orgsync show PLANFILE`: a saved plan rendered offline, as `plan` would have printed
//! it (what `terraform show` does), so a reviewer can read the artifact CI saved. No
//! config, no network.

use super::settings::{Output, ShowSettings};
use crate::error::{Error, Exit, Result};

pub fn run(s: &ShowSettings, output: Output) -> Result<Exit> {
    let plan = super::planfile::read(&s.plan_file, "show").map_err(Error::PlanFile)?;
    super::print(
        "the plan",
        &super::plan::render(&plan, s.format, output.stdout_color()),
    )?;
    Ok(Exit::Success)
}
