//! The integration journal of the accounting store, on SQLite and on PostgreSQL: import from
//! staging and posting, run in-process on the demo accounting setup with staging rows made to
//! measure (and, for the crash test, `dualsync journal post` as a child process). Covers:
//! grouping into journals by period unit (Days, Months, Years, All) across month and year
//! boundaries, with a new All journal while the open one is being posted; closed periods with
//! the accounting-date parameter on (moved to the next open period) and off (an Error line,
//! moved to an error journal by posting); a missing exchange rate (not imported, logged with the
//! currency pair and date, imported once the rate exists); the project-category fallback to
//! `DefaultProjectCategoryId`; billing type → line property per legal entity; cost/unbilled
//! pairs (separate lines and vouchers, related in `ProjPostedTransRelationship`); error lines
//! moved to a journal naming the source, and left in place when an error journal still cannot
//! post; a
//! journal over the batch threshold posted in parallel chunks with a balanced ledger and the
//! posted attributes on every staging row; SIGKILL mid-post then a re-run (every actual posted
//! exactly once); re-running import (only new actuals; deleted unposted lines come back; the
//! editable billing sales tax group). Every command is checked against the job log: one run per
//! command, its counts, and every error line naming the actual.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Days;
use common::TestStore;
use common::books::*;
use common::ledger::*;
use dualsync::accounting::post::Journals;
use dualsync::accounting::{db, post};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};
use rust_decimal::Decimal;
use uuid::Uuid;
unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

// -- 1. grouping ---------------------------------------------------------------------------------

/// Each period unit groups the same four dates (across a year and two month boundaries) into
/// its own journals; with All, lines join the open journal until it is being posted, then a
/// new one starts.
async fn grouping(t: TestStore) {
    let b = Books::new(t).await;
    for (start, end) in [
        ("2024-12-01", "2024-12-31"),
        ("2025-01-01", "2025-01-31"),
        ("2025-02-01", "2025-02-28"),
    ] {
        b.add_period("USPM", start, end).await;
    }
    let dates = ["2024-12-31", "2025-01-01", "2025-01-31", "2025-02-01"];
    let cases: [(&str, [&str; 4], usize); 4] = [
        ("Days", dates, 4),
        ("Months", ["2024-12", "2025-01", "2025-01", "2025-02"], 3),
        ("Years", ["2024", "2025", "2025", "2025"], 2),
        ("All", ["All"; 4], 1),
    ];
    let mut all_journal = String::new();
    for (unit, keys, journals) in cases {
        b.set_param("USPM", "IntegrationJournalPeriodUnit", db::text(unit))
            .await;
        let before: HashSet<String> = b.journals().await.into_iter().map(|j| j.id).collect();
        let actuals: Vec<Actual> = dates.iter().map(|d| b.actual("USPM", d)).collect();
        b.stage(&actuals).await;
        let run = b.import().await;
        assert_eq!(run.count("lines"), 4, "{unit}: {run:?}");
        let mut journal_of_key: HashMap<&str, String> = HashMap::new();
        for (a, key) in actuals.iter().zip(keys) {
            let l = b.line(a.id).await;
            assert_eq!((l.trans_date, l.accounting_date), (a.date, Some(a.date)), "{unit}");
            assert_eq!(l.status, "Draft");
            let j = b.journal(&l.journal).await;
            assert!(!before.contains(&j.id), "{unit}: lines go to new journals");
            assert_eq!(
                (
                    j.unit.as_str(),
                    j.key.as_str(),
                    j.status.as_str(),
                    j.original.as_deref()
                ),
                (unit, key, "Open", None),
                "{unit}: journal of {}",
                a.date
            );
            let same = journal_of_key.entry(key).or_insert_with(|| j.id.clone());
            assert_eq!(*same, j.id, "{unit}: one journal per group {key}");
            all_journal = j.id.clone();
        }
        let distinct: HashSet<&String> = journal_of_key.values().collect();
        assert_eq!(distinct.len(), journals, "{unit}: {journal_of_key:?}");
    }

    // All: the open journal takes the next actual ...
    let fifth = b.actual("USPM", "2025-02-01");
    b.stage(std::slice::from_ref(&fifth)).await;
    b.import().await;
    let l = b.line(fifth.id).await;
    assert_eq!((l.journal.as_str(), l.line_num), (all_journal.as_str(), 5));
    // ... but not while it is being posted: then a new All journal starts.
    b.exec(
        "UPDATE \"ProjCDSIntegrationJournal\" SET \"Status\" = 'Posting' WHERE \"JournalId\" = ?",
        &[db::text(&all_journal)],
    )
    .await;
    let sixth = b.actual("USPM", "2025-02-01");
    b.stage(std::slice::from_ref(&sixth)).await;
    b.import().await;
    let l = b.line(sixth.id).await;
    assert_ne!(l.journal, all_journal);
    let j = b.journal(&l.journal).await;
    assert_eq!(
        (j.unit.as_str(), j.key.as_str(), j.status.as_str()),
        ("All", "All", "Open")
    );
    assert_eq!(l.line_num, 1);

    // Every line has its own voucher; posting everything (the Posting journal too) balances.
    let lines = b.lines().await;
    let vouchers: HashSet<&String> = lines.iter().map(|l| &l.voucher).collect();
    assert_eq!((lines.len(), vouchers.len()), (18, 18));
    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 18);
    assert_eq!(run.count("journals_posted"), 4 + 3 + 2 + 2);
    assert!(b.journals().await.iter().all(|j| j.status == "Posted"));
    assert_eq!(b.check_ledger().await, 18);
    for p in b.posted().await {
        assert_eq!(p.accounting_date, p.trans_date, "open periods keep the date");
    }
}

