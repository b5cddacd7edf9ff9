//! Sales tax, transaction classes and project invoices on the accounting store, on SQLite and on
//! PostgreSQL, run in-process on the demo accounting setup (USPM: USD, sales tax group
//! TX-AUSTIN = state 6.25 % + city 2.00 % + exempt 0 %; item groups SERVICE (state and city),
//! EXPENSE (state only), EXEMPT (the 0 % code); invoice numbers PIV-...) with staging rows made to measure. Covers: the tax of
//! unbilled sales lines at import, from the parameter's group or the project's; an edited tax
//! group recomputed at posting and written back (never a constant 0), an unknown group an error
//! naming it; cost untaxed; the class/type rules (Retainer pair, Milestone billed only, Tax not
//! posted, forbidden combinations refused and named); invoice proposals from staged proforma
//! invoices, their lines added only when every billed actual of the invoice is ready (its
//! unbilled sales posted), posting a proposal once (customer invoice, subledger, balanced
//! voucher with receivable, revenue and tax, TaxTrans, posted attributes and the invoice written
//! back), billed actuals without an invoice or whose invoice has not arrived explained; the
//! first milestone of a fixed-price line creating its revenue estimate project once.

mod common;

use common::TestStore;
use common::books::*;
use dualsync::accounting::db;
use dualsync::accounting::invoice::post::{self as invoices, Proposals};
use dualsync::tablemap::model::Side;
use dualsync::value::ValueType;
use rust_decimal::Decimal;
use uuid::Uuid;

/// The journal line's tax groups and amount.
async fn line_tax(b: &Books, actual: Uuid) -> (Option<String>, Option<String>, Decimal, String) {
    use ValueType::{Decimal as D, Text};
    let mut c = b
        .rows(
            "SELECT \"BillingSalesTaxGroup\", \"BillingItemSalesTaxGroup\", \"SalesTaxAmount\", \"Status\" \
             FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
            &[db::guid(actual)],
            &[Text, Text, D, Text],
        )
        .await
        .remove(0);
    (c.text(), c.text(), c.dec().unwrap(), c.text().unwrap())
}

/// The staging row's written-back sales tax.
async fn staged_tax(b: &Books, actual: Uuid) -> Option<Decimal> {
    b.rows(
        "SELECT \"SalesTaxAmount\" FROM \"ProjCDSActualsImport\" WHERE \"ActualId\" = ?",
        &[db::guid(actual)],
        &[ValueType::Decimal],
    )
    .await
    .remove(0)
    .dec()
}

async fn set_staged(b: &Books, actual: Uuid, column: &str, value: db_arg::Arg) {
    let n = b
        .exec(
            &format!("UPDATE \"ProjCDSActualsImport\" SET \"{column}\" = ? WHERE \"ActualId\" = ?"),
            &[value, db::guid(actual)],
        )
        .await;
    assert_eq!(n, 1);
}

mod db_arg {
    pub use dualsync::store::sql::conn::Arg;
}

// -- 1. sales tax on journal lines ---------------------------------------------------------------

