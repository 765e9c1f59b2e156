//! `orgsync apply`: plan afresh (or check a saved plan is still true), guard, confirm,
//! execute, verify, report, audit — holding the account's apply lock throughout.
//!
//! Every refusal (exit 3, nothing changed) is also a report with `--format json`, each
//! change `refused` (docs/cli.md, Apply reports), so a consumer always gets one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use super::session::{Session, tokio_runtime};
use super::settings::{ApplySettings, Output};
use super::validate::load_config;
use super::{lock, planfile};
use crate::cli::ReportFormat;
use crate::error::{Error, Exit, Result, Wanted};
use crate::executor::{self, ApplyReport, AuditLog};
use crate::model::{AccountId, DesiredState};
use crate::plan::{self, Change, Plan};
use crate::ui;

pub fn run(s: &ApplySettings, output: Output) -> Result<Exit> {
    // The PLANFILE is an argument: a bad one is a usage error before the config is read.
    let saved = s
        .plan_file
        .as_deref()
        .map(|path| planfile::read(path, "apply"))
        .transpose()
        .map_err(Error::PlanFile)?;
    let loaded = load_config(&s.config)?;
    let desired = &loaded.desired;
    // Opened before anything changes: a bad path must fail with nothing done.
    let audit = s.audit_log.as_deref().map(open_audit).transpose()?;
    let reporter = Reporter {
        format: s.format,
        output,
        account: &desired.account_id,
    };
    tokio_runtime()?.block_on(async {
        let session = Session::open(&s.connection, output).await?;
        let result = apply(&session, s, desired, saved, audit, &reporter).await;
        session.close().await;
        result
    })
}

async fn apply(
    session: &Session,
    s: &ApplySettings,
    desired: &DesiredState,
    saved: Option<Plan>,
    audit: Option<AuditLog>,
    reporter: &Reporter<'_>,
) -> Result<Exit> {
    session.check_account(&desired.account_id, Wanted::File)?;
    // Held from before the account is read until the report is out, so that a second
    // apply on this machine plans only after the first has finished.
    let scope = session.lock_scope(&desired.account_id);
    let held =
        lock::acquire(&lock::lock_dir(), &scope).map_err(|e| reporter.refuse(e.into(), &[]))?;
    if let Some(stale) = &held.stale
        && !reporter.output.quiet
    {
        anstream::eprintln!(
            "note: took over the apply lock {} left by {stale}, which ended without releasing it; run `orgsync plan` to see what it left undone",
            held.path().display()
        );
    }
    let (fresh, live) = session.fresh_plan(desired, s.today).await?;
    let reviewed = saved.is_some();
    let plan = match saved {
        Some(saved) => {
            let changes = saved.changes.clone();
            plan::check_saved(saved, &fresh).map_err(|r| reporter.refuse(r.into(), &changes))?
        }
        None => fresh,
    };
    if plan.is_empty() {
        let text = match s.format {
            ReportFormat::Text => plan::render_text(&plan, reporter.output.stdout_color()),
            // A consumer of the JSON report gets one even when there is nothing to do.
            ReportFormat::Json => ApplyReport::default().to_json_for(reporter.account),
        };
        super::print("the report", &text)?;
        return Ok(Exit::Success);
    }
    // Shown before the guard, so a refusal can be judged from what it refers to.
    reporter.show_plan(&plan)?;
    plan::guard_removals(&plan, desired.policy.max_removals, s.allow_removals)
        .map_err(|r| reporter.refuse(r.into(), &plan.changes))?;
    plan::preflight(&plan, &session.identity.iam_id)
        .map_err(|r| reporter.refuse(r.into(), &plan.changes))?;
    // A saved plan was reviewed already (and is proven unchanged): like
    // `terraform apply PLANFILE`, it needs no second confirmation.
    if !reviewed && !s.yes {
        confirm(&plan, &desired.account_id).map_err(|e| reporter.refuse(e, &plan.changes))?;
    }
    let report = execute(session, s, desired, &plan, &live, audit, reporter).await?;
    drop(held);
    Ok(if report.has_failures() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// Runs the plan with the signals wired to a clean stop, then prints the report and
/// closes the audit log.
async fn execute(
    session: &Session,
    s: &ApplySettings,
    desired: &DesiredState,
    plan: &Plan,
    live: &crate::model::LiveState,
    mut audit: Option<AuditLog>,
    reporter: &Reporter<'_>,
) -> Result<ApplyReport> {
    let group_ids: BTreeMap<_, _> = live
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.id.clone()))
        .collect();
    let (stop, interrupt) = tokio::sync::watch::channel(false);
    let bar = ui::apply_progress(plan.changes.len(), reporter.output.quiet);
    let options = executor::Options {
        invite_batch: s.invite_batch,
        verify: true,
        parallelism: s.connection.parallelism,
        interrupt: Some(interrupt),
        progress: bar.clone().map(|bar| {
            executor::Progress::new(move |finished| bar.set_position(finished.done as u64))
        }),
    };
    let on_signal = tokio::spawn(stop_on_signals(stop, reporter.output.quiet));
    let actor = &session.identity.iam_id;
    let report = executor::apply(
        plan,
        &desired.account_id,
        &group_ids,
        &session.client,
        &options,
        audit
            .as_mut()
            .map(|log| log.for_apply(&desired.account_id, actor)),
    )
    .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    on_signal.abort();
    // The audit lines are written during the apply (they must survive a closed stdout),
    // but a failure to write them must not swallow the report of what was done.
    let audited = audit.map_or(Ok(()), AuditLog::finish);
    let text = match s.format {
        ReportFormat::Text => report.render_text(reporter.output.stdout_color()),
        ReportFormat::Json => report.to_json_for(&desired.account_id),
    };
    super::print("the report", &text)?;
    audited?;
    Ok(report)
}