// -- 2. closed periods ---------------------------------------------------------------------------

/// With AutoSetAccountingDateToOpenPeriod on, a date in the closed first fiscal month is
/// booked on the first day of the next open month; with it off, the line is imported with
/// status Error and a message, and posting moves it to an error journal.
async fn closed_period(t: TestStore) {
    let b = Books::new(t).await;
    let moved_uspm = b.actual("USPM", "2026-06-15");
    let moved_demf = b.actual("DEMF", "2026-06-30");
    let open = b.actual("USPM", "2026-07-02");
    b.stage(&[moved_uspm.clone(), moved_demf.clone(), open.clone()]).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.errors.len()), (3, 0));
    for (a, accounting) in [
        (&moved_uspm, "2026-07-01"),
        (&moved_demf, "2026-07-01"),
        (&open, "2026-07-02"),
    ] {
        let l = b.line(a.id).await;
        assert_eq!((l.trans_date, l.accounting_date), (a.date, Some(day(accounting))));
        assert_eq!((l.status.as_str(), l.error.as_deref()), ("Draft", None));
    }

    b.set_param("USPM", "AutoSetAccountingDateToOpenPeriod", db::boolean(false))
        .await;
    let stuck = b.actual("USPM", "2026-06-20");
    b.stage(std::slice::from_ref(&stuck)).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("lines_with_errors")), (1, 1));
    let l = b.line(stuck.id).await;
    let source = l.journal.clone();
    assert_eq!(
        source,
        b.line(moved_uspm.id).await.journal,
        "both in the 2026-06 journal"
    );
    assert_eq!((l.status.as_str(), l.accounting_date), ("Error", Some(stuck.date)));
    let message = l.error.clone().unwrap();
    for part in ["2026-06-20", "closed period", "AutoSetAccountingDateToOpenPeriod"] {
        assert!(message.contains(part), "{message}");
    }
    let logged = run.errors_of(stuck.id);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].journal.as_deref(), Some(source.as_str()));
    assert_eq!(logged[0].message, message);

    let run = b.post_all().await;
    assert_eq!(
        (run.count("lines_posted"), run.count("lines_transferred")),
        (3, 1),
        "{run:?}"
    );
    assert_eq!(run.errors.len(), 1);
    assert!(run.errors[0].message.contains("closed period"), "{run:?}");
    assert_eq!(run.errors_of(stuck.id).len(), 1);
    let l = b.line(stuck.id).await;
    assert_ne!(l.journal, source);
    assert_eq!(l.status, "Error");
    let error_journal = b.journal(&l.journal).await;
    assert_eq!(error_journal.original.as_deref(), Some(source.as_str()));
    assert_eq!(error_journal.status, "Open");
    assert_eq!(b.journal(&source).await.status, "Posted");
    assert_eq!(b.posted_of(moved_uspm.id).await.accounting_date, day("2026-07-01"));
    assert_eq!(b.posted_of(moved_demf.id).await.accounting_date, day("2026-07-01"));
    assert_eq!(b.check_ledger().await, 3);
}

// -- 3. missing exchange rate --------------------------------------------------------------------

/// An actual without an exchange rate into the accounting currency is not imported; the job
/// log names the pair and the date; once the rate exists, the next import takes it.
async fn missing_exchange_rate(t: TestStore) {
    let b = Books::new(t).await;
    let n = b
        .exec(
            "DELETE FROM \"ExchangeRate\" WHERE \"FromCurrencyCode\" = 'USD' AND \"ToCurrencyCode\" = 'EUR' \
             AND \"ValidFrom\" = ?",
            &[db::date(day("2026-08-01"))],
        )
        .await;
    assert_eq!(n, 1);
    let usd = b.actual("DEMF", "2026-08-10").currency(b.usd).amount("123.45");
    let gbp = b.actual("DEMF", "2026-08-10").currency(b.gbp).amount("50.00");
    b.stage(&[usd.clone(), gbp.clone()]).await;

    for attempt in 0..2 {
        let run = b.import().await;
        assert_eq!(
            (run.count("lines"), run.count("not_imported")),
            (if attempt == 0 { 1 } else { 0 }, 1),
            "{run:?}"
        );
        let logged = run.errors_of(usd.id);
        assert_eq!(logged.len(), 1, "{run:?}");
        assert_eq!(logged[0].company.as_deref(), Some("DEMF"));
        for part in ["USD", "EUR", "2026-08-10"] {
            assert!(logged[0].message.contains(part), "{}", logged[0].message);
        }
        assert!(!b.has_line(usd.id).await, "no line without a rate");
    }
    let l = b.line(gbp.id).await;
    let rate = b.rate_on("GBP", "EUR", gbp.date).await;
    assert_eq!((l.currency.as_str(), l.rate), ("GBP", rate));
    assert_eq!(l.amount_mst, round_to(money("50.00") * rate, 2));

    b.exec(
        "INSERT INTO \"ExchangeRate\" (\"FromCurrencyCode\", \"ToCurrencyCode\", \"ValidFrom\", \"ValidTo\", \"Rate\") \
         VALUES ('USD', 'EUR', ?, ?, ?)",
        &[
            db::date(day("2026-08-01")),
            db::date(day("2026-08-31")),
            db::dec(money("0.91234")),
        ],
    )
    .await;
    let run = b.import().await;
    assert_eq!(
        (run.count("lines"), run.count("not_imported"), run.errors.len()),
        (1, 0, 0)
    );
    let l = b.line(usd.id).await;
    assert_eq!(
        (l.currency.as_str(), l.rate, l.amount_cur, l.amount_mst),
        ("USD", money("0.91234"), money("123.45"), money("112.63"))
    );
    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 2);
    assert_eq!(b.posted_of(usd.id).await.amount_mst, money("112.63"));
    assert_eq!(b.check_ledger().await, 2);
}

