//! Expense reports and vendor invoices on the accounting store, and their approval on the
//! operational store, on SQLite and on PostgreSQL, run in-process on the demo data. Covers:
//! posting the demo's documents once (expense integration account against the worker's
//! payable, procurement integration account against the vendor, per document one balanced
//! voucher; the export columns set; a second run posts nothing); documents that cannot post
//! (unknown or inactive category, no project, a missing parameter, no lines) named in the job log
//! and left unposted; cost actuals naming a posted document line offset to its integration
//! account at import, so posting the journal clears it to zero, and a missing integration
//! account an error of the line; and the operational approval making one cost actual per
//! expense and vendor invoice line (naming it), confirming the invoice, once.

mod common;

use common::TestStore;
use common::books::*;
use dualsync::accounting::db::{self, Db};
use dualsync::accounting::payables;
use dualsync::operational::approve;
use dualsync::tablemap::model::Side;
use dualsync::value::ValueType;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Posts the documents, checked against the job log.
async fn post_documents(b: &Books) -> Run {
    let before = b.runs().await.len();
    let summary = payables::post(&b.db, None).await.unwrap();
    b.check_run(before, summary, "Post").await
}

/// The ledger balance (accounting currency) of `account` in `company`.
async fn balance(b: &Books, company: &str, account: &str) -> Decimal {
    b.rows(
        "SELECT \"AccountingCurrencyAmount\" FROM \"GeneralJournalAccountEntry\" WHERE \"DataAreaId\" = ? AND \"MainAccount\" = ?",
        &[db::text(company), db::text(account)],
        &[ValueType::Decimal],
    )
    .await
    .into_iter()
    .map(|mut c| c.dec().unwrap())
    .sum()
}

/// (expense lines, draft ones) and (vendor invoices, pending ones).
async fn document_counts(b: &Books) -> (i64, i64, i64, i64) {
    (
        b.count("SELECT COUNT(*) FROM \"ProjExpenseExportEntity\"", &[]).await,
        b.count(
            "SELECT COUNT(*) FROM \"ProjExpenseExportEntity\" WHERE \"Status\" = 'Draft'",
            &[],
        )
        .await,
        b.count("SELECT COUNT(*) FROM \"VendInvoiceExportsV2\"", &[]).await,
        b.count(
            "SELECT COUNT(*) FROM \"VendInvoiceExportsV2\" WHERE \"PostingStatus\" = 'Pending'",
            &[],
        )
        .await,
    )
}

both!(pay_documents_post_once, Side::Accounting, |t: TestStore| async move {
    let b = Books::new(t).await;
    let (expenses, drafts, invoices, pending) = document_counts(&b).await;
    assert!(expenses > 0 && expenses == drafts && invoices > 0 && invoices == pending);
    let run = post_documents(&b).await;
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(run.count("vendor_invoices") as i64, invoices);
    assert_eq!(document_counts(&b).await, (expenses, 0, invoices, 0));
    for company in ["USPM", "DEMF"] {
        // Each side of each document in the accounting currency: the integration account holds
        // exactly what the payable owes.
        let (expense, owed) = (
            balance(&b, company, "200510").await,
            balance(&b, company, "210100").await,
        );
        assert!(
            expense > Decimal::ZERO && expense == -owed,
            "{company}: {expense} vs {owed}"
        );
        let (procured, vendor) = (
            balance(&b, company, "140310").await,
            balance(&b, company, "200100").await,
        );
        assert!(
            procured > Decimal::ZERO && procured == -vendor,
            "{company}: {procured} vs {vendor}"
        );
    }
    // One balanced voucher per document (check_ledger checks every voucher balances).
    b.check_ledger().await;
    let reports = b
        .count(
            "SELECT COUNT(DISTINCT \"ExpenseNumber\") FROM \"ProjExpenseExportEntity\"",
            &[],
        )
        .await;
    let vouchers = b
        .count(
            "SELECT COUNT(DISTINCT \"Voucher\") FROM \"ProjExpenseExportEntity\"",
            &[],
        )
        .await;
    assert_eq!(reports, vouchers, "one voucher per expense report");
    // What the export maps carry is set.
    let unexported = b
        .count(
            "SELECT COUNT(*) FROM \"ProjExpenseExportEntity\" WHERE \"ExpenseCategoryId\" IS NULL \
             OR \"TransactionCategoryId\" IS NULL OR \"TransactionCurrencyId\" IS NULL",
            &[],
        )
        .await;
    assert_eq!(unexported, 0);
    let lines_without_id = b
        .count(
            "SELECT COUNT(*) FROM \"ProjVendInvoiceLinesExportEntity\" WHERE \"ProjTransId\" IS NULL OR \"TransDate\" IS NULL",
            &[],
        )
        .await;
    assert_eq!(lines_without_id, 0);
    let drafted = b
        .count(
            "SELECT COUNT(*) FROM \"VendInvoiceExportsV2\" WHERE \"ProjVendInvoiceStatus\" = 'Draft'",
            &[],
        )
        .await;
    assert_eq!(drafted, invoices, "posted invoices wait for the project manager");
    // A second run posts nothing.
    let entries = b.entries().await.len();
    let again = post_documents(&b).await;
    assert_eq!((again.count("expense_reports"), again.count("vendor_invoices")), (0, 0));
    assert_eq!(b.entries().await.len(), entries);
});

