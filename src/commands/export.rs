//! `orgsync export`: write a config file from the live account, so that adopting orgsync
//! on an existing account starts from a file that changes nothing.
//!
//! Wiring only: the session reads the account, `plan::export` decides what the file says,
//! `config::export` writes the text, and before anything is written the text is validated
//! and planned against the very state it was written from. A file that would not
//! validate, or whose plan holds anything but the removals the export already names, is a
//! bug and is refused rather than handed over.

use std::collections::BTreeSet;
use std::time::Instant;

use super::session::{Session, tokio_runtime};
use super::settings::{ExportSettings, Output};
use crate::config::{self, export};
use crate::error::{Error, Exit, ExportCheck, Result, Wanted};
use crate::iam;
use crate::model::{AccountId, Date, IamId, LiveState};
use crate::plan::export::Contents;
use crate::plan::{self, Change, Plan};

pub fn run(s: &ExportSettings, output: Output) -> Result<Exit> {
    let started = Instant::now();
    let (live, chosen) = tokio_runtime()?.block_on(async {
        let session = Session::open(&s.connection, output).await?;
        let result = read_account(&session, s).await;
        session.close().await;
        result
    })?;

    let contents = plan::export::contents(&live, &chosen, &export::FILE_FORMAT);
    let text = export::render(&live.account_id, &contents);
    let plan = self_check(&text, &contents, &live)?;

    match &s.out {
        Some(out) => out.write(&text)?,
        None => super::print("the export", &text)?,
    }
    if !output.quiet {
        report(&contents, &plan, &live, s, started.elapsed());
    }
    Ok(Exit::Success)
}

async fn read_account(
    session: &Session,
    s: &ExportSettings,
) -> Result<(LiveState, Vec<crate::model::GroupName>)> {
    let account: AccountId = match &s.account {
        Some(account) => {
            session.check_account(account, Wanted::AccountIdFlag)?;
            account.clone()
        }
        None => session.identity.account_id.clone().ok_or_else(|| {
            Error::Usage(crate::error::Usage::Invalid(
                "the API key's token names no account (no `account.bss` claim), so the account \
                 to export is unknown; pass --account-id ID (Manage → Account → Account \
                 settings shows it)"
                    .into(),
            ))
        })?,
    };
    // The group listing comes first so that a wrong --groups fails before the (larger)
    // user listing is read; it costs ⌈groups/100⌉ requests more than a plan.
    let groups = session.client.list_groups(&account).await?;
    let chosen = plan::export::choose_groups(&groups, s.groups.as_deref()).map_err(|source| {
        Error::Export {
            account: account.clone(),
            source,
        }
    })?;
    let live = iam::acquire(&session.client, &account, &iam::everything_of(&chosen)).await?;
    Ok((live, chosen))
}

/// Proves the export before handing it over: it validates, and planning it against the
/// state it was written from changes nothing but the memberships the file names as
/// unlistable.
fn self_check(text: &str, contents: &Contents, live: &LiveState) -> Result<Plan> {
    let bug = |what| Error::ExportCheck(what);
    let desired = config::parse_str("export", text).map_err(|d| bug(ExportCheck::Invalid(d)))?;
    let plan = plan::plan(
        &desired,
        live,
        &plan::Options {
            today: Date::today_utc(),
        },
    )
    .map_err(|e| bug(ExportCheck::Unplannable(e)))?;
    let expected: BTreeSet<&IamId> = contents.unlistable_members();
    let unexpected: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| !matches!(c, Change::RemoveMember { iam_id, .. } if expected.contains(iam_id)))
        .map(|c| serde_json::to_string(c).unwrap_or_default())
        .collect();
    if !unexpected.is_empty() {
        return Err(bug(ExportCheck::WouldChange(unexpected)));
    }
    Ok(plan)
}

/// The summary on stderr (stdout may be the file itself).
fn report(
    contents: &Contents,
    plan: &Plan,
    live: &LiveState,
    s: &ExportSettings,
    elapsed: std::time::Duration,
) {
    let target = match &s.out {
        Some(out) => out.path.display().to_string(),
        None => "stdout".into(),
    };
    anstream::eprintln!(
        "Exported account {}: {} groups, {} users ({} in exported groups), in {:.1}s, to {target}.",
        live.account_id,
        contents.groups.len(),
        contents.users.len(),
        contents.users_in_groups(),
        elapsed.as_secs_f64()
    );
    match contents.unmanaged_members() {
        0 => {}
        1 => anstream::eprintln!(
            "1 service ID or trusted profile in exported groups is noted in a comment; orgsync never changes it."
        ),
        n => anstream::eprintln!(
            "{n} service IDs and trusted profiles in exported groups are noted in comments; orgsync never changes them."
        ),
    }
    if plan.is_empty() {
        anstream::eprintln!("Planning this file against the account finds no changes.");
        return;
    }
    let (count, them) = match plan.changes.len() {
        1 => ("1 membership".to_string(), "it"),
        n => (format!("{n} memberships"), "them"),
    };
    anstream::eprintln!(
        "note: {count} in exported groups cannot be expressed in the file (written as comments), so `orgsync plan` will propose removing {them}:"
    );
    for change in &plan.changes {
        if let Change::RemoveMember { group, iam_id, .. } = change {
            let why = contents
                .unlistable
                .iter()
                .find(|u| &u.iam_id == iam_id)
                .map(|u| match &u.email {
                    Some(email) => format!("{email}: {}", u.reason),
                    None => u.reason.to_string(),
                })
                .unwrap_or_default();
            anstream::eprintln!("  - {iam_id} from {group} ({why})");
        }
    }
}