// -- 4. category fallback ------------------------------------------------------------------------

/// The project category is that of the actual's shared category and transaction type in the
/// legal entity; without a transaction category, or when the legal entity has no project
/// category for it, the legal entity's DefaultProjectCategoryId; with neither, an Error line.
async fn category_fallback(t: TestStore) {
    let b = Books::new(t).await;
    let shared = |id: &'static str| {
        let b = &b;
        async move {
            b.rows(
                "SELECT \"SharedCategoryId\" FROM \"ProjCategory\" WHERE \"DataAreaId\" = 'USPM' AND \"CategoryId\" = ?",
                &[db::text(id)],
                &[ValueType::Guid],
            )
            .await
            .remove(0)
            .guid()
            .unwrap()
        }
    };
    let travel = shared("TRAVEL-EXPENSE").await;
    let hotel = shared("HOTEL-EXPENSE").await;
    // DEMF has no project categories for hotel, and its own default.
    let n = b
        .exec(
            "DELETE FROM \"ProjCategory\" WHERE \"DataAreaId\" = 'DEMF' AND \"SharedCategoryId\" = ?",
            &[db::guid(hotel)],
        )
        .await;
    assert_eq!(n, 4);
    b.set_param("DEMF", "DefaultProjectCategoryId", db::text("DEV-HOUR"))
        .await;

    let cases = [
        (
            b.actual("USPM", "2026-07-06").class("Expense").category(Some(travel)),
            "TRAVEL-EXPENSE",
        ),
        (b.actual("USPM", "2026-07-06").category(Some(travel)), "TRAVEL-HOUR"),
        (
            b.actual("USPM", "2026-07-06").class("Material").category(Some(hotel)),
            "HOTEL-ITEM",
        ),
        (b.actual("USPM", "2026-07-06"), "CONSULT-HOUR"),
        (
            b.actual("USPM", "2026-07-06")
                .class("Expense")
                .category(Some(Uuid::new_v4())),
            "CONSULT-HOUR",
        ),
        (b.actual("DEMF", "2026-07-06"), "DEV-HOUR"),
        (
            b.actual("DEMF", "2026-07-06").class("Expense").category(Some(hotel)),
            "DEV-HOUR",
        ),
        (
            b.actual("DEMF", "2026-07-06").class("Expense").category(Some(travel)),
            "TRAVEL-EXPENSE",
        ),
    ];
    let actuals: Vec<Actual> = cases.iter().map(|(a, _)| a.clone()).collect();
    b.stage(&actuals).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.errors.len()), (8, 0));
    for (a, category) in &cases {
        let l = b.line(a.id).await;
        assert_eq!(
            (l.category.as_deref(), l.status.as_str()),
            (Some(*category), "Draft"),
            "{a:?}"
        );
    }

    // Without a default, an actual without transaction category cannot be booked.
    b.set_param(
        "USPM",
        "DefaultProjectCategoryId",
        db::value(&Value::Null, ValueType::Text),
    )
    .await;
    let orphan = b.actual("USPM", "2026-07-06");
    b.stage(std::slice::from_ref(&orphan)).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("lines_with_errors")), (1, 1));
    assert!(
        run.errors_of(orphan.id)[0].message.contains("no project category"),
        "{run:?}"
    );
    let l = b.line(orphan.id).await;
    assert_eq!((l.category, l.status.as_str()), (None, "Error"));

    let run = b.post_all().await;
    assert_eq!((run.count("lines_posted"), run.count("lines_transferred")), (8, 1));
    for (a, category) in &cases {
        assert_eq!(b.posted_of(a.id).await.category.as_deref(), Some(*category));
    }
    assert_eq!(b.check_ledger().await, 8);
}

// -- 5. line properties --------------------------------------------------------------------------