both!(
    pay_documents_that_cannot_post,
    Side::Accounting,
    |t: TestStore| async move {
        let b = Books::new(t).await;
        let project = Uuid::new_v4();
        // An unknown category, a line without a project, an inactive category.
        for (number, cost_type, project) in [
            ("X-UNKNOWN", "CATERING", Some(project)),
            ("X-NOPROJECT", "TRAVEL", None),
            ("X-INACTIVE", "MEALS", Some(project)),
        ] {
            b.exec(
            "INSERT INTO \"ProjExpenseExportEntity\" (\"DataAreaId\", \"ExpenseNumber\", \"ProjectId\", \"CostType\", \
             \"TransDate\", \"Amount\", \"CurrencyCode\") VALUES ('USPM', ?, ?, ?, ?, ?, 'USD')",
            &[
                db::text(number),
                db::opt_guid(project),
                db::text(cost_type),
                db::date(day("2026-08-03")),
                db::dec(money("120.00")),
            ],
        )
        .await;
        }
        // Every USPM report with a meals line (the demo's among them) waits for the category.
        let with_meals = b
        .count(
            "SELECT COUNT(DISTINCT \"ExpenseNumber\") FROM \"ProjExpenseExportEntity\" WHERE \"DataAreaId\" = 'USPM' \
             AND \"CostType\" = 'MEALS'",
            &[],
        )
        .await as usize;
        b.exec(
        "UPDATE \"ProjExpenseCategoriesExport\" SET \"IsInactive\" = ? WHERE \"DataAreaId\" = 'USPM' AND \"CostType\" = 'MEALS'",
        &[db::boolean(true)],
    )
    .await;
        // DEMF's procurement integration account is missing; a USPM invoice has no lines.
        b.set_param("DEMF", "ProcurementIntegrationAccount", db::opt_text(None))
            .await;
        b.exec(
        "INSERT INTO \"VendInvoiceExportsV2\" (\"DataAreaId\", \"VendorInvoiceNum\", \"InvoiceAccount\", \"TransDate\", \
         \"CurrencyCode\") VALUES ('USPM', 'EMPTY-1', 'V-1001', ?, 'USD')",
        &[db::date(day("2026-08-03"))],
    )
    .await;
        let run = post_documents(&b).await;
        let messages: Vec<&str> = run.errors.iter().map(|e| e.message.as_str()).collect();
        let named = |needle: &str| messages.iter().filter(|m| m.contains(needle)).count();
        assert_eq!(
            named("expense category CATERING does not exist in USPM"),
            1,
            "{messages:#?}"
        );
        assert_eq!(
            named("X-NOPROJECT of USPM is not posted: line 1: no project"),
            1,
            "{messages:#?}"
        );
        assert_eq!(
            named("the expense category MEALS is inactive in USPM"),
            with_meals,
            "{messages:#?}"
        );
        assert_eq!(
            named("EMPTY-1 of USPM is not posted: line 0: the invoice has no lines"),
            1,
            "{messages:#?}"
        );
        let demf_invoices = b
            .count(
                "SELECT COUNT(*) FROM \"VendInvoiceExportsV2\" WHERE \"DataAreaId\" = 'DEMF'",
                &[],
            )
            .await as usize;
        assert_eq!(
            named("ProjParameters of DEMF has no ProcurementIntegrationAccount"),
            demf_invoices
        );
        // What could not post stays as it was; the rest posted.
        for number in ["X-UNKNOWN", "X-NOPROJECT"] {
            let draft = b
            .count(
                "SELECT COUNT(*) FROM \"ProjExpenseExportEntity\" WHERE \"ExpenseNumber\" = ? AND \"Status\" = 'Draft'",
                &[db::text(number)],
            )
            .await;
            assert_eq!(draft, 1, "{number} stays a draft");
        }
        let pending = b
            .count(
                "SELECT COUNT(*) FROM \"VendInvoiceExportsV2\" WHERE \"PostingStatus\" = 'Pending'",
                &[],
            )
            .await as usize;
        assert_eq!(pending, demf_invoices + 1);
        assert_eq!(balance(&b, "DEMF", "140310").await, Decimal::ZERO);
        assert!(balance(&b, "USPM", "140310").await > Decimal::ZERO);
        // Fixed, they post at the next run.
        b.set_param("DEMF", "ProcurementIntegrationAccount", db::text("140310"))
            .await;
        let run = post_documents(&b).await;
        assert_eq!(run.count("vendor_invoices") as usize, demf_invoices);
        b.check_ledger().await;
    }
);

