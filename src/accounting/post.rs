//! Posting integration journals: every line is validated; valid lines are posted to the project
//! subledger (`ProjPostedTransTable`) and to balanced general-ledger entries
//! (`GeneralJournalAccountEntry`: debit = credit in transaction and accounting currency), and the
//! posted attributes are written onto the staging row (`AccountingAmount`, `ExchangeRate`,
//! `VoucherNumber`, `SalesTaxAmount`), from where the actuals map writes them back to
//! `msdyn_actuals`. Lines with errors move to a new journal whose `OriginalJournalId` names the
//! source (when the legal entity transfers error lines; otherwise nothing posts), also when
//! every line of the journal fails; an error journal whose lines all fail again keeps them,
//! marked `Error`, rather than chaining another. Journals over the batch threshold
//! post in chunks, several at a time. Each chunk is one transaction that claims its lines
//! (`Status` not yet `Posted`), so a crash mid-post neither posts a line twice nor loses one:
//! a re-run posts what is left.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::db::{Cells, Db, DbTx, date, dec, guid, int, now, opt_guid, opt_text, text};
use super::import::{NewJournal, create_journal, next_line_num};
use super::joblog::{Job, JobSummary};
use super::ledger::{self, Posting};
use super::numbers;
use super::setup::{Company, Setup};
use crate::store::Result;
use crate::value::ValueType;

/// Which journals (or invoice proposals) to post.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every unposted one (of one legal entity, or all).
    All { company: Option<String> },
    /// These ids (in any legal entity).
    Named(Vec<String>),
}

/// Which journals to post.
pub type Journals = Selection;

impl Selection {
    /// The legal entity the run is for, when it is for one.
    pub fn company(&self) -> Option<&str> {
        match self {
            Selection::All { company } => company.as_deref(),
            Selection::Named(_) => None,
        }
    }
}

/// One line to post, as read from the journal.
#[derive(Debug, Clone)]
struct Line {
    line_num: i64,
    actual: Uuid,
    project: Option<Uuid>,
    task: Option<Uuid>,
    trans_date: Option<NaiveDate>,
    accounting_date: Option<NaiveDate>,
    voucher: Option<String>,
    classification: Option<String>,
    trans_type: Option<String>,
    category: Option<String>,
    line_property: Option<String>,
    resource: Option<Uuid>,
    quantity: Option<Decimal>,
    currency: Option<String>,
    rate: Option<Decimal>,
    amount_cur: Option<Decimal>,
    amount_mst: Option<Decimal>,
    sales_tax: Option<Decimal>,
    tax_group: Option<String>,
    item_tax_group: Option<String>,
    dimensions: Option<String>,
    description: Option<String>,
    offset: Option<String>,
}

const LINE_SELECT: &str = "SELECT \"LineNum\", \"ActualId\", \"ProjectId\", \"TaskId\", \"TransDate\", \"AccountingDate\", \
    \"Voucher\", \"TransactionClassification\", \"TransType\", \"ProjectCategoryId\", \"LinePropertyId\", \"ResourceId\", \
    \"Quantity\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \"AmountMST\", \"SalesTaxAmount\", \
    \"BillingSalesTaxGroup\", \"BillingItemSalesTaxGroup\", \"DefaultDimensionDisplayValue\", \"Description\", \"OffsetMainAccount\" \
    FROM \"ProjCDSIntegrationJournalLine\"";

const LINE_TYPES: [ValueType; 23] = {
    use ValueType::{Date, Decimal as D, Guid as G, Int, Text as T};
    [
        Int, G, G, G, Date, Date, T, T, T, T, T, G, D, T, D, D, D, D, T, T, T, T, T,
    ]
};

fn line_of(row: crate::store::Row) -> Option<Line> {
    let mut c = Cells::new(row);
    Some(Line {
        line_num: c.int()?,
        actual: c.guid()?,
        project: c.guid(),
        task: c.guid(),
        trans_date: c.date(),
        accounting_date: c.date(),
        voucher: c.text(),
        classification: c.text(),
        trans_type: c.text(),
        category: c.text(),
        line_property: c.text(),
        resource: c.guid(),
        quantity: c.dec(),
        currency: c.text(),
        rate: c.dec(),
        amount_cur: c.dec(),
        amount_mst: c.dec(),
        sales_tax: c.dec(),
        tax_group: c.text(),
        item_tax_group: c.text(),
        dimensions: c.text(),
        description: c.text(),
        offset: c.text(),
    })
}

