//! `orgsync plan`: load the file, read the account, print what apply would change.

use super::session::{Session, tokio_runtime};
use super::settings::{Output, PlanSettings};
use super::validate::load_config;
use crate::cli::PlanFormat;
use crate::error::{Exit, Result, Wanted};
use crate::plan;

pub fn run(s: &PlanSettings, output: Output) -> Result<Exit> {
    let loaded = load_config(&s.config)?;
    let desired = &loaded.desired;
    let plan = tokio_runtime()?.block_on(async {
        let session = Session::open(&s.connection, output).await?;
        let result = async {
            session.check_account(&desired.account_id, Wanted::File)?;
            session.fresh_plan(desired, s.today).await
        }
        .await;
        session.close().await;
        result.map(|(plan, _live)| plan)
    })?;
    if let Some(out) = &s.out {
        out.write(&plan::render_json(&plan))?;
    }
    super::print("the plan", &render(&plan, s.format, output.stdout_color()))?;
    Ok(if s.detailed_exitcode && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// The plan in one of the three formats (`show` prints saved plans the same way).
pub(super) fn render(plan: &plan::Plan, format: PlanFormat, color: bool) -> String {
    match format {
        PlanFormat::Text => plan::render_text(plan, color),
        PlanFormat::Markdown => plan::render_markdown(plan),
        PlanFormat::Json => plan::render_json(plan),
    }
}