async fn sales_tax(t: TestStore) {
    let b = Books::new(t).await;
    let cost = b.actual("USPM", "2026-07-08").amount("80.00");
    let sales = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("123.45");
    let edited = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("200.00");
    let exempt = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("50.00");
    let unknown = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("10.00");
    b.stage(&[
        cost.clone(),
        sales.clone(),
        edited.clone(),
        exempt.clone(),
        unknown.clone(),
    ])
    .await;
    let run = b.import().await;
    assert_eq!(run.count("lines"), 5, "{run:?}");
    // Cost carries no sales tax.
    assert_eq!(line_tax(&b, cost.id).await, (None, None, Decimal::ZERO, "Draft".into()));
    // 123.45 x 6.25 % = 7.715625 -> 7.72; x 2 % = 2.469 -> 2.47.
    let group = Some("TX-AUSTIN".to_string());
    let service = Some("SERVICE".to_string());
    assert_eq!(
        line_tax(&b, sales.id).await,
        (group.clone(), service.clone(), money("10.19"), "Draft".into())
    );

    // The accountant edits the groups of three lines before posting (the store lets only those
    // columns change): EXPENSE has the state tax only, EXEMPT nothing, NOPE does not exist.
    for (actual, item) in [(edited.id, "EXPENSE"), (exempt.id, "EXEMPT"), (unknown.id, "NOPE")] {
        b.exec(
            "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"BillingItemSalesTaxGroup\" = ? WHERE \"ActualId\" = ?",
            &[db::text(item), db::guid(actual)],
        )
        .await;
    }
    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 4, "{run:?}");
    let errors = run.errors_of(unknown.id);
    assert_eq!(errors.len(), 1, "{run:?}");
    assert!(
        errors[0].message.contains("item sales tax group NOPE") && errors[0].message.contains("USPM"),
        "{}",
        errors[0].message
    );
    for (actual, tax) in [
        (cost.id, "0"),
        (sales.id, "10.19"),
        (edited.id, "12.50"), // 200 x 6.25 %
        (exempt.id, "0"),
    ] {
        assert_eq!(b.posted_of(actual).await.tax, money(tax), "subledger tax of {actual}");
        assert_eq!(
            staged_tax(&b, actual).await,
            Some(money(tax)),
            "written back for {actual}"
        );
        assert_eq!(line_tax(&b, actual).await.2, money(tax), "journal line of {actual}");
    }
    assert_eq!(
        staged_tax(&b, unknown.id).await,
        None,
        "nothing written back for a line that did not post"
    );
    b.check_ledger().await;

    // The project's own billing sales tax group wins over the parameter.
    b.exec(
        "INSERT INTO \"TaxGroupData\" (\"DataAreaId\", \"TaxGroup\", \"TaxCode\") VALUES ('USPM', 'TX-RURAL', 'ST-TX')",
        &[],
    )
    .await;
    b.exec(
        "INSERT INTO \"ProjCDSProjectEntity\" (\"DataAreaId\", \"ProjectId\", \"SalesTaxGroup\") VALUES ('USPM', ?, 'TX-RURAL')",
        &[db::guid(Uuid::from_u128(0x5eed_0001))],
    )
    .await;
    let rural = b.actual("USPM", "2026-07-09").kind("UnbilledSales").amount("100.00");
    b.stage(std::slice::from_ref(&rural)).await;
    b.import().await;
    assert_eq!(
        line_tax(&b, rural.id).await,
        (Some("TX-RURAL".into()), service, money("6.25"), "Draft".into())
    );
}

// -- 2. transaction classes ----------------------------------------------------------------------

