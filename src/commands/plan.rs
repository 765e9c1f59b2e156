//! `orgsync plan`: load the file, read the account, print what apply would change.

use std::path::Path;

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
        write_atomically(out, &plan::render_json(&plan))?;
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

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
/// half a plan.
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::Runtime(format!(
            "cannot write {}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.orgsync-tmp"));
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}
