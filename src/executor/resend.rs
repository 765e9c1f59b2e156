//! The one protocol for writes that must not be repeated: send; when the answer leaves it
//! open whether the write landed, re-read the account, keep what landed, and resend only
//! the rest (docs/reconciliation.md).
//!
//! An invitation sent twice is two invitations; a group create sent twice fails on the
//! name the first one took, and so does a policy create (on its target) or a custom role
//! create (on its name); a rule create sent twice is two rules. Yet IBM may carry out a
//! call whose answer never arrives (a
//! timeout, a dropped connection, a 5xx from a gateway after the fact). So the client
//! makes such a write once (retrying only what cannot duplicate it: a connection that
//! never opened, a 429), and this module decides what happens next.
//!
//! A write plugs in by implementing [`NonIdempotent`]: how to send a batch of items, how
//! to find them in the account (landed, missing, or blocked by something else in its
//! place: [`Seen`]), which errors mean "it may have landed", and whether what a re-read
//! did not find is sent again. [`send_once`]
//! does the rest, in rounds paced by the client's backoff and bounded by its attempts:
//! each round is safe (it sends only what a re-read proved absent), so the bound is about
//! time, not harm.

use std::fmt::Display;
use std::future::Future;

use super::account::IamWrite;
use super::report::{Problem, Unknown};
use crate::iam::IamError;

/// What a re-read found of one item.
pub(super) enum Seen<L> {
    /// It is there, as the write would have made it.
    Landed(L),
    /// It is not there: send it (again).
    Missing,
    /// Something else is where it would be (made by someone else since the plan):
    /// sending it cannot succeed, and it did not land.
    Blocked(Problem),
}

/// A write that IBM may carry out without saying so, and that must then not be sent again.
pub(super) trait NonIdempotent: Sync {
    /// One thing the write makes: an email to invite, a group to create (displayed as
    /// what IBM's answer names it by).
    type Item: Display + Send + Sync;
    /// What the executor learns of an item that landed (an IAM id, a group id, the
    /// transaction id of the call).
    type Landed: Send;

    /// The write and the read that checks it, as messages name them: "the invitation"
    /// and "the users".
    const WRITE: &'static str;
    const READ: &'static str;

    /// Sends `items` in one call. On success: one `Landed` per item, in order.
    fn send(
        &self,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<Vec<Self::Landed>, IamError>> + Send;

    /// Reads the account: for each of `items`, in order, what the account shows of it.
    fn find(
        &self,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<Vec<Seen<Self::Landed>>, IamError>> + Send;

    /// Whether `error` leaves it open that the items landed. `after_unsure`: an earlier
    /// round of this write already ended that way. By default the ambiguous failures
    /// (timeout, dropped connection, 5xx), and a 409 Conflict after an ambiguous round:
    /// the earlier round's write, landed after all.
    fn may_have_landed(&self, error: &IamError, after_unsure: bool) -> bool {
        error.is_ambiguous() || (after_unsure && error.is_conflict())
    }

    /// Whether items the re-read after `error` did not find are sent again. By default
    /// yes; a write whose 409 names a conflict the re-read cannot explain (IBM's duplicate
    /// check may be broader than the listing shows) says no: the 409 is the answer.
    fn resend_missing(&self, _error: &IamError) -> bool {
        true
    }
}

/// Sends `items` so that none lands twice; returns each item with what it became.
pub(super) async fn send_once<W, N>(
    writer: &W,
    write: &N,
    items: Vec<N::Item>,
) -> Vec<(N::Item, Result<N::Landed, Problem>)>
where
    W: IamWrite,
    N: NonIdempotent,
{
    let mut pending = items;
    let mut settled = Vec::with_capacity(pending.len());
    // The last error that left it open whether the write landed.
    let mut unsure: Option<IamError> = None;
    for round in 1..=writer.max_attempts() {
        if pending.is_empty() {
            break;
        }
        let error = match write.send(&pending).await {
            Ok(landed) => {
                settle_answered(&mut settled, std::mem::take(&mut pending), landed);
                break;
            }
            Err(e) if write.may_have_landed(&e, unsure.is_some()) => e,
            Err(e) => {
                let info = e.info();
                settled.extend(
                    pending
                        .drain(..)
                        .map(|it| (it, Err(Problem::Api(info.clone())))),
                );
                break;
            }
        };
        // Give IBM time to recover, and its listings time to show what landed, then look.
        writer.backoff(round).await;
        match write.find(&pending).await {
            Ok(found) => pending = keep_missing(&mut settled, pending, found),
            Err(read) => {
                let problem = Problem::Unknown(Unknown::Unsettled {
                    write: N::WRITE,
                    error: error.to_string(),
                    read: N::READ,
                    read_error: read.to_string(),
                });
                settled.extend(pending.drain(..).map(|it| (it, Err(problem.clone()))));
                break;
            }
        }
        if !pending.is_empty() && !write.resend_missing(&error) {
            let info = error.info();
            settled.extend(
                pending
                    .drain(..)
                    .map(|it| (it, Err(Problem::Api(info.clone())))),
            );
            break;
        }
        unsure = Some(error);
    }
    let last = match unsure {
        Some(e) => Problem::Api(e.info()),
        None => Problem::Unknown(Unknown::NeverSent { write: N::WRITE }),
    };
    settled.extend(pending.into_iter().map(|it| (it, Err(last.clone()))));
    settled
}

/// Records a successful send. An answer that leaves an item out is not taken as "landed".
fn settle_answered<I: Display, L>(
    settled: &mut Vec<(I, Result<L, Problem>)>,
    items: Vec<I>,
    landed: Vec<L>,
) {
    let mut landed = landed.into_iter();
    for item in items {
        let outcome = landed
            .next()
            .ok_or_else(|| Problem::Unknown(Unknown::NotMentioned(item.to_string())));
        settled.push((item, outcome));
    }
}

/// Settles the items a re-read found (landed, or blocked); returns the others, to send
/// again.
fn keep_missing<I, L>(
    settled: &mut Vec<(I, Result<L, Problem>)>,
    items: Vec<I>,
    found: Vec<Seen<L>>,
) -> Vec<I> {
    let mut found = found.into_iter();
    let mut missing = Vec::new();
    for item in items {
        match found.next().unwrap_or(Seen::Missing) {
            Seen::Landed(landed) => settled.push((item, Ok(landed))),
            Seen::Blocked(problem) => settled.push((item, Err(problem))),
            Seen::Missing => missing.push(item),
        }
    }
    missing
}