async fn transaction_classes(t: TestStore) {
    let b = Books::new(t).await;
    let retainer = b
        .actual("USPM", "2026-07-08")
        .class("Retainer")
        .kind("UnbilledSales")
        .amount("1000.00");
    let tax = b.actual("USPM", "2026-07-08").class("Tax").amount("19.00");
    let milestone_unbilled = b.actual("USPM", "2026-07-08").class("Milestone").kind("UnbilledSales");
    let fee_cost = b.actual("USPM", "2026-07-08").class("Fee");
    let interorg = b.actual("USPM", "2026-07-08").kind("InterOrganizationalSales");
    let tm_milestone = b.actual("USPM", "2026-07-08").class("Milestone").kind("BilledSales");
    b.stage(&[
        retainer.clone(),
        tax.clone(),
        milestone_unbilled.clone(),
        fee_cost.clone(),
        interorg.clone(),
        tm_milestone.clone(),
    ])
    .await;
    // The milestone bills a time-and-material contract line.
    let line = Uuid::new_v4();
    b.exec(
        "INSERT INTO \"ProjCDSContractLineImportEntity\" (\"DataAreaId\", \"ContractLine\", \"BillingRuleType\") \
         VALUES ('USPM', ?, 'TimeAndMaterial')",
        &[db::guid(line)],
    )
    .await;
    set_staged(&b, tm_milestone.id, "ContractLine", db::guid(line)).await;
    set_staged(&b, tm_milestone.id, "InvoiceId", db::guid(Uuid::new_v4())).await;

    let run = b.import().await;
    assert_eq!(run.count("lines"), 1, "only the retainer is journalized: {run:?}");
    assert_eq!(run.count("tax_not_posted"), 1);
    assert_eq!(
        (run.count("not_imported"), run.count("not_invoiced")),
        (3, 1),
        "{run:?}"
    );
    assert!(b.has_line(retainer.id).await);
    for (a, words) in [
        (
            &milestone_unbilled,
            "transaction class Milestone is not allowed with transaction type UnbilledSales",
        ),
        (
            &fee_cost,
            "transaction class Fee is not allowed with transaction type Cost",
        ),
        (&interorg, "InterOrganizationalSales is not available"),
    ] {
        assert!(!b.has_line(a.id).await);
        let errors = run.errors_of(a.id);
        assert_eq!(errors.len(), 1, "{run:?}");
        assert!(errors[0].message.contains(words), "{}", errors[0].message);
    }
    // The T&M milestone waits for nothing: it is refused at the invoice import.
    let errors = run.errors_of(tm_milestone.id);
    assert_eq!(errors.len(), 1, "{run:?}");
    assert!(
        errors[0].message.contains("time-and-material contract line"),
        "{}",
        errors[0].message
    );
    // The Tax actual is processed, never journalized nor posted.
    assert!(!b.has_line(tax.id).await);
    let processed = b
        .rows(
            "SELECT \"IsProcessed\" FROM \"ProjCDSActualsImport\" WHERE \"ActualId\" = ?",
            &[db::guid(tax.id)],
            &[ValueType::Bool],
        )
        .await
        .remove(0)
        .boolean();
    assert!(processed);
    let run = b.post_all().await;
    assert_eq!(run.count("lines_posted"), 1);
    assert_eq!(b.posted_of(retainer.id).await.trans_type, "UnbilledSales");
    assert_eq!(b.posted_count().await, 1, "nothing else reached the subledger");
    assert_eq!(b.import().await.count("tax_not_posted"), 0, "counted once");
}

// -- 3. invoices ---------------------------------------------------------------------------------

/// Stages a confirmed proforma invoice as the project-invoice-proposals map would.
async fn stage_invoice(b: &Books, company: &str, number: &str, date: &str, currency: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    b.exec(
        "INSERT INTO \"ProjInvoiceProposalEntity\" (\"DataAreaId\", \"ProformaInvoiceId\", \"InvoiceProposalId\", \
         \"InvoiceDate\", \"SalesCurrency\", \"CustomerId\", \"InvoiceHeaderText\", \"InvoiceStatus\", \"IsProcessed\") \
         VALUES (?, ?, ?, ?, ?, ?, 'Proforma', 'Confirmed', ?)",
        &[
            db::text(company),
            db::guid(id),
            db::text(number),
            db::date(day(date)),
            db::guid(currency),
            db::guid(Uuid::new_v4()),
            db::boolean(false),
        ],
    )
    .await;
    id
}

async fn post_invoices(b: &Books, which: Proposals) -> Run {
    let before = b.runs().await.len();
    let summary = invoices::post(&b.db, &which).await.unwrap();
    b.check_run(before, summary, "Post").await
}