/// The billing type picks the line property through the legal entity's mapping; an actual
/// without billing type uses the NotSpecified row; an unmapped billing type is an Error line.
/// (Imported and posted one legal entity at a time.)
async fn line_properties(t: TestStore) {
    let b = Books::new(t).await;
    b.exec(
        "UPDATE \"ProjCDSLinePropertyMapping\" SET \"LinePropertyId\" = 'Chargeable' \
         WHERE \"DataAreaId\" = 'DEMF' AND \"BillingType\" = 'NotSpecified'",
        &[],
    )
    .await;
    b.exec(
        "DELETE FROM \"ProjCDSLinePropertyMapping\" WHERE \"DataAreaId\" = 'USPM' AND \"BillingType\" = 'NotAvailable'",
        &[],
    )
    .await;
    let cases = [
        ("USPM", Some("Chargeable"), "Chargeable"),
        ("USPM", Some("NonChargeable"), "NonCharge"),
        ("USPM", Some("Complimentary"), "Complimentary"),
        ("USPM", None, "NonCharge"),
        ("DEMF", None, "Chargeable"),
        ("DEMF", Some("NonChargeable"), "NonCharge"),
        ("DEMF", Some("NotAvailable"), "NonCharge"),
    ];
    let actuals: Vec<Actual> = cases
        .iter()
        .map(|&(company, billing, _)| b.actual(company, "2026-07-07").billing(billing))
        .collect();
    let unmapped = b.actual("USPM", "2026-07-07").billing(Some("NotAvailable"));
    b.stage(&actuals).await;
    b.stage(std::slice::from_ref(&unmapped)).await;
    // One legal entity at a time: DEMF, then the rest.
    let run = b.import_for(Some("DEMF")).await;
    assert_eq!((run.count("lines"), run.errors.len()), (3, 0));
    assert!(b.lines().await.iter().all(|l| l.company == "DEMF"));
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("lines_with_errors")), (5, 1));
    for (a, &(_, _, property)) in actuals.iter().zip(&cases) {
        let l = b.line(a.id).await;
        assert_eq!(
            (l.line_property.as_deref(), l.status.as_str()),
            (Some(property), "Draft"),
            "{a:?}"
        );
    }
    let l = b.line(unmapped.id).await;
    assert_eq!((l.line_property.as_deref(), l.status.as_str()), (None, "Error"));
    let message = l.error.unwrap();
    assert!(
        message.contains("NotAvailable") && message.contains("USPM"),
        "{message}"
    );
    assert_eq!(run.errors_of(unmapped.id)[0].message, message);

    let run = b
        .post(Journals::All {
            company: Some("DEMF".into()),
        })
        .await;
    assert_eq!((run.count("lines_posted"), run.errors.len()), (3, 0));
    assert!(
        b.lines()
            .await
            .iter()
            .all(|l| (l.company == "DEMF") == (l.status == "Posted")),
        "only DEMF posted"
    );
    let run = b.post_all().await;
    assert_eq!((run.count("lines_posted"), run.count("lines_transferred")), (4, 1));
    for (a, &(_, _, property)) in actuals.iter().zip(&cases) {
        assert_eq!(b.posted_of(a.id).await.line_property.as_deref(), Some(property));
    }
    assert_eq!(b.check_ledger().await, 7);
}

// -- 6. cost and unbilled sales ------------------------------------------------------------------

/// A connected cost and unbilled-sales pair: two lines with their own vouchers, related in
/// ProjPostedTransRelationship once both have lines (the second may come in a later import),
/// each posted to its own accounts.
async fn cost_unbilled_pairs(t: TestStore) {
    let b = Books::new(t).await;
    let cost = b.actual("USPM", "2026-07-08").amount("80.00");
    let unbilled = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("150.00");
    let cost2 = b.actual("USPM", "2026-07-09").class("Expense").amount("40.00");
    let unbilled2 = b
        .actual("USPM", "2026-07-09")
        .class("Expense")
        .kind("UnbilledSales")
        .amount("55.00");
    let (r1, r2) = (Uuid::new_v4(), Uuid::new_v4());
    b.stage(&[cost.clone(), unbilled.clone(), cost2.clone()]).await;
    b.relate(r1, (cost.id, "Cost"), (unbilled.id, "UnbilledSales")).await;
    b.relate(r2, (cost2.id, "Cost"), (unbilled2.id, "UnbilledSales")).await;

    let relation = |id: Uuid| {
        let b = &b;
        async move {
            use ValueType::{Bool, Guid, Text};
            let processed = b
                .rows(
                    "SELECT \"IsProcessed\" FROM \"ProjCDSTransactionRelationshipImport\" WHERE \"ConnectionId\" = ?",
                    &[db::guid(id)],
                    &[Bool],
                )
                .await
                .remove(0)
                .boolean();
            let related = b
                .rows(
                    "SELECT \"Transaction1Id\", \"Transaction1DataAreaId\", \"Transaction1Voucher\", \"Transaction1Role\", \
                     \"Transaction2Id\", \"Transaction2DataAreaId\", \"Transaction2Voucher\", \"Transaction2Role\" \
                     FROM \"ProjPostedTransRelationship\" WHERE \"ConnectionId\" = ?",
                    &[db::guid(id)],
                    &[Guid, Text, Text, Text, Guid, Text, Text, Text],
                )
                .await
                .into_iter()
                .map(|mut c| {
                    (
                        (c.guid().unwrap(), c.text().unwrap(), c.text().unwrap(), c.text().unwrap()),
                        (c.guid().unwrap(), c.text().unwrap(), c.text().unwrap(), c.text().unwrap()),
                    )
                })
                .next();
            (processed, related)
        }
    };
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("related_vouchers")), (3, 1));
    let (lc, lu) = (b.line(cost.id).await, b.line(unbilled.id).await);
    assert_ne!(lc.voucher, lu.voucher, "separate vouchers");
    assert_ne!(lc.line_num, lu.line_num, "separate lines");
    let expected = |c: &Line, u: &Line| {
        (
            (c.actual, "USPM".to_string(), c.voucher.clone(), "Cost".to_string()),
            (
                u.actual,
                "USPM".to_string(),
                u.voucher.clone(),
                "UnbilledSales".to_string(),
            ),
        )
    };
    assert_eq!(relation(r1).await, (true, Some(expected(&lc, &lu))));
    assert_eq!(relation(r2).await, (false, None), "related once both have lines");

    b.stage(std::slice::from_ref(&unbilled2)).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("related_vouchers")), (1, 1));
    let (lc2, lu2) = (b.line(cost2.id).await, b.line(unbilled2.id).await);
    assert_ne!(lc2.voucher, lu2.voucher);
    assert_eq!(relation(r2).await, (true, Some(expected(&lc2, &lu2))));

    // A deleted unposted line of a pair comes back with a new voucher: the relation follows it.
    b.exec(
        "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
        &[db::guid(unbilled.id)],
    )
    .await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("related_vouchers")), (1, 1));
    let lu = b.line(unbilled.id).await;
    assert_ne!(lu.voucher, lc.voucher);
    assert_eq!(relation(r1).await, (true, Some(expected(&lc, &lu))));

    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 4);
    for (a, voucher, accounts) in [
        (&cost, &lc.voucher, ("600100", "200400")),
        (&unbilled, &lu.voucher, ("130100", "400100")),
        (&cost2, &lc2.voucher, ("600200", "200500")),
        (&unbilled2, &lu2.voucher, ("130100", "400100")),
    ] {
        assert_eq!(&b.posted_of(a.id).await.voucher, voucher);
        assert_eq!(
            b.accounts_of(a.id).await,
            (accounts.0.to_string(), accounts.1.to_string())
        );
    }
    assert_eq!(b.check_ledger().await, 4);
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("related_vouchers")), (0, 0));
    assert_eq!(
        b.count("SELECT COUNT(*) FROM \"ProjPostedTransRelationship\"", &[])
            .await,
        2
    );
}

