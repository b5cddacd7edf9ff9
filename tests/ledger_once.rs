//! Every actual is journalized and posted at most once, ever (issue 11, "Money"), on SQLite and
//! PostgreSQL: imports and postings run concurrently from several connection pools (as several
//! processes would) journalize and post each actual once; the store itself refuses a second
//! journal line or subledger row for an actual; an actual whose legal entity changed after it
//! was journalized or posted is refused by the import with a job-log error saying what to do;
//! a posted journal line cannot be deleted; an empty amount is an error, never 0.00; a journal
//! whose every line fails moves them to an error journal naming it.

mod common;

use std::collections::HashMap;

use common::TestStore;
use common::books::*;
use common::ledger::*;
use dualsync::accounting::db::{self, Db};
use dualsync::accounting::post::Journals;
use dualsync::accounting::{import, post};
use dualsync::store::sql::SqlStore;
use dualsync::tablemap::model::Side;
use uuid::Uuid;

/// Journal lines per actual.
async fn lines_per_actual(b: &Books) -> HashMap<Uuid, usize> {
    let mut out = HashMap::new();
    for l in b.lines().await {
        *out.entry(l.actual).or_default() += 1;
    }
    out
}

/// Many imports and postings at once, each on its own connection pool: every actual gets one
/// line and one posting; error lines are moved once, and no error journal is left empty.
async fn concurrent_imports_and_posts(t: TestStore) {
    let b = Books::new(t).await;
    // Unbilled sales without a posting setup: a line that cannot post.
    b.exec(
        "DELETE FROM \"ProjLedgerPostingSetup\" WHERE \"TransType\" = 'UnbilledSales'",
        &[],
    )
    .await;
    const N: usize = 1000;
    let actuals: Vec<Actual> = (0..N)
        .map(|i| {
            let company = if i % 4 == 0 { "DEMF" } else { "USPM" };
            let date = ["2026-07-10", "2026-08-10", "2026-09-10"][i % 3];
            let a = b.actual(company, date);
            // Every 50th has no posting setup: posting moves it to an error journal.
            if i % 50 == 7 {
                a.class("Retainer").kind("UnbilledSales")
            } else {
                a
            }
        })
        .collect();
    let bad = actuals.iter().filter(|a| a.class == "Retainer").count();
    // Staged in four parts, with the processes running between them.
    for part in actuals.chunks(N / 4) {
        b.stage(part).await;
        let mut set = tokio::task::JoinSet::new();
        for k in 0..6 {
            let store = SqlStore::open(&b.t.url).await.unwrap();
            set.spawn(async move {
                let db = Db::new(&store);
                if k % 3 == 2 {
                    post::post(&db, &Journals::All { company: None }).await.map(|_| ())
                } else {
                    import::import(&db, None).await.map(|_| ())
                }
            });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap().unwrap();
        }
    }
    import::import(&b.db, None).await.unwrap();
    post::post(&b.db, &Journals::All { company: None }).await.unwrap();

    let per_actual = lines_per_actual(&b).await;
    assert_eq!(per_actual.len(), N, "every actual journalized");
    let twice: Vec<_> = per_actual.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "actuals journalized more than once: {twice:?}");
    assert_eq!(
        b.check_ledger().await,
        N - bad,
        "every valid actual posted exactly once"
    );
    let errors: Vec<Line> = b.lines().await.into_iter().filter(|l| l.status == "Error").collect();
    assert_eq!(errors.len(), bad);
    for j in b.journals().await.iter().filter(|j| j.original.is_some()) {
        let n = b
            .count(
                "SELECT COUNT(*) FROM \"ProjCDSIntegrationJournalLine\" WHERE \"JournalId\" = ?",
                &[db::text(&j.id)],
            )
            .await;
        assert!(n > 0, "error journal {} is empty", j.id);
    }

    // The store itself refuses a second line or a second posting of an actual.
    let posted = actuals.iter().find(|a| a.trans_type == "Cost").unwrap();
    let line = b.line(posted.id).await;
    let second_line =
        b.db.execute(
            "INSERT INTO \"ProjCDSIntegrationJournalLine\" (\"DataAreaId\", \"JournalId\", \"LineNum\", \"ActualId\", \
             \"Status\") VALUES (?, ?, ?, ?, 'Draft')",
            &[
                db::text(&line.company),
                db::text(&line.journal),
                db::int(100_000),
                db::guid(posted.id),
            ],
        )
        .await;
    assert!(
        second_line.is_err(),
        "a second journal line for {} was accepted",
        posted.id
    );
    let second_posting =
        b.db.execute(
            "INSERT INTO \"ProjPostedTransTable\" (\"DataAreaId\", \"TransId\", \"ActualId\") VALUES (?, 'X-1', ?)",
            &[db::text(&line.company), db::guid(posted.id)],
        )
        .await;
    assert!(
        second_posting.is_err(),
        "a second posting of {} was accepted",
        posted.id
    );
}