async fn invoice_flow(t: TestStore) {
    let b = Books::new(t).await;
    let invoice = stage_invoice(&b, "USPM", "USPM-PRO-0000001", "2026-07-20", b.usd).await;
    // Time billed at 1,000.00 whose unbilled sales are staged but not yet posted; a retainer.
    let unbilled = b.actual("USPM", "2026-07-08").kind("UnbilledSales").amount("1000.00");
    let billed = b.actual("USPM", "2026-07-20").kind("BilledSales").amount("1000.00");
    let retainer = b
        .actual("USPM", "2026-07-20")
        .class("Retainer")
        .kind("BilledSales")
        .amount("500.00");
    // Billed actuals without an invoice, and with one that has not arrived.
    let orphan = b.actual("USPM", "2026-07-20").kind("BilledSales");
    let early = b.actual("USPM", "2026-07-20").kind("BilledSales");
    b.stage(&[
        unbilled.clone(),
        billed.clone(),
        retainer.clone(),
        orphan.clone(),
        early.clone(),
    ])
    .await;
    for a in [&billed, &retainer] {
        set_staged(&b, a.id, "InvoiceId", db::guid(invoice)).await;
    }
    set_staged(&b, early.id, "InvoiceId", db::guid(Uuid::new_v4())).await;
    b.relate(
        Uuid::new_v4(),
        (unbilled.id, "UnbilledSales"),
        (billed.id, "BilledSales"),
    )
    .await;

    let run = b.import().await;
    assert_eq!(run.count("lines"), 1, "the unbilled sales to a journal: {run:?}");
    assert_eq!(run.count("invoice_proposals"), 1);
    assert_eq!(
        run.count("invoice_lines"),
        0,
        "not ready: its unbilled sales are not posted"
    );
    let said = |a: Uuid, words: &str| {
        let errors = run.errors_of(a);
        assert_eq!(errors.len(), 1, "{a}: {run:?}");
        assert!(errors[0].message.contains(words), "{}", errors[0].message);
    };
    said(billed.id, "hasn't been posted yet");
    said(orphan.id, "names no proforma invoice");
    said(early.id, "has not reached the accounting side");
    assert!(
        run.errors_of(retainer.id).is_empty(),
        "the retainer is ready; it waits for its invoice's other line"
    );
    let proposals = b
        .count(
            "SELECT COUNT(*) FROM \"ProjProposalJour\" WHERE \"ProposalId\" = 'USPM-PRO-0000001'",
            &[],
        )
        .await;
    assert_eq!(proposals, 1, "the proposal takes the proforma invoice ID");
    assert_eq!(b.count("SELECT COUNT(*) FROM \"ProjProposalTrans\"", &[]).await, 0);

    // Posting the journal makes the invoice ready; the next import adds both lines, and says
    // nothing again about the two that still cannot be invoiced.
    b.post_all().await;
    let run = b.import().await;
    assert_eq!(run.count("invoice_lines"), 2, "{run:?}");
    assert!(run.errors.is_empty(), "each explanation is written once: {run:?}");

    let run = post_invoices(&b, Proposals::All { company: None }).await;
    assert_eq!(
        (run.count("invoices_posted"), run.count("invoice_lines_posted")),
        (1, 2),
        "{run:?}"
    );
    // 1,500.00 x (6.25 % + 2 %): 93.75 + 30.00 = 123.75, per line 82.50 and 41.25.
    let (billed_p, retainer_p) = (b.posted_of(billed.id).await, b.posted_of(retainer.id).await);
    assert_eq!(
        (billed_p.trans_type.as_str(), billed_p.tax),
        ("BilledSales", money("82.50"))
    );
    assert_eq!(
        (retainer_p.trans_type.as_str(), retainer_p.tax),
        ("BilledSales", money("41.25"))
    );
    assert_eq!(billed_p.voucher, retainer_p.voucher, "one voucher per invoice");
    assert_eq!(
        billed_p.accounting_date,
        day("2026-07-20"),
        "posted on the invoice date"
    );
    assert_eq!(staged_tax(&b, billed.id).await, Some(money("82.50")));
    use ValueType::{Date, Decimal as D, Text};
    let mut inv = b
        .rows(
            "SELECT \"ProjInvoiceId\", \"SalesAmount\", \"SumTax\", \"InvoiceAmount\", \"InvoiceAmountMST\", \"Voucher\" \
             FROM \"ProjInvoiceJour\" WHERE \"ProposalId\" = 'USPM-PRO-0000001'",
            &[],
            &[Text, D, D, D, D, Text],
        )
        .await
        .remove(0);
    let number = inv.text().unwrap();
    assert!(number.starts_with("USPM-PIV-"), "{number}");
    assert_eq!(
        (inv.dec(), inv.dec(), inv.dec(), inv.dec(), inv.text()),
        (
            Some(money("1500.00")),
            Some(money("123.75")),
            Some(money("1623.75")),
            Some(money("1623.75")),
            Some(billed_p.voucher.clone())
        )
    );
    // The ledger: receivable 1,623.75 against revenue 1,500.00 and two tax accounts.
    let mut by_account = std::collections::BTreeMap::new();
    for e in b.entries().await.into_iter().filter(|e| e.voucher == billed_p.voucher) {
        *by_account.entry(e.account).or_insert(Decimal::ZERO) += e.amount_cur;
    }
    let expected: std::collections::BTreeMap<String, Decimal> = [
        ("130200", "1623.75"),
        ("400200", "-1500.00"),
        ("222100", "-93.75"),
        ("222110", "-30.00"),
    ]
    .into_iter()
    .map(|(a, m)| (a.to_string(), money(m)))
    .collect();
    assert_eq!(by_account, expected);
    assert_eq!(
        b.count(
            "SELECT COUNT(*) FROM \"TaxTrans\" WHERE \"ProjInvoiceId\" = ?",
            &[db::text(&number)]
        )
        .await,
        4,
        "two codes on each of two lines"
    );
    // What the map writes back to the proforma invoice.
    let mut back = b
        .rows(
            "SELECT \"Invoice\", \"InvoicePostedDate\", \"InvoiceStatus\", \"SumTax\" FROM \"ProjInvoiceProposalEntity\" \
             WHERE \"ProformaInvoiceId\" = ?",
            &[db::guid(invoice)],
            &[Text, Date, Text, D],
        )
        .await
        .remove(0);
    assert_eq!(
        (back.text(), back.date(), back.text(), back.dec()),
        (
            Some(number),
            Some(day("2026-07-20")),
            Some("Posted".into()),
            Some(money("123.75"))
        )
    );
    assert_eq!(b.check_ledger().await, 3, "the unbilled sales and two billed actuals");

    // Posting again posts nothing; naming the posted proposal says so.
    let run = post_invoices(&b, Proposals::All { company: None }).await;
    assert_eq!(run.count("invoices_posted"), 0);
    let run = post_invoices(&b, Proposals::Named(vec!["USPM-PRO-0000001".into()])).await;
    assert_eq!(run.count("invoices_posted"), 0);
    assert!(run.errors[0].message.contains("already posted"), "{run:?}");
    assert_eq!(b.check_ledger().await, 3);
}