// -- 7. error lines ------------------------------------------------------------------------------

/// Posting a journal with bad lines (no ledger posting setup; an accounting date in a closed
/// period with the parameter off) posts the good lines and moves the bad ones to a new journal
/// naming the source. Posting that journal while nothing is fixed leaves its lines where they
/// are; once fixed, they post. Without transfer, a journal with a bad line posts nothing.
async fn error_lines_transfer(t: TestStore) {
    let b = Books::new(t).await;
    // Unbilled sales without a posting setup: a line that cannot post.
    b.exec(
        "DELETE FROM \"ProjLedgerPostingSetup\" WHERE \"TransType\" = 'UnbilledSales'",
        &[],
    )
    .await;
    b.set_param("USPM", "AutoSetAccountingDateToOpenPeriod", db::boolean(false))
        .await;
    let good: Vec<Actual> = ["2026-07-10", "2026-07-11", "2026-07-12"]
        .iter()
        .map(|d| b.actual("USPM", d))
        .collect();
    let no_setup = b.actual("USPM", "2026-07-13").class("Retainer").kind("UnbilledSales");
    let closed = b.actual("USPM", "2026-07-14").accounting_date("2026-06-30");
    b.stage(&good).await;
    b.stage(&[no_setup.clone(), closed.clone()]).await;
    let run = b.import().await;
    assert_eq!((run.count("lines"), run.count("lines_with_errors")), (5, 1));
    assert_eq!(
        b.line(no_setup.id).await.status,
        "Draft",
        "the posting setup is checked at posting"
    );
    assert_eq!(b.line(closed.id).await.status, "Error");
    let source = b.line(good[0].id).await.journal;
    assert_eq!(b.journals().await.len(), 1);

    let run = b.post(Journals::Named(vec![source.clone()])).await;
    assert_eq!(
        (
            run.count("lines_posted"),
            run.count("lines_transferred"),
            run.count("journals_posted"),
            run.count("lines_with_errors")
        ),
        (3, 2, 1, 2),
        "{run:?}"
    );
    for (a, part) in [
        (
            &no_setup,
            "no ledger posting setup for transaction type UnbilledSales and classification Retainer",
        ),
        (&closed, "closed period"),
    ] {
        let logged = run.errors_of(a.id);
        assert_eq!(logged.len(), 1, "{run:?}");
        assert_eq!(logged[0].journal.as_deref(), Some(source.as_str()));
        assert!(logged[0].message.contains(part), "{}", logged[0].message);
        let l = b.line(a.id).await;
        assert_eq!(l.status, "Error");
        assert!(l.error.as_deref().unwrap().contains(part), "{l:?}");
    }
    assert_eq!(b.journal(&source).await.status, "Posted");
    let target = b.line(no_setup.id).await.journal;
    assert_ne!(target, source);
    assert_eq!(b.line(closed.id).await.journal, target);
    let e = b.journal(&target).await;
    assert_eq!(
        (
            e.original.as_deref(),
            e.status.as_str(),
            e.unit.as_str(),
            e.key.as_str()
        ),
        (Some(source.as_str()), "Open", "Months", "2026-07")
    );
    let mut moved: Vec<i64> = b
        .lines()
        .await
        .iter()
        .filter(|l| l.journal == target)
        .map(|l| l.line_num)
        .collect();
    moved.sort();
    assert_eq!(moved, [1, 2]);
    for a in &good {
        let l = b.line(a.id).await;
        assert_eq!((l.journal.as_str(), l.status.as_str()), (source.as_str(), "Posted"));
    }
    assert_eq!(b.check_ledger().await, 3);

    // Posting the error journal with nothing fixed: the lines stay where they are, no new journal.
    let run = b.post_all().await;
    assert_eq!((run.count("lines_posted"), run.errors.len()), (0, 2), "{run:?}");
    assert_eq!(b.journals().await.len(), 2, "{:?}", b.journals().await);
    assert_eq!(b.journal(&target).await.status, "Open");
    for a in [&no_setup, &closed] {
        let l = b.line(a.id).await;
        assert_eq!((l.journal.as_str(), l.status.as_str()), (target.as_str(), "Error"));
    }

    // Fixed: a posting setup for the type, the period opened; the error journal posts.
    b.exec(
        "INSERT INTO \"ProjLedgerPostingSetup\" (\"DataAreaId\", \"TransType\", \"TransactionClassification\", \
         \"DebitMainAccount\", \"CreditMainAccount\") VALUES ('USPM', 'UnbilledSales', 'Retainer', '130100', '400100')",
        &[],
    )
    .await;
    b.set_period_status("USPM", "2026-06-01", "Open").await;
    let run = b.post(Journals::Named(vec![target.clone()])).await;
    assert_eq!(
        (
            run.count("lines_posted"),
            run.count("journals_posted"),
            run.errors.len()
        ),
        (2, 1, 0)
    );
    assert_eq!(b.journal(&target).await.status, "Posted");
    assert_eq!(b.posted_of(closed.id).await.accounting_date, day("2026-06-30"));
    assert_eq!(b.check_ledger().await, 5);

    // Without transfer (DEMF), a journal with a bad line posts nothing.
    b.set_param("DEMF", "TransferLinesWithPostingErrors", db::boolean(false))
        .await;
    let fine = b.actual("DEMF", "2026-07-20");
    let bad = b.actual("DEMF", "2026-07-20").class("Retainer").kind("UnbilledSales");
    b.stage(&[fine.clone(), bad.clone()]).await;
    b.import().await;
    let demf = b.line(fine.id).await.journal;
    assert_eq!(b.line(bad.id).await.journal, demf);
    let journals = b.journals().await.len();
    let run = b.post(Journals::Named(vec![demf.clone()])).await;
    assert_eq!((run.count("lines_posted"), run.errors.len()), (0, 1), "{run:?}");
    assert_eq!(run.errors_of(bad.id).len(), 1);
    assert_eq!(b.journals().await.len(), journals);
    assert_eq!(b.journal(&demf).await.status, "Open");
    assert_eq!(b.line(fine.id).await.status, "Draft");
    assert_eq!(b.line(bad.id).await.status, "Error");
    assert_eq!(b.check_ledger().await, 5);
}