/// An actual journalized or posted in one legal entity and then staged in another (its
/// company changed) is refused by the import, logged once with what to do; the first posting
/// and its written-back attributes stay as they are.
async fn company_change_is_refused(t: TestStore) {
    let b = Books::new(t).await;
    let posted = b.actual("USPM", "2026-07-10");
    b.stage(std::slice::from_ref(&posted)).await;
    assert_eq!(b.import().await.count("lines"), 1);
    assert_eq!(b.post_all().await.count("lines_posted"), 1);
    let first = b.posted_of(posted.id).await;
    let draft = b.actual("USPM", "2026-07-12");
    b.stage(std::slice::from_ref(&draft)).await;
    assert_eq!(b.import().await.count("lines"), 1);

    // Both actuals now name DEMF (a second staging row each, as another program could write).
    let mut moved_posted = posted.clone();
    moved_posted.company = "DEMF";
    moved_posted.currency = b.eur;
    let mut moved_draft = draft.clone();
    moved_draft.company = "DEMF";
    moved_draft.currency = b.eur;
    b.stage(&[moved_posted.clone(), moved_draft.clone()]).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("refused")), (0, 2), "{run:?}");
    let said = run.errors_of(posted.id);
    assert_eq!(said.len(), 1, "{run:?}");
    let m = &said[0].message;
    assert!(
        m.contains("already posted in legal entity USPM") && m.contains(&first.voucher) && m.contains("Reverse"),
        "{m}"
    );
    let said = run.errors_of(draft.id);
    assert_eq!(said.len(), 1, "{run:?}");
    let m = &said[0].message;
    assert!(
        m.contains("already journalized in legal entity USPM") && m.contains("Delete that journal line"),
        "{m}"
    );
    // Said once: the next run refuses them again without repeating itself.
    let run = b.import().await;
    assert_eq!(
        (run.count("lines"), run.count("refused"), run.errors.len()),
        (0, 2, 0),
        "{run:?}"
    );

    assert_eq!(b.post_all().await.count("lines_posted"), 1);
    assert_eq!(b.check_ledger().await, 2, "each actual posted once, in USPM");
    let again = b.posted_of(posted.id).await;
    assert_eq!((again.company.as_str(), &again.voucher), ("USPM", &first.voucher));
    assert_eq!(b.posted_of(draft.id).await.company, "USPM");
    let demf_lines = b.lines().await.into_iter().filter(|l| l.company == "DEMF").count();
    assert_eq!(demf_lines, 0);
}

/// Posted journal lines cannot be deleted, by dualsync or by another program, nor by deleting
/// their journal; unposted lines can.
async fn posted_lines_cannot_be_deleted(t: TestStore) {
    let b = Books::new(t).await;
    let posted = b.actual("USPM", "2026-07-10");
    b.stage(std::slice::from_ref(&posted)).await;
    b.import().await;
    b.post_all().await;
    let draft = b.actual("USPM", "2026-08-10");
    b.stage(std::slice::from_ref(&draft)).await;
    b.import().await;
    let line = b.line(posted.id).await;
    assert_eq!(line.status, "Posted");

    let refused =
        b.db.execute(
            "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
            &[db::guid(posted.id)],
        )
        .await
        .expect_err("a posted line was deleted");
    assert!(refused.to_string().contains("cannot be deleted"), "{refused}");
    let client = b.t.try_client(&format!(
        "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"JournalId\" = '{}'",
        line.journal
    ));
    assert!(client.is_err(), "another program deleted a posted line");
    let header =
        b.db.execute(
            "DELETE FROM \"ProjCDSIntegrationJournal\" WHERE \"JournalId\" = ?",
            &[db::text(&line.journal)],
        )
        .await;
    assert!(header.is_err(), "the posted journal was deleted with its lines");
    assert_eq!(b.line(posted.id).await.status, "Posted");

    let n = b
        .exec(
            "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
            &[db::guid(draft.id)],
        )
        .await;
    assert_eq!(n, 1, "an unposted line can be deleted");
    assert_eq!(b.check_ledger().await, 1);
}