/// A proposal whose invoice date is in no fiscal period, or whose currency has no rate, is not
/// posted: the job log names it and the reason, and it posts once that is fixed.
async fn invoice_errors(t: TestStore) {
    let b = Books::new(t).await;
    let invoice = stage_invoice(&b, "USPM", "USPM-PRO-0000002", "2026-07-21", b.gbp).await;
    let billed = b
        .actual("USPM", "2026-07-21")
        .kind("BilledSales")
        .currency(b.gbp)
        .amount("300.00");
    b.stage(std::slice::from_ref(&billed)).await;
    set_staged(&b, billed.id, "InvoiceId", db::guid(invoice)).await;
    assert_eq!(b.import().await.count("invoice_lines"), 1);
    b.exec(
        "DELETE FROM \"ExchangeRate\" WHERE \"FromCurrencyCode\" = 'GBP' AND \"ToCurrencyCode\" = 'USD'",
        &[],
    )
    .await;
    let run = post_invoices(
        &b,
        Proposals::All {
            company: Some("USPM".into()),
        },
    )
    .await;
    assert_eq!(
        (run.count("invoices_posted"), run.count("proposals_with_errors")),
        (0, 1)
    );
    assert!(
        run.errors[0].message.contains("no exchange rate from GBP to USD"),
        "{run:?}"
    );
    assert_eq!(run.errors[0].journal.as_deref(), Some("USPM-PRO-0000002"));
    assert_eq!(b.posted_count().await, 0);
    b.exec(
        "INSERT INTO \"ExchangeRate\" (\"FromCurrencyCode\", \"ToCurrencyCode\", \"ValidFrom\", \"Rate\") \
         VALUES ('GBP', 'USD', ?, ?)",
        &[db::date(day("2026-01-01")), db::dec(money("1.27"))],
    )
    .await;
    let run = post_invoices(&b, Proposals::Named(vec!["USPM-PRO-0000002".into()])).await;
    assert_eq!(run.count("invoices_posted"), 1, "{run:?}");
    let p = b.posted_of(billed.id).await;
    // 300.00 GBP at 1.27 = 381.00 USD; the tax is in the invoice's currency.
    assert_eq!(
        (p.currency.as_str(), p.amount_mst, p.tax),
        ("GBP", money("381.00"), money("24.75"))
    );
    assert_eq!(b.check_ledger().await, 1);
}