/// The demo's first posted expense line and vendor invoice line of `company`:
/// (line id, amount, currency id).
async fn first_lines(b: &Books, company: &str) -> [(Uuid, Decimal, Uuid); 2] {
    use ValueType::{Decimal as D, Guid as G};
    let mut out = Vec::new();
    for sql in [
        "SELECT \"ExpenseLineId\", \"Amount\", \"TransactionCurrencyId\" FROM \"ProjExpenseExportEntity\" \
         WHERE \"DataAreaId\" = ? AND \"Status\" = 'Posted' ORDER BY \"ExpenseLineId\"",
        "SELECT \"VendInvoiceLineId\", \"LineAmount\", \"TransactionCurrencyId\" FROM \"ProjVendInvoiceLinesExportEntity\" \
         WHERE \"DataAreaId\" = ? AND \"ProjTransId\" IS NOT NULL ORDER BY \"VendInvoiceLineId\"",
    ] {
        let mut c = b.rows(sql, &[db::text(company)], &[G, D, G]).await.remove(0);
        out.push((c.guid().unwrap(), c.dec().unwrap(), c.guid().unwrap()));
    }
    [out[0], out[1]]
}

both!(
    pay_journal_clears_integration_accounts,
    Side::Accounting,
    |t: TestStore| async move {
        let b = Books::new(t).await;
        post_documents(&b).await;
        // Leave one document of each kind in USPM: the others are cleared by nobody in this test.
        let [(expense_line, expense_amount, usd), (vendor_line, vendor_amount, _)] = first_lines(&b, "USPM").await;
        let expense_before = balance(&b, "USPM", "200510").await;
        let procured_before = balance(&b, "USPM", "140310").await;
        let expense = b
            .actual("USPM", "2026-08-10")
            .class("Expense")
            .amount(&expense_amount.to_string())
            .currency(usd);
        let material = b
            .actual("USPM", "2026-08-10")
            .class("Material")
            .amount(&vendor_amount.to_string())
            .currency(usd);
        let plain = b.actual("USPM", "2026-08-10").class("Expense");
        b.stage(&[expense.clone(), material.clone(), plain.clone()]).await;
        for (actual, reference) in [(expense.id, expense_line), (material.id, vendor_line)] {
            b.exec(
                "UPDATE \"ProjCDSActualsImport\" SET \"ExternalReferenceId\" = ? WHERE \"ActualId\" = ?",
                &[db::text(&reference.to_string()), db::guid(actual)],
            )
            .await;
        }
        let run = b.import().await;
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        let offset = |actual: Uuid| {
            let b = &b;
            async move {
                b.rows(
                    "SELECT \"OffsetMainAccount\" FROM \"ProjCDSIntegrationJournalLine\" WHERE \"ActualId\" = ?",
                    &[db::guid(actual)],
                    &[ValueType::Text],
                )
                .await
                .remove(0)
                .text()
            }
        };
        assert_eq!(offset(expense.id).await.as_deref(), Some("200510"));
        assert_eq!(offset(material.id).await.as_deref(), Some("140310"));
        assert_eq!(offset(plain.id).await, None, "an actual without a source document");
        let run = b.post_all().await;
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        // USD is USPM's accounting currency: each document's amount left its integration account.
        assert_eq!(balance(&b, "USPM", "200510").await, expense_before - expense_amount);
        assert_eq!(balance(&b, "USPM", "140310").await, procured_before - vendor_amount);
        let (debit, credit) = b.accounts_of(expense.id).await;
        assert_eq!((debit.as_str(), credit.as_str()), ("600200", "200510"));
        let (debit, credit) = b.accounts_of(plain.id).await;
        assert_eq!(
            (debit.as_str(), credit.as_str()),
            ("600200", "200500"),
            "the posting setup's offset"
        );
        b.check_ledger().await;

        // Without the procurement integration account, an actual of a vendor invoice line cannot be
        // offset: its line is an error naming the parameter.
        let [_, (demf_line, demf_amount, eur)] = first_lines(&b, "DEMF").await;
        b.set_param("DEMF", "ProcurementIntegrationAccount", db::opt_text(None))
            .await;
        let orphan = b
            .actual("DEMF", "2026-08-10")
            .class("Material")
            .amount(&demf_amount.to_string())
            .currency(eur);
        b.stage(std::slice::from_ref(&orphan)).await;
        b.exec(
            "UPDATE \"ProjCDSActualsImport\" SET \"ExternalReferenceId\" = ? WHERE \"ActualId\" = ?",
            &[db::text(&demf_line.to_string()), db::guid(orphan.id)],
        )
        .await;
        let run = b.import().await;
        let errors = run.errors_of(orphan.id);
        assert_eq!(errors.len(), 1, "{:?}", run.errors);
        assert!(
            errors[0].message.contains("ProcurementIntegrationAccount"),
            "{}",
            errors[0].message
        );
    }
);