/// An actual staged without an amount is not imported (the job log says why, on every run,
/// until the amount is there); it is never posted as 0.00.
async fn empty_amount_is_an_error(t: TestStore) {
    let b = Books::new(t).await;
    let empty = b.actual("USPM", "2026-07-10");
    let fine = b.actual("USPM", "2026-07-10");
    b.stage(&[empty.clone(), fine.clone()]).await;
    b.exec(
        "UPDATE \"ProjCDSActualsImport\" SET \"Amount\" = NULL WHERE \"ActualId\" = ?",
        &[db::guid(empty.id)],
    )
    .await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("not_imported")), (1, 1), "{run:?}");
    let said = run.errors_of(empty.id);
    assert_eq!(said.len(), 1, "{run:?}");
    assert!(said[0].message.contains("no amount"), "{}", said[0].message);
    assert!(!b.has_line(empty.id).await);
    assert_eq!(b.post_all().await.count("lines_posted"), 1);
    assert_eq!(b.check_ledger().await, 1);

    b.exec(
        "UPDATE \"ProjCDSActualsImport\" SET \"Amount\" = ? WHERE \"ActualId\" = ?",
        &[db::dec(money("12.34")), db::guid(empty.id)],
    )
    .await;
    assert_eq!(b.import().await.count("lines"), 1);
    b.post_all().await;
    assert_eq!(b.posted_of(empty.id).await.amount_cur, money("12.34"));
    assert_eq!(b.check_ledger().await, 2);
}

/// A journal whose every line fails moves them all to a new journal naming it; posting that
/// error journal again unfixed keeps them there (no chain of error journals).
async fn all_lines_failing_move_to_an_error_journal(t: TestStore) {
    let b = Books::new(t).await;
    // Unbilled sales without a posting setup: a line that cannot post.
    b.exec(
        "DELETE FROM \"ProjLedgerPostingSetup\" WHERE \"TransType\" = 'UnbilledSales'",
        &[],
    )
    .await;
    let bad: Vec<Actual> = ["2026-07-10", "2026-07-11"]
        .iter()
        .map(|d| b.actual("USPM", d).class("Retainer").kind("UnbilledSales"))
        .collect();
    b.stage(&bad).await;
    b.import().await;
    let source = b.line(bad[0].id).await.journal;
    let run = b.post(Journals::Named(vec![source.clone()])).await;
    assert_eq!(
        (
            run.count("lines_posted"),
            run.count("lines_transferred"),
            run.errors.len()
        ),
        (0, 2, 2),
        "{run:?}"
    );
    let target = b.line(bad[0].id).await.journal;
    assert_ne!(target, source, "the lines moved");
    assert_eq!(b.line(bad[1].id).await.journal, target);
    let e = b.journal(&target).await;
    assert_eq!(
        (e.original.as_deref(), e.status.as_str()),
        (Some(source.as_str()), "Open")
    );
    for a in &bad {
        let l = b.line(a.id).await;
        assert_eq!(l.status, "Error");
        assert!(
            l.error
                .as_deref()
                .unwrap_or_default()
                .contains("no ledger posting setup"),
            "{l:?}"
        );
    }
    let left = b
        .count(
            "SELECT COUNT(*) FROM \"ProjCDSIntegrationJournalLine\" WHERE \"JournalId\" = ?",
            &[db::text(&source)],
        )
        .await;
    assert_eq!(left, 0);

    let journals = b.journals().await.len();
    let run = b.post(Journals::Named(vec![target.clone()])).await;
    assert_eq!(
        (run.count("lines_posted"), run.count("lines_transferred")),
        (0, 0),
        "{run:?}"
    );
    assert_eq!(b.journals().await.len(), journals, "no chained error journal");
    assert_eq!(b.line(bad[0].id).await.journal, target);

    b.exec(
        "INSERT INTO \"ProjLedgerPostingSetup\" (\"DataAreaId\", \"TransType\", \"TransactionClassification\", \
         \"DebitMainAccount\", \"CreditMainAccount\") VALUES ('USPM', 'UnbilledSales', 'Retainer', '130100', '400100')",
        &[],
    )
    .await;
    assert_eq!(
        b.post(Journals::Named(vec![target.clone()]))
            .await
            .count("lines_posted"),
        2
    );
    assert_eq!(b.journal(&target).await.status, "Posted");
    assert_eq!(b.check_ledger().await, 2);
}

both!(lo_concurrent, Side::Accounting, concurrent_imports_and_posts);
both!(lo_company_change, Side::Accounting, company_change_is_refused);
both!(lo_delete_posted, Side::Accounting, posted_lines_cannot_be_deleted);
both!(lo_empty_amount, Side::Accounting, empty_amount_is_an_error);
both!(
    lo_all_lines_fail,
    Side::Accounting,
    all_lines_failing_move_to_an_error_journal
);
