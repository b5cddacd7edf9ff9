//! The integration journal line edit rule, enforced by the accounting store itself (so it holds
//! for any program, here the database's own command-line client), on SQLite and PostgreSQL:
//! the billing sales tax groups and the financial dimensions can be changed on a line; any
//! other column is refused with a clear message; a posted line cannot be changed at all.

mod common;

use common::TestStore;
use dualsync::tablemap::model::Side;

async fn edits(backend: &str) {
    let acct = TestStore::new(backend, "jr_guard", Side::Accounting).await;
    acct.run_client(
        "INSERT INTO \"ProjCDSIntegrationJournal\" (\"DataAreaId\", \"JournalId\", \"PeriodUnit\", \"PeriodKey\", \
         \"Status\", \"CreatedDateTime\") VALUES ('USPM', 'J1', 'All', 'All', 'Open', '2025-01-01T00:00:00Z');
         INSERT INTO \"ProjCDSIntegrationJournalLine\" (\"DataAreaId\", \"JournalId\", \"LineNum\", \"ActualId\", \
         \"AmountCur\", \"Status\") VALUES ('USPM', 'J1', 1, '6f1e2c3a-0b1d-4e5f-8a9b-0c1d2e3f4a5b', 10, 'Draft'), \
         ('USPM', 'J1', 2, '6f1e2c3a-0b1d-4e5f-8a9b-0c1d2e3f4a5c', 20, 'Posted');",
    );
    // Allowed: the three editable columns of an unposted line.
    acct.run_client(
        "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"BillingSalesTaxGroup\" = 'FULL', \
         \"BillingItemSalesTaxGroup\" = 'ITEM', \"DefaultDimensionDisplayValue\" = '-D1-' WHERE \"LineNum\" = 1",
    );
    // Refused: an amount, with the rule in the message.
    let refused =
        acct.try_client("UPDATE \"ProjCDSIntegrationJournalLine\" SET \"AmountCur\" = 11 WHERE \"LineNum\" = 1");
    assert!(
        refused.as_ref().is_err_and(
            |e| e.contains("only BillingSalesTaxGroup, BillingItemSalesTaxGroup and DefaultDimensionDisplayValue")
        ),
        "{refused:?}"
    );
    // Refused: anything on a posted line.
    let refused = acct.try_client(
        "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"BillingSalesTaxGroup\" = 'X' WHERE \"LineNum\" = 2",
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("a posted integration journal line cannot be changed")),
        "{refused:?}"
    );
    // The processes' own moves (status, journal) are allowed.
    acct.run_client("UPDATE \"ProjCDSIntegrationJournalLine\" SET \"Status\" = 'Error', \"ErrorMessage\" = 'x' WHERE \"LineNum\" = 1");
}

#[tokio::test]
async fn journal_line_edits_sqlite() {
    edits("sqlite").await;
}

#[tokio::test]
async fn journal_line_edits_postgres() {
    edits("postgres").await;
}