/// A pending expense and a vendor invoice with two lines on the operational store, and an
/// expense without a project.
async fn operational_documents(db: &Db) -> (Uuid, Uuid, [Uuid; 2], Uuid) {
    let (expense, invoice, lines, broken) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        [Uuid::new_v4(), Uuid::new_v4()],
        Uuid::new_v4(),
    );
    let project = Uuid::new_v4();
    for (id, project) in [(expense, Some(project)), (broken, None)] {
        db.execute(
            "INSERT INTO msdyn_expenses (msdyn_expenseid, msdyn_name, msdyn_company, msdyn_project, \
             msdyn_transactiondate, msdyn_quantity, msdyn_price, msdyn_amount) VALUES (?, 'R-1', 'USPM', ?, ?, ?, ?, ?)",
            &[
                db::guid(id),
                db::opt_guid(project),
                db::date(day("2026-08-03")),
                db::dec(money("2")),
                db::dec(money("60.00")),
                db::dec(money("120.00")),
            ],
        )
        .await
        .unwrap();
    }
    db.execute(
        "INSERT INTO msdyn_projectvendorinvoices (msdyn_projectvendorinvoiceid, msdyn_name, msdyn_company, \
         msdyn_vendorinvoicestatus) VALUES (?, 'INV-1', 'USPM', 192350000)",
        &[db::guid(invoice)],
    )
    .await
    .unwrap();
    for (i, line) in lines.iter().enumerate() {
        db.execute(
            "INSERT INTO msdyn_projectvendorinvoicelines (msdyn_projectvendorinvoicelineid, msdyn_vendorinvoice, \
             msdyn_company, msdyn_project, msdyn_transactionclassification, msdyn_transactiondate, msdyn_amount) \
             VALUES (?, ?, 'USPM', ?, ?, ?, ?)",
            &[
                db::guid(*line),
                db::guid(invoice),
                db::guid(project),
                db::int(if i == 0 { 192350002 } else { 192350001 }),
                db::date(day("2026-08-04")),
                db::dec(money("500.00")),
            ],
        )
        .await
        .unwrap();
    }
    (expense, invoice, lines, broken)
}

