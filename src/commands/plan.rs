//! `orgsync plan`: load the file, read the account, print what apply would change.

use super::session::{Session, tokio_runtime};
use super::validate::load_config;
use crate::cli::{Cli, PlanArgs, PlanFormat};
use crate::error::{Error, Exit, Result};
use crate::model::Date;
use crate::{plan, ui};

pub fn run(cli: &Cli, args: &PlanArgs) -> Result<Exit> {
    let loaded = load_config(cli)?;
    let today = args.today.unwrap_or_else(Date::today_utc);
    let (plan, _live) = tokio_runtime()?.block_on(async {
        let session = Session::open(cli, &args.connection).await?;
        let result = session.fresh_plan(&loaded.desired, today).await;
        session.close().await;
        result
    })?;
    if let Some(out) = &args.out {
        super::write_atomically(out, &plan::render_json(&plan))?;
    }
    let text = match args.format {
        PlanFormat::Text => plan::render_text(&plan, ui::stdout_color(cli.color)),
        PlanFormat::Markdown => plan::render_markdown(&plan),
        PlanFormat::Json => plan::render_json(&plan),
    };
    ui::print_stdout(&text)
        .map_err(|e| Error::Runtime(format!("cannot write the plan to stdout: {e}")))?;
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
