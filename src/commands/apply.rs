//! `orgsync apply`: plan afresh (or check a saved plan is still true), guard, confirm,
//! execute, verify, report, audit.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use super::session::{Session, tokio_runtime};
use super::validate::load_config;
use crate::cli::{ApplyArgs, Cli, ReportFormat};
use crate::error::{Error, Exit, Result};
use crate::executor::{self, ApplyReport, AuditLog};
use crate::model::{AccountId, Date};
use crate::plan::{self, Plan};
use crate::ui;

pub fn run(cli: &Cli, args: &ApplyArgs) -> Result<Exit> {
    let loaded = load_config(cli)?;
    let desired = &loaded.desired;
    let today = args.today.unwrap_or_else(Date::today_utc);
    let saved = args.plan.as_deref().map(read_plan).transpose()?;
    // Open the audit log before anything changes: a bad path must fail with nothing done.
    let mut audit = args.audit_log.as_deref().map(open_audit).transpose()?;

    tokio_runtime()?.block_on(async {
        let session = Session::open(cli, &args.connection).await?;
        let result = async {
            let (fresh, live) = session.fresh_plan(desired, today).await?;
            let reviewed = saved.is_some();
            let plan = match saved {
                Some(saved) => plan::check_saved(saved, &fresh).map_err(refused)?,
                None => fresh,
            };
            if plan.is_empty() {
                let text = match args.format {
                    ReportFormat::Text => plan::render_text(&plan, ui::stdout_color(cli.color)),
                    // A consumer of the JSON report gets one even when there is nothing to do.
                    ReportFormat::Json => ApplyReport::default().to_json(),
                };
                ui::print_stdout(&text).map_err(stdout_error)?;
                return Ok(Exit::Success);
            }
            // Shown before the guard, so a refusal can be judged from what it refers to.
            show_plan(cli, args, &plan)?;
            plan::guard_removals(&plan, desired.policy.max_removals, args.allow_removals)
                .map_err(refused)?;
            // A saved plan was reviewed already (and is proven unchanged): like
            // `terraform apply PLANFILE`, it needs no second confirmation.
            if !reviewed && !args.yes {
                confirm(&plan, &desired.account_id)?;
            }
            let group_ids: BTreeMap<_, _> = live
                .groups
                .iter()
                .map(|g| (g.name.clone(), g.id.clone()))
                .collect();
            let (stop, interrupt) = tokio::sync::watch::channel(false);
            let options = executor::Options {
                invite_batch: usize::from(args.invite_batch),
                verify: true,
                parallelism: args.connection.parallelism as usize,
                interrupt: Some(interrupt),
                // The commands area renders progress on a terminal through this sink.
                progress: None,
            };
            // From here on, Ctrl-C stops cleanly: what is in flight finishes, the rest is
            // reported as skipped and the audit log records what was done. A second
            // Ctrl-C stops at once.
            let on_ctrl_c = tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = std::io::stderr().write_all(
                        b"Interrupted: finishing the calls in flight and starting no new ones; press Ctrl-C again to stop at once.\n",
                    );
                    let _ = stop.send(true);
                    if tokio::signal::ctrl_c().await.is_ok() {
                        std::process::exit(130);
                    }
                }
            });
            let actor = &session.identity.iam_id;
            let report = executor::apply(
                &plan,
                &desired.account_id,
                &group_ids,
                &session.client,
                &options,
                audit.as_mut().map(|log| log.for_apply(&desired.account_id, actor)),
            )
            .await;
            on_ctrl_c.abort();
            // The audit lines are written during the apply (they must survive a closed
            // stdout), but a failure to write them must not swallow the report of what
            // was done.
            let audited = audit.map_or(Ok(()), AuditLog::finish);
            let text = match args.format {
                ReportFormat::Text => report.render_text(ui::stdout_color(cli.color)),
                ReportFormat::Json => report.to_json(),
            };
            ui::print_stdout(&text).map_err(stdout_error)?;
            audited.map_err(|e| Error::Runtime(e.to_string()))?;
            Ok(if report.has_failures() {
                Exit::Failure
            } else {
                Exit::Success
            })
        }
        .await;
        session.close().await;
        result
    })
}

/// For now the refusal travels as its message (the same text as before it was typed).
fn refused(refusal: plan::Refusal) -> Error {
    Error::Refused(refusal.to_string())
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::Runtime(format!("cannot write to stdout: {e}"))
}

fn read_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the saved plan {}: {e}; pass a file written by `orgsync plan --out`",
            path.display()
        ))
    })?;
    Plan::from_json(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))
}

/// The plan goes to stdout with a text report; with a JSON report, stdout carries the
/// report alone and the plan goes to stderr.
fn show_plan(cli: &Cli, args: &ApplyArgs, plan: &Plan) -> Result<()> {
    match args.format {
        ReportFormat::Text => {
            ui::print_stdout(&plan::render_text(plan, ui::stdout_color(cli.color)))
                .map_err(stdout_error)?;
            ui::print_stdout("\n").map_err(stdout_error)
        }
        ReportFormat::Json => {
            let text = plan::render_text(plan, ui::stderr_color(cli.color));
            let _ = std::io::stderr().write_all(text.as_bytes());
            Ok(())
        }
    }
}

fn confirm(plan: &Plan, account: &AccountId) -> Result<()> {
    if !ui::stdin_is_terminal() {
        return Err(Error::Refused(
            "apply needs confirmation, and there is no terminal to ask on; nothing was changed. Review the plan, then pass --yes".into(),
        ));
    }
    let question = format!(
        "Apply these {} changes to account {account}?",
        plan.changes.len()
    );
    if ui::confirm(&question) {
        Ok(())
    } else {
        Err(Error::Refused("not confirmed; nothing was changed".into()))
    }
}

/// `--audit-log FILE`, opened before anything changes; `ORGSYNC_AUDIT_NOTE` goes on every line.
fn open_audit(path: &Path) -> Result<AuditLog> {
    let note = std::env::var("ORGSYNC_AUDIT_NOTE").ok();
    AuditLog::open(path, note).map_err(|e| Error::Runtime(e.to_string()))
}