/// Posts the selected journals; one job-log run for all of them.
pub async fn post(db: &Db, which: &Journals) -> Result<JobSummary> {
    let mut job = Job::start(db, "Post", which.company()).await?;
    let result = run(db, which, &mut job).await;
    job.close(db, result).await
}

async fn run(db: &Db, which: &Journals, job: &mut Job) -> Result<()> {
    let setup = Setup::load(db).await?;
    let journals: Vec<(String, String)> = match which {
        Journals::All { company } => db
            .fetch(
                "SELECT \"DataAreaId\", \"JournalId\" FROM \"ProjCDSIntegrationJournal\" \
                 WHERE \"Status\" IN ('Open', 'Posting') ORDER BY \"DataAreaId\", \"JournalId\"",
                &[],
                &[ValueType::Text, ValueType::Text],
            )
            .await?
            .into_iter()
            .filter_map(|r| {
                let mut c = Cells::new(r);
                Some((c.text()?, c.text()?))
            })
            .filter(|(area, _)| company.as_ref().is_none_or(|c| c == area))
            .collect(),
        Journals::Named(ids) => {
            let mut out = Vec::new();
            for id in ids {
                let found = db
                    .fetch(
                        "SELECT \"DataAreaId\", \"Status\" FROM \"ProjCDSIntegrationJournal\" WHERE \"JournalId\" = ?",
                        &[text(id)],
                        &[ValueType::Text, ValueType::Text],
                    )
                    .await?;
                match found.into_iter().next().map(Cells::new) {
                    Some(mut c) => {
                        let area = c.text().unwrap_or_default();
                        if c.text().as_deref() == Some("Posted") {
                            job.error(db, Some(&area), None, Some(id), "the journal is already posted")
                                .await?;
                        } else {
                            out.push((area, id.clone()));
                        }
                    }
                    None => {
                        job.add("unknown_journals", 1);
                        job.error(db, None, None, Some(id), "there is no integration journal with this id")
                            .await?;
                    }
                }
            }
            out
        }
    };
    for (area, journal) in journals {
        let company = setup.company(&area)?;
        post_journal(db, &setup, company, &journal, job).await?;
    }
    Ok(())
}

async fn set_journal_status(db: &Db, company: &str, journal: &str, status: &str) -> Result<()> {
    let posted = if status == "Posted" {
        now()
    } else {
        super::db::value(&crate::value::Value::Null, ValueType::DateTime)
    };
    db.execute(
        "UPDATE \"ProjCDSIntegrationJournal\" SET \"Status\" = ?, \"PostedDateTime\" = ? WHERE \"DataAreaId\" = ? AND \"JournalId\" = ?",
        &[text(status), posted, text(company), text(journal)],
    )
    .await?;
    Ok(())
}