// -- 8. a large journal --------------------------------------------------------------------------

/// A journal of 430 lines on USPM (threshold 100, four parallel tasks) in three currencies:
/// every line posted exactly once, every voucher balanced, the accounting amount the amount at
/// the table's rate rounded to cents, the posted attributes on every staging row. Then another
/// large journal posted by two runs at once: each line still posts once.
async fn large_journal(t: TestStore) {
    let b = Books::new(t).await;
    let mut c = b
        .rows(
            "SELECT \"BatchPostingLineThreshold\", \"PostingParallelTasks\" FROM \"ProjParameters\" \
             WHERE \"DataAreaId\" = 'USPM'",
            &[],
            &[ValueType::Int, ValueType::Int],
        )
        .await
        .remove(0);
    assert_eq!((c.int(), c.int()), (Some(100), Some(4)));
    const N: usize = 430;
    let currencies = [b.usd, b.eur, b.gbp];
    let kinds = [
        ("Time", "Cost"),
        ("Expense", "Cost"),
        ("Material", "Cost"),
        ("Time", "UnbilledSales"),
        ("Fee", "UnbilledSales"),
    ];
    let actuals: Vec<Actual> = (0..N)
        .map(|i| {
            let mut a = b.actual("USPM", "2026-08-01");
            a.date = day("2026-08-01") + Days::new((i % 28) as u64);
            a.currency = currencies[i % 3];
            (a.class, a.trans_type) = kinds[i % kinds.len()];
            let cents = ((i * 7919) % 250_000) as i64 + 1;
            a.amount = Decimal::new(if i % 17 == 0 { -cents } else { cents }, 2);
            a
        })
        .collect();
    b.stage(&actuals).await;
    let run = b.import().await;
    assert_eq!(run.count("lines"), N as u64);
    let journals = b.journals().await;
    assert_eq!(journals.len(), 1);
    let journal = journals[0].id.clone();

    let run = b.post(Journals::Named(vec![journal.clone()])).await;
    assert_eq!(
        (
            run.count("lines_posted"),
            run.count("journals_posted"),
            run.errors.len()
        ),
        (N as u64, 1, 0)
    );
    assert_eq!(b.journal(&journal).await.status, "Posted");
    assert_eq!(b.check_ledger().await, N);
    let posted = b.posted().await;
    let by_actual: HashMap<Uuid, &Posted> = posted.iter().map(|p| (p.actual, p)).collect();
    let trans_ids = b
        .count("SELECT COUNT(DISTINCT \"TransId\") FROM \"ProjPostedTransTable\"", &[])
        .await;
    assert_eq!(trans_ids as usize, N);
    let mut rates = HashMap::new();
    for a in &actuals {
        let p = by_actual[&a.id];
        let code = ["USD", "EUR", "GBP"][currencies.iter().position(|c| *c == a.currency).unwrap()];
        let rate = match rates.get(&(code, a.date)) {
            Some(r) => *r,
            None => {
                let r = b.rate_on(code, "USD", a.date).await;
                rates.insert((code, a.date), r);
                r
            }
        };
        assert_eq!((p.currency.as_str(), p.rate, p.amount_cur), (code, rate, a.amount));
        assert_eq!(p.amount_mst, round_to(a.amount * rate, 2), "{a:?}");
        // Sales lines are taxed with TX-AUSTIN on the default category's SERVICE group (state
        // 6.25 % and city 2 %, each rounded); cost is not.
        let tax = match a.trans_type {
            "UnbilledSales" => round_to(a.amount * money("0.0625"), 2) + round_to(a.amount * money("0.02"), 2),
            _ => Decimal::ZERO,
        };
        assert_eq!(p.tax, tax, "{a:?}");
    }
    assert_eq!(
        b.count("SELECT COUNT(*) FROM \"GeneralJournalAccountEntry\"", &[])
            .await,
        2 * N as i64
    );
    // Posting again finds nothing to post.
    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 0);
    assert_eq!(b.check_ledger().await, N);

    // Two posting runs at once on another large journal: between them, each line posts once.
    const M: usize = 250;
    let more: Vec<Actual> = (0..M)
        .map(|i| {
            let mut a = b.actual("USPM", "2026-09-01");
            a.date = day("2026-09-01") + Days::new((i % 30) as u64);
            a.currency = currencies[i % 3];
            a.amount = Decimal::new(((i * 6101) % 90_000) as i64 + 1, 2);
            a
        })
        .collect();
    b.stage(&more).await;
    assert_eq!(b.import().await.count("lines"), M as u64);
    let second = b.line(more[0].id).await.journal;
    let runs = b.runs().await.len();
    let which = Journals::Named(vec![second.clone()]);
    let (r1, r2) = tokio::join!(post::post(&b.db, &which), post::post(&b.db, &which));
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(b.runs().await.len(), runs + 2, "one job-log run per command");
    let posted_by = |r: &dualsync::accounting::joblog::JobSummary| r.counts.get("lines_posted").copied().unwrap_or(0);
    assert_eq!(posted_by(&r1) + posted_by(&r2), M as u64, "{r1:?} {r2:?}");
    assert_eq!(b.journal(&second).await.status, "Posted");
    assert_eq!(b.check_ledger().await, N + M);
}