both!(
    op_approval_makes_cost_actuals_once,
    Side::Operational,
    |t: TestStore| async move {
        let db = Db::new(&t.store);
        let (expense, invoice, lines, broken) = operational_documents(&db).await;
        let approved = approve::approve(&db, None).await.unwrap();
        assert_eq!(
            (
                approved.expenses,
                approved.vendor_invoice_lines,
                approved.vendor_invoices_confirmed
            ),
            (1, 2, 1)
        );
        assert_eq!(approved.problems.len(), 1, "{approved}");
        assert!(approved.problems[0].contains(&broken.to_string()) && approved.problems[0].contains("needs a project"));
        use ValueType::{Decimal as D, Guid as G, Int, Text};
        let actuals = fetch(
        &db,
        "SELECT msdyn_externalreferenceid, msdyn_transactionclassification, msdyn_transactiontypecode, msdyn_amount, \
         msdyn_amountmethod, msdyn_actualid FROM msdyn_actuals ORDER BY msdyn_externalreferenceid",
        &[],
        &[Text, Int, Int, D, Int, G],
    )
    .await;
        assert_eq!(actuals.len(), 3);
        for mut a in actuals {
            let (source, class, ttype, amount, method, id) =
                (a.text().unwrap(), a.int(), a.int(), a.dec(), a.int(), a.guid());
            assert_eq!(ttype, Some(192350000), "cost");
            let source = Uuid::parse_str(&source).unwrap();
            let expected_class = if source == expense || source == lines[1] {
                192350001
            } else {
                192350002
            };
            assert_eq!(class, Some(expected_class), "class of {source}");
            if source == expense {
                assert_eq!((amount, method), (Some(money("120.00")), Some(192350000)), "2 x 60.00");
            } else {
                assert_eq!(
                    (amount, method),
                    (Some(money("500.00")), Some(192350001)),
                    "fixed price"
                );
            }
            // The source names its actual and is approved.
            let table = if source == expense {
                ("msdyn_expenses", "msdyn_expenseid")
            } else {
                ("msdyn_projectvendorinvoicelines", "msdyn_projectvendorinvoicelineid")
            };
            let mut c = fetch(
                &db,
                &format!(
                    "SELECT msdyn_actual, msdyn_approvalstatus FROM {} WHERE {} = ?",
                    table.0, table.1
                ),
                &[db::guid(source)],
                &[G, Int],
            )
            .await
            .remove(0);
            assert_eq!((c.guid(), c.int()), (id, Some(192350001)));
        }
        let status = fetch(
            &db,
            "SELECT msdyn_vendorinvoicestatus FROM msdyn_projectvendorinvoices WHERE msdyn_projectvendorinvoiceid = ?",
            &[db::guid(invoice)],
            &[Int],
        )
        .await
        .remove(0)
        .int();
        assert_eq!(status, Some(192350001), "confirmed");
        // Again: nothing new; the broken expense is still named.
        let again = approve::approve(&db, None).await.unwrap();
        assert_eq!(
            (
                again.expenses,
                again.vendor_invoice_lines,
                again.vendor_invoices_confirmed
            ),
            (0, 0, 0)
        );
        assert_eq!(again.problems.len(), 1);
        let n = fetch(&db, "SELECT COUNT(*) FROM msdyn_actuals", &[], &[Int])
            .await
            .remove(0)
            .int();
        assert_eq!(n, Some(3));
    }
);

both!(
    pay_estimate_with_another_companys_category,
    Side::Accounting,
    |t: TestStore| async move {
        let b = Books::new(t).await;
        use ValueType::Guid as G;
        let category = |company: &'static str| {
            let b = &b;
            async move {
                let mut c = b
                    .rows(
                        "SELECT \"ExpenseCategoryId\", \"TransactionCategoryId\" FROM \"ProjExpenseCategoriesExport\" \
                     WHERE \"DataAreaId\" = ? AND \"CostType\" = 'HOTEL'",
                        &[db::text(company)],
                        &[G, G],
                    )
                    .await
                    .remove(0);
                (c.guid().unwrap(), c.guid().unwrap())
            }
        };
        let (own, shared) = category("USPM").await;
        let (foreign, _) = category("DEMF").await;
        let (good, bad) = (Uuid::new_v4(), Uuid::new_v4());
        for (line, expense_category) in [(good, own), (bad, foreign)] {
            b.exec(
            "INSERT INTO \"ProjCDSEstimateExpenseImport\" (\"ProjectDataAreaId\", \"EstimateLineId\", \"ProjectId\", \
             \"TransactionCategory\", \"TransType\", \"StartDate\", \"EndDate\", \"Quantity\", \"UnitPrice\", \"Amount\", \
             \"TransactionCurrencyId\", \"ExpenseCategoryId\") VALUES ('USPM', ?, ?, ?, 'Cost', ?, ?, ?, ?, ?, ?, ?)",
            &[
                db::guid(line),
                db::guid(Uuid::new_v4()),
                db::guid(shared),
                db::date(day("2026-08-01")),
                db::date(day("2026-08-31")),
                db::dec(money("3")),
                db::dec(money("150.00")),
                db::dec(money("450.00")),
                db::guid(b.usd),
                db::guid(expense_category),
            ],
        )
        .await;
        }
        let before = b.runs().await.len();
        let summary = dualsync::accounting::forecasts::run(&b.db, Some("USPM")).await.unwrap();
        let run = b.check_run(before, summary, "Forecasts").await;
        assert_eq!(run.errors.len(), 1, "{:?}", run.errors);
        assert_eq!(run.errors[0].record, Some(bad));
        assert!(
            run.errors[0]
                .message
                .contains("DEMF/HOTEL belongs to another legal entity"),
            "{}",
            run.errors[0].message
        );
        let forecast_of = |line: Uuid| {
            let b = &b;
            async move {
                b.count(
                    "SELECT COUNT(*) FROM \"ProjForecastCost\" WHERE \"CostEstimateLineId\" = ?",
                    &[db::guid(line)],
                )
                .await
            }
        };
        assert_eq!((forecast_of(good).await, forecast_of(bad).await), (1, 0));
    }
);