// -- 4. fixed-price revenue estimate projects -----------------------------------------------------

/// The first milestone of a fixed-price contract line creates its revenue estimate project,
/// once; later milestones leave it as it is.
async fn revenue_estimate_project(t: TestStore) {
    let b = Books::new(t).await;
    let (line, project) = (Uuid::new_v4(), Uuid::new_v4());
    b.exec(
        "INSERT INTO \"ProjCDSContractLineImportEntity\" (\"DataAreaId\", \"ContractLine\", \"ProjectId\", \"BillingRuleType\") \
         VALUES ('DEMF', ?, ?, 'Milestone')",
        &[db::guid(line), db::guid(project)],
    )
    .await;
    let milestone = |date: &str| {
        let id = Uuid::new_v4();
        let b = &b;
        let date = day(date);
        async move {
            b.exec(
                "INSERT INTO \"ProjCDSContractLineMilestoneEntity\" (\"DataAreaId\", \"MilestoneId\", \"ContractLine\", \
                 \"MilestoneDate\", \"Amount\") VALUES ('DEMF', ?, ?, ?, ?)",
                &[db::guid(id), db::guid(line), db::date(date), db::dec(money("5000.00"))],
            )
            .await;
            id
        }
    };
    milestone("2026-09-30").await;
    let first = milestone("2026-08-31").await;
    let estimate = || async {
        use ValueType::Guid;
        b.rows(
            "SELECT \"ProjectId\", \"FirstMilestoneId\" FROM \"ProjFixedPriceRevenueEstimateProject\" \
             WHERE \"DataAreaId\" = 'DEMF' AND \"ContractLine\" = ?",
            &[db::guid(line)],
            &[Guid, Guid],
        )
        .await
        .into_iter()
        .map(|mut c| (c.guid(), c.guid()))
        .collect::<Vec<_>>()
    };
    assert_eq!(b.import().await.count("revenue_estimate_projects"), 1);
    assert_eq!(estimate().await, [(Some(project), Some(first))]);
    milestone("2026-07-31").await;
    assert_eq!(b.import().await.count("revenue_estimate_projects"), 0);
    assert_eq!(estimate().await, [(Some(project), Some(first))], "made once");
}

both!(bl_sales_tax, Side::Accounting, sales_tax);
both!(bl_revenue_estimate_project, Side::Accounting, revenue_estimate_project);
both!(bl_transaction_classes, Side::Accounting, transaction_classes);
both!(bl_invoice_flow, Side::Accounting, invoice_flow);
both!(bl_invoice_errors, Side::Accounting, invoice_errors);