// -- 9. SIGKILL mid-post -------------------------------------------------------------------------

/// `dualsync journal post --all` killed with SIGKILL several times while posting 3000 lines,
/// then run to completion: every actual posted exactly once, none lost.
async fn crash_mid_post(t: TestStore) {
    let b = Books::new(t).await;
    const N: usize = 3000;
    let currencies = [b.usd, b.eur, b.gbp];
    let actuals: Vec<Actual> = (0..N)
        .map(|i| {
            let mut a = b.actual("USPM", "2026-07-01");
            a.date = day("2026-07-01") + Days::new((i % 90) as u64);
            a.currency = currencies[i % 3];
            a.amount = Decimal::new(((i * 104_729) % 1_000_000) as i64 + 1, 2);
            a
        })
        .collect();
    b.stage(&actuals).await;
    let run = b.import().await;
    assert_eq!(run.count("lines"), N as u64);
    let journals = b.journals().await.len();
    assert_eq!(journals, 3, "July, August, September");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dualsync.toml");
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\n[operational]\nurl = \"sqlite://{}\"\n\
             [accounting]\nurl = \"{}\"\n[state]\nurl = \"sqlite://{}\"\n",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("table-maps")
                .display(),
            dir.path().join("op.db").display(),
            b.t.url,
            dir.path().join("state.db").display(),
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let args = ["journal", "post", "--all", "--config", config.to_str().unwrap()];
    let runs_before = b.runs().await.len();
    let (mut spawned, mut killed_mid_post) = (0, 0);
    for round in 0..4u64 {
        let before = b.posted_count().await;
        if before == N {
            break;
        }
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        spawned += 1;
        // Once the run has committed a chunk (a little later each round), kill it.
        let exited = loop {
            if child.try_wait().unwrap().is_some() {
                break true;
            }
            if b.posted_count().await > before {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if !exited {
            tokio::time::sleep(Duration::from_millis(60 * round)).await;
            unsafe { libc_kill(child.id() as i32, 9) };
        }
        let status = child.wait().unwrap();
        let after = b.posted_count().await;
        if !status.success() && after < N {
            killed_mid_post += 1;
        }
    }
    assert!(
        killed_mid_post >= 2,
        "only {killed_mid_post} runs were killed with lines left to post"
    );
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let posted_by_kills = {
        let runs = b.runs().await;
        assert_eq!(runs.len(), runs_before + spawned + 1, "one job-log run per command");
        let last = runs.last().unwrap();
        assert_eq!((last.name.as_str(), last.status.as_str()), ("Post", "Succeeded"));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Post (job {})", last.rec_id)));
        N as u64 - last.count("lines_posted")
    };
    assert!(posted_by_kills > 0);
    let log = Command::new(bin)
        .args(["journal", "log", "--limit", "1", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains(" Post ") && log.contains("Succeeded"), "{log}");

    assert_eq!(b.posted_count().await, N);
    assert_eq!(b.check_ledger().await, N, "every actual posted exactly once");
    assert_eq!(
        b.count("SELECT COUNT(*) FROM \"GeneralJournalAccountEntry\"", &[])
            .await,
        2 * N as i64
    );
    let lines = b.lines().await;
    assert_eq!(lines.len(), N, "no line lost or doubled");
    assert!(lines.iter().all(|l| l.status == "Posted"));
    let staged: HashSet<Uuid> = actuals.iter().map(|a| a.id).collect();
    let posted: HashSet<Uuid> = b.posted().await.iter().map(|p| p.actual).collect();
    assert_eq!(posted, staged);
    assert!(b.journals().await.iter().all(|j| j.status == "Posted"));
    assert_eq!(b.journals().await.len(), journals);
}

// -- 10. re-running import -----------------------------------------------------------------------

/// A re-run imports only new actuals; a deleted unposted line comes back (a posted one cannot
/// be deleted); the billing sales tax group of a line may be edited and stays.
async fn reimport(t: TestStore) {
    let b = Books::new(t).await;
    let first: Vec<Actual> = (1..=5).map(|d| b.actual("USPM", &format!("2026-07-0{d}"))).collect();
    b.stage(&first).await;
    assert_eq!(b.import().await.count("lines"), 5);
    let vouchers: HashMap<Uuid, String> = b.lines().await.into_iter().map(|l| (l.actual, l.voucher)).collect();

    let run = b.import().await;
    assert_eq!((run.count("lines"), run.errors.len()), (0, 0), "{run:?}");
    assert_eq!(b.lines().await.len(), 5);

    let second = [b.actual("USPM", "2026-07-06"), b.actual("DEMF", "2026-07-06")];
    b.stage(&second).await;
    assert_eq!(b.import().await.count("lines"), 2);
    let lines = b.lines().await;
    assert_eq!(lines.len(), 7);
    for l in &lines {
        if let Some(v) = vouchers.get(&l.actual) {
            assert_eq!(&l.voucher, v, "earlier lines are untouched");
        }
    }

    // A deleted unposted line comes back, with a fresh voucher.
    let gone = first[2].id;
    let n = b
        .exec(
            "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
            &[db::guid(gone)],
        )
        .await;
    assert_eq!(n, 1);
    assert!(!b.has_line(gone).await);
    assert_eq!(b.import().await.count("lines"), 1);
    let back = b.line(gone).await;
    assert_eq!(back.status, "Draft");
    let vouchers: HashSet<String> = b.lines().await.into_iter().map(|l| l.voucher).collect();
    assert_eq!(vouchers.len(), 7, "every line has its own voucher");

    // The billing sales tax group may be edited; a re-run leaves the line alone.
    let edited = first[0].id;
    let n = b
        .exec(
            "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"BillingSalesTaxGroup\" = 'EXEMPT' WHERE \"ActualId\" = ?",
            &[db::guid(edited)],
        )
        .await;
    assert_eq!(n, 1);
    assert_eq!(b.import().await.count("lines"), 0);
    assert_eq!(b.line(edited).await.tax_group.as_deref(), Some("EXEMPT"));

    assert_eq!(b.post_all().await.count("lines_posted"), 7);
    assert_eq!(b.line(edited).await.tax_group.as_deref(), Some("EXEMPT"));
    assert_eq!(b.check_ledger().await, 7);

    // A posted line cannot be deleted (tests/ledger_once.rs), and a re-run adds nothing.
    let posted = first[1].id;
    let refused =
        b.db.execute(
            "DELETE FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
            &[db::guid(posted)],
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(b.import().await.count("lines"), 0);
    assert_eq!(b.line(posted).await.status, "Posted");
    b.posted_of(posted).await;
    let unprocessed = b
        .count(
            "SELECT COUNT(*) FROM \"ProjCDSActualsImport\" WHERE \"IsProcessed\" = ?",
            &[db::boolean(false)],
        )
        .await;
    assert_eq!(unprocessed, 0, "every imported staging row is marked processed");
}

both!(jr_grouping, Side::Accounting, grouping);
both!(jr_closed_period, Side::Accounting, closed_period);
both!(jr_missing_rate, Side::Accounting, missing_exchange_rate);
both!(jr_category_fallback, Side::Accounting, category_fallback);
both!(jr_line_properties, Side::Accounting, line_properties);
both!(jr_pairs, Side::Accounting, cost_unbilled_pairs);
both!(jr_error_lines, Side::Accounting, error_lines_transfer);
both!(jr_large_journal, Side::Accounting, large_journal);
both!(jr_crash_mid_post, Side::Accounting, crash_mid_post);
both!(jr_reimport, Side::Accounting, reimport);