/// A signal that stops an apply.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
    /// SIGTERM: a service manager, a CI runner cancelling the job, `kill`.
    Terminate,
}

impl Stop {
    fn notice(self) -> &'static [u8] {
        match self {
            Stop::Interrupt => b"Interrupted: finishing the calls in flight and starting no new ones; press Ctrl-C again to stop at once.\n",
            Stop::Terminate => b"Terminated: finishing the calls in flight and starting no new ones; a second signal stops at once.\n",
        }
    }

    /// The shell's convention: 128 + the signal's number.
    fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }
}

/// From the first signal on, what is in flight finishes, the rest is reported as skipped
/// and the audit log records what was done. A second signal (of either kind) ends the
/// process at once; the lock file it leaves says so to the next apply.
async fn stop_on_signals(stop: tokio::sync::watch::Sender<bool>, quiet: bool) {
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "cannot watch for Ctrl-C and SIGTERM: {e}; a signal stops apply at once"
            );
            return;
        }
    };
    let Some(first) = signals.next().await else {
        return;
    };
    if !quiet {
        let _ = std::io::stderr().write_all(first.notice());
    }
    let _ = stop.send(true);
    if let Some(second) = signals.next().await {
        std::process::exit(second.exit_code());
    }
}

/// SIGINT and SIGTERM as one stream (SIGINT alone where there is no SIGTERM).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn next(&mut self) -> Option<Stop> {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.interrupt.recv() => s.map(|()| Stop::Interrupt),
                s = self.terminate.recv() => s.map(|()| Stop::Terminate),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.ok().map(|()| Stop::Interrupt)
    }
}

/// Where apply's output goes, and the refused report.
struct Reporter<'a> {
    format: ReportFormat,
    output: Output,
    account: &'a AccountId,
}

impl Reporter<'_> {
    /// With `--format json`, prints the report of a refusal of `changes` (all of them
    /// `refused`); returns the error to end with. An error that is no refusal (the lock
    /// cannot be created) gets no report, like any other failure before execution.
    fn refuse(&self, err: Error, changes: &[Change]) -> Error {
        if self.format == ReportFormat::Json && err.is_refusal() {
            let refusal = err.to_string();
            // The first clause is the reason; what follows is what to do, said once.
            let reason = refusal.split(';').next().unwrap_or(&refusal);
            let text = executor::refused_json(self.account, changes, reason.trim(), &refusal);
            // The refusal itself is the outcome; a closed stdout must not hide it.
            let _ = ui::print_stdout(&text);
        }
        err
    }

    /// The plan goes to stdout with a text report; with a JSON report, stdout carries the
    /// report alone and the plan goes to stderr (not with -q).
    fn show_plan(&self, plan: &Plan) -> Result<()> {
        match self.format {
            ReportFormat::Text => {
                let text = plan::render_text(plan, self.output.stdout_color());
                super::print("the plan", &format!("{text}\n"))
            }
            ReportFormat::Json if self.output.quiet => Ok(()),
            ReportFormat::Json => {
                let text = plan::render_text(plan, self.output.stderr_color());
                let _ = std::io::stderr().write_all(text.as_bytes());
                Ok(())
            }
        }
    }
}

fn confirm(plan: &Plan, account: &AccountId) -> Result<()> {
    if !ui::stdin_is_terminal() {
        return Err(Error::NoTerminal);
    }
    let question = format!(
        "Apply these {} changes to account {account}?",
        plan.changes.len()
    );
    if ui::confirm(&question) {
        Ok(())
    } else {
        Err(Error::NotConfirmed)
    }
}

/// `--audit-log FILE`, opened before anything changes; `ORGSYNC_AUDIT_NOTE` goes on every line.
fn open_audit(path: &Path) -> Result<AuditLog> {
    let note = std::env::var("ORGSYNC_AUDIT_NOTE").ok();
    Ok(AuditLog::open(path, note)?)
}