async fn post_journal(db: &Db, setup: &Setup, company: &Company, journal: &str, job: &mut Job) -> Result<()> {
    set_journal_status(db, &company.id, journal, "Posting").await?;
    let lines: Vec<Line> = db
        .fetch(
            &format!(
                "{LINE_SELECT} WHERE \"DataAreaId\" = ? AND \"JournalId\" = ? AND \"Status\" <> 'Posted' ORDER BY \"LineNum\""
            ),
            &[text(&company.id), text(journal)],
            &LINE_TYPES,
        )
        .await?
        .into_iter()
        .filter_map(line_of)
        .collect();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for mut line in lines {
        match validate(setup, company, &line) {
            Ok(tax) => {
                line.sales_tax = Some(tax);
                valid.push(line)
            }
            Err(e) => invalid.push((line, e)),
        }
    }
    for (line, e) in &invalid {
        job.add("lines_with_errors", 1);
        job.error(db, Some(&company.id), Some(line.actual), Some(journal), e)
            .await?;
    }
    // Without transfer, a journal with an error line does not post at all. An error journal
    // (one that already received moved lines) whose every line fails again keeps them: moving
    // them on would only chain another error journal on every run.
    let is_error_journal = original_of(db, &company.id, journal).await?.is_some();
    if !invalid.is_empty() && (!company.transfer_errors || (valid.is_empty() && is_error_journal)) {
        mark_errors(db, &company.id, journal, &invalid).await?;
        set_journal_status(db, &company.id, journal, "Open").await?;
        return Ok(());
    }
    if !invalid.is_empty() {
        transfer(db, company, journal, &invalid, job).await?;
    }
    let trans_seq = company.trans_id_sequence.clone().ok_or_else(|| {
        super::db::setup_error(
            format!(
                "ProjParameters of {} names no transaction-id number sequence",
                company.id
            ),
            "set TransIdNumberSequenceCode, then post again",
        )
    })?;
    // Chunks of the batch threshold, several at a time when the journal is large.
    let chunk_size = if valid.len() > company.batch_threshold {
        company.batch_threshold
    } else {
        valid.len().max(1)
    };
    let chunks: Vec<Vec<Line>> = valid.chunks(chunk_size).map(|c| c.to_vec()).collect();
    let tasks = if chunks.len() > 1 { company.parallel_tasks } else { 1 };
    let mut posted = 0u64;
    let company_arc = std::sync::Arc::new(company.clone());
    for wave in chunks.chunks(tasks) {
        let mut set = tokio::task::JoinSet::new();
        for chunk in wave {
            let (db, company, journal, seq, chunk) = (
                db.clone(),
                company_arc.clone(),
                journal.to_string(),
                trans_seq.clone(),
                chunk.clone(),
            );
            set.spawn(async move { post_chunk(&db, &company, &journal, &seq, &chunk).await });
        }
        let mut first_error = None;
        while let Some(done) = set.join_next().await {
            match done {
                Ok(Ok(n)) => posted += n,
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => {
                    first_error = first_error.or(Some(crate::store::StoreError::new(
                        crate::store::ErrorKind::Permanent,
                        format!("a posting task failed: {e}"),
                    )))
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    job.add("lines_posted", posted);
    let left = db
        .fetch(
            "SELECT COUNT(*) FROM \"ProjCDSIntegrationJournalLine\" WHERE \"DataAreaId\" = ? AND \"JournalId\" = ? \
             AND \"Status\" <> 'Posted'",
            &[text(&company.id), text(journal)],
            &[ValueType::Int],
        )
        .await?
        .into_iter()
        .next()
        .and_then(|r| Cells::new(r).int())
        .unwrap_or(0);
    set_journal_status(db, &company.id, journal, if left == 0 { "Posted" } else { "Open" }).await?;
    if left == 0 {
        job.add("journals_posted", 1);
    }
    Ok(())
}

/// The journal whose error lines were moved into `journal`, if it is an error journal.
async fn original_of(db: &Db, company: &str, journal: &str) -> Result<Option<String>> {
    Ok(db
        .fetch(
            "SELECT \"OriginalJournalId\" FROM \"ProjCDSIntegrationJournal\" WHERE \"DataAreaId\" = ? AND \"JournalId\" = ?",
            &[text(company), text(journal)],
            &[ValueType::Text],
        )
        .await?
        .into_iter()
        .next()
        .and_then(|r| Cells::new(r).text()))
}

/// The line's sales tax, computed from its tax groups as they are now (they may have been
/// edited since the import), or why the line cannot post.
fn validate(setup: &Setup, company: &Company, l: &Line) -> std::result::Result<Decimal, String> {
    let missing = |what: &str| Err(format!("line {}: no {what}", l.line_num));
    let Some(accounting_date) = l.accounting_date else {
        return missing("accounting date");
    };
    if l.voucher.is_none() {
        return missing("voucher");
    }
    if l.category.is_none() {
        return missing("project category");
    }
    if l.line_property.is_none() {
        return missing("line property");
    }
    let (Some(currency), Some(rate), Some(cur), Some(mst)) = (&l.currency, l.rate, l.amount_cur, l.amount_mst) else {
        return missing("currency, exchange rate or amount");
    };
    match company.period_of(accounting_date) {
        Some(p) if p.open => {}
        Some(p) => {
            return Err(format!(
                "line {}: the accounting date {accounting_date} is in the closed period {}..{}",
                l.line_num, p.start, p.end
            ));
        }
        None => {
            return Err(format!(
                "line {}: the accounting date {accounting_date} is in no fiscal period",
                l.line_num
            ));
        }
    }
    let trans_type = l.trans_type.as_deref().unwrap_or_default();
    let class = l.classification.as_deref().unwrap_or_default();
    if company.accounts(trans_type, class).is_none() {
        return Err(format!(
            "line {}: no ledger posting setup for transaction type {trans_type} and classification {class}",
            l.line_num
        ));
    }
    if setup.round(cur * rate, &company.accounting_currency) != mst {
        return Err(format!(
            "line {}: the accounting amount {mst} is not the amount {cur} {currency} at the rate {rate}",
            l.line_num
        ));
    }
    if !super::tax::is_taxed(trans_type) {
        return Ok(Decimal::ZERO);
    }
    company
        .tax
        .compute(
            &company.id,
            l.tax_group.as_deref(),
            l.item_tax_group.as_deref(),
            cur,
            |d| setup.round(d, currency),
        )
        .map(|lines| super::tax::total(&lines))
        .map_err(|e| format!("line {}: {e}", l.line_num))
}

/// Marks lines with their errors (status `Error`).
async fn mark_errors(db: &Db, company: &str, journal: &str, invalid: &[(Line, String)]) -> Result<()> {
    let mut tx = db.begin().await?;
    for (line, e) in invalid {
        tx.execute(
            "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"Status\" = 'Error', \"ErrorMessage\" = ? \
             WHERE \"DataAreaId\" = ? AND \"JournalId\" = ? AND \"LineNum\" = ? AND \"ActualId\" = ? \
             AND \"Status\" <> 'Posted'",
            &[
                text(e),
                text(company),
                text(journal),
                int(line.line_num),
                guid(line.actual),
            ],
        )
        .await?;
    }
    tx.commit().await
}

/// Moves the lines with errors to a new journal that names the source.
async fn transfer(db: &Db, company: &Company, journal: &str, invalid: &[(Line, String)], job: &mut Job) -> Result<()> {
    let Some(seq) = &company.journal_sequence else {
        return mark_errors(db, &company.id, journal, invalid).await;
    };
    let mut tx = db.begin().await?;
    let target = numbers::take(&mut tx, &company.id, seq, 1).await?.remove(0);
    let key = tx
        .fetch(
            "SELECT \"PeriodUnit\", \"PeriodKey\" FROM \"ProjCDSIntegrationJournal\" WHERE \"DataAreaId\" = ? AND \"JournalId\" = ?",
            &[text(&company.id), text(journal)],
            &[ValueType::Text, ValueType::Text],
        )
        .await?
        .into_iter()
        .next()
        .map(Cells::new);
    let (unit, period) = match key {
        Some(mut c) => (c.text().unwrap_or("All".into()), c.text().unwrap_or("All".into())),
        None => ("All".into(), "All".into()),
    };
    let description = format!("Lines with posting errors from {journal}");
    let header = NewJournal {
        company: &company.id,
        id: &target,
        description: &description,
        unit: &unit,
        key: &period,
        original: Some(journal),
    };
    create_journal(&mut tx, &header).await?;
    let mut line_num = next_line_num(&mut tx, &company.id, &target).await?;
    let mut moved = 0u64;
    for (line, e) in invalid {
        // Only a line still in the source and not posted moves (a concurrent run may have
        // moved or posted it since it was read).
        moved += tx
            .execute(
                "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"JournalId\" = ?, \"LineNum\" = ?, \"Status\" = 'Error', \
                 \"ErrorMessage\" = ? WHERE \"DataAreaId\" = ? AND \"JournalId\" = ? AND \"LineNum\" = ? \
                 AND \"ActualId\" = ? AND \"Status\" <> 'Posted'",
                &[
                    text(&target),
                    int(line_num),
                    text(e),
                    text(&company.id),
                    text(journal),
                    int(line.line_num),
                    guid(line.actual),
                ],
            )
            .await?;
        line_num += 1;
    }
    if moved == 0 {
        // Nothing left to move: no empty error journal (dropping the transaction rolls it
        // back, and gives the journal number back).
        return Ok(());
    }
    tx.commit().await?;
    job.add("lines_transferred", moved);
    tracing::info!(company = %company.id, journal, error_journal = %target, lines = moved, "lines with errors moved");
    Ok(())
}

/// Posts one chunk in one transaction; returns how many lines it posted (lines another run
/// posted meanwhile are left alone).
async fn post_chunk(db: &Db, company: &Company, journal: &str, trans_seq: &str, chunk: &[Line]) -> Result<u64> {
    let mut tx = db.begin().await?;
    let mut claimed = Vec::new();
    for l in chunk {
        let n = tx
            .execute(
                "UPDATE \"ProjCDSIntegrationJournalLine\" SET \"Status\" = 'Posted', \"PostedDateTime\" = ?, \"ErrorMessage\" = NULL, \
                 \"SalesTaxAmount\" = ? WHERE \"DataAreaId\" = ? AND \"JournalId\" = ? AND \"LineNum\" = ? AND \"ActualId\" = ? \
                 AND \"Status\" <> 'Posted'",
                &[
                    now(),
                    super::db::opt_dec(l.sales_tax),
                    text(&company.id),
                    text(journal),
                    int(l.line_num),
                    guid(l.actual),
                ],
            )
            .await?;
        if n == 1 {
            claimed.push(l);
        }
    }
    let trans_ids = numbers::take(&mut tx, &company.id, trans_seq, claimed.len()).await?;
    for (l, trans_id) in claimed.iter().zip(trans_ids) {
        post_line(&mut tx, company, journal, l, &trans_id).await?;
    }
    tx.commit().await?;
    Ok(claimed.len() as u64)
}

async fn post_line(tx: &mut DbTx, company: &Company, journal: &str, l: &Line, trans_id: &str) -> Result<()> {
    let accounting_date = l.accounting_date.unwrap_or_default();
    let currency = l.currency.clone().unwrap_or_default();
    let (cur, mst, rate) = (
        l.amount_cur.unwrap_or_default(),
        l.amount_mst.unwrap_or_default(),
        l.rate.unwrap_or(Decimal::ONE),
    );
    let tax = l.sales_tax.unwrap_or_default();
    let voucher = l.voucher.clone().unwrap_or_default();
    let trans_type = l.trans_type.clone().unwrap_or_default();
    let class = l.classification.clone().unwrap_or_default();
    tx.execute(
        "INSERT INTO \"ProjPostedTransTable\" (\"DataAreaId\", \"TransId\", \"ActualId\", \"JournalId\", \"ProjectId\", \
         \"TaskId\", \"TransactionClassification\", \"TransType\", \"CategoryId\", \"LinePropertyId\", \"ResourceId\", \
         \"Voucher\", \"TransDate\", \"AccountingDate\", \"Quantity\", \"CurrencyCode\", \"ExchangeRate\", \"AmountCur\", \
         \"AmountMST\", \"SalesTaxAmount\", \"DefaultDimensionDisplayValue\", \"PostedDateTime\") \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            text(&company.id),
            text(trans_id),
            guid(l.actual),
            text(journal),
            opt_guid(l.project),
            opt_guid(l.task),
            text(&class),
            text(&trans_type),
            opt_text(l.category.as_deref()),
            opt_text(l.line_property.as_deref()),
            opt_guid(l.resource),
            text(&voucher),
            super::db::opt_date(l.trans_date),
            date(accounting_date),
            super::db::opt_dec(l.quantity),
            text(&currency),
            dec(rate),
            dec(cur),
            dec(mst),
            dec(tax),
            opt_text(l.dimensions.as_deref()),
            now(),
        ],
    )
    .await?;
    // The offset: the integration account a source document posted to (which this clears), else
    // the posting setup's credit account.
    let (debit, setup_credit) = company.accounts(&trans_type, &class).cloned().unwrap_or_default();
    let credit = l.offset.clone().unwrap_or(setup_credit);
    let posting = Posting {
        company: &company.id,
        voucher: &voucher,
        accounting_date,
        dimensions: l.dimensions.as_deref(),
        posting_type: &format!("Project{trans_type}"),
        currency: &currency,
        text: l.description.as_deref(),
        project: l.project,
        actual: Some(l.actual),
    };
    ledger::balanced(tx, &posting, &debit, &credit, cur, mst).await?;
    let posted = ledger::Posted {
        accounting_amount: mst,
        rate,
        voucher: &voucher,
        sales_tax: tax,
    };
    ledger::write_back(tx, &company.id, l.actual, &posted).await?;
    Ok(())
}

/// Journal counts by status, for reports: (company, journal, status, lines, posted lines).
pub type JournalRow = (String, String, String, i64, i64);

/// Every journal with its line counts.
pub async fn list(db: &Db) -> Result<Vec<JournalRow>> {
    let rows = db
        .fetch(
            "SELECT j.\"DataAreaId\", j.\"JournalId\", j.\"Status\", \
             (SELECT COUNT(*) FROM \"ProjCDSIntegrationJournalLine\" l WHERE l.\"DataAreaId\" = j.\"DataAreaId\" AND l.\"JournalId\" = j.\"JournalId\"), \
             (SELECT COUNT(*) FROM \"ProjCDSIntegrationJournalLine\" l WHERE l.\"DataAreaId\" = j.\"DataAreaId\" AND l.\"JournalId\" = j.\"JournalId\" AND l.\"Status\" = 'Posted') \
             FROM \"ProjCDSIntegrationJournal\" j ORDER BY j.\"DataAreaId\", j.\"JournalId\"",
            &[],
            &[ValueType::Text, ValueType::Text, ValueType::Text, ValueType::Int, ValueType::Int],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut c = Cells::new(r);
            (
                c.text().unwrap_or_default(),
                c.text().unwrap_or_default(),
                c.text().unwrap_or_default(),
                c.int().unwrap_or(0),
                c.int().unwrap_or(0),
            )
        })
        .collect())
}
