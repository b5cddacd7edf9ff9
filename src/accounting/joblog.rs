//! The job log of the accounting processes (`ProjCDSJobLog`, `ProjCDSJobLogLine`): each run of
//! each process with its times, counts and every error, naming the record. `dualsync journal
//! log` prints it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::db::{Cells, Db, int, now, opt_guid, opt_text, text};
use crate::store::Result;
use crate::value::ValueType;

/// One run of a process, being recorded.
pub struct Job {
    pub rec_id: i64,
    pub name: &'static str,
    pub counts: BTreeMap<&'static str, u64>,
    pub errors: u64,
}

impl Job {
    /// Starts a run of `name` (`ImportFromStaging`, `Post`, `Forecasts`).
    pub async fn start(db: &Db, name: &'static str, company: Option<&str>) -> Result<Job> {
        let rows = db
            .fetch(
                "INSERT INTO \"ProjCDSJobLog\" (\"JobName\", \"DataAreaId\", \"StartedDateTime\", \"Status\") \
                 VALUES (?, ?, ?, 'Running') RETURNING \"RecId\"",
                &[text(name), opt_text(company), now()],
                &[ValueType::Int],
            )
            .await?;
        let rec_id = rows.into_iter().next().and_then(|r| Cells::new(r).int()).unwrap_or(0);
        Ok(Job {
            rec_id,
            name,
            counts: BTreeMap::new(),
            errors: 0,
        })
    }

    pub fn add(&mut self, counter: &'static str, n: u64) {
        *self.counts.entry(counter).or_default() += n;
    }

    /// Records an error about one record (logged as a warning too).
    pub async fn error(
        &mut self,
        db: &Db,
        company: Option<&str>,
        record: Option<Uuid>,
        journal: Option<&str>,
        message: &str,
    ) -> Result<()> {
        self.errors += 1;
        tracing::warn!(job = self.name, company, record = ?record, journal, "{message}");
        db.execute(
            "INSERT INTO \"ProjCDSJobLogLine\" (\"JobRecId\", \"DataAreaId\", \"RecordId\", \"JournalId\", \"Message\") \
             VALUES (?, ?, ?, ?, ?)",
            &[int(self.rec_id), opt_text(company), opt_guid(record), opt_text(journal), text(message)],
        )
        .await?;
        Ok(())
    }

    /// Ends the run with the outcome of its work: the error that stopped it marks it `Failed`
    /// and is returned; otherwise its summary.
    pub async fn close(self, db: &Db, result: Result<()>) -> Result<JobSummary> {
        let failure = result.as_ref().err().map(|e| e.to_string());
        let summary = self.finish(db, failure.as_deref()).await?;
        result?;
        Ok(summary)
    }

    /// Ends the run: `Succeeded`, or `Warning` when records had errors, or `Failed` with the
    /// error that stopped it.
    pub async fn finish(self, db: &Db, failure: Option<&str>) -> Result<JobSummary> {
        let status = match (failure, self.errors) {
            (Some(_), _) => "Failed",
            (None, 0) => "Succeeded",
            (None, _) => "Warning",
        };
        let counts = serde_json::to_string(&self.counts).unwrap_or_default();
        db.execute(
            "UPDATE \"ProjCDSJobLog\" SET \"FinishedDateTime\" = ?, \"Status\" = ?, \"Counts\" = ?, \"Message\" = ? \
             WHERE \"RecId\" = ?",
            &[now(), text(status), text(&counts), opt_text(failure), int(self.rec_id)],
        )
        .await?;
        Ok(JobSummary {
            rec_id: self.rec_id,
            name: self.name.to_string(),
            status: status.to_string(),
            counts: self.counts.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            errors: self.errors,
        })
    }
}

/// Whether some earlier run logged exactly `message` about `record` (an error that stays true
/// from run to run is logged once).
pub async fn logged_before(db: &Db, record: Uuid, message: &str) -> Result<bool> {
    let rows = db
        .fetch(
            "SELECT COUNT(*) FROM \"ProjCDSJobLogLine\" WHERE \"RecordId\" = ? AND \"Message\" = ?",
            &[super::db::guid(record), text(message)],
            &[ValueType::Int],
        )
        .await?;
    Ok(rows.into_iter().next().and_then(|r| Cells::new(r).int()).unwrap_or(0) > 0)
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    pub rec_id: i64,
    pub name: String,
    pub status: String,
    pub counts: BTreeMap<String, u64>,
    pub errors: u64,
}

impl std::fmt::Display for JobSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts: Vec<String> = self.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        write!(
            f,
            "{} (job {}): {}; {}; {} error{}",
            self.name,
            self.rec_id,
            self.status,
            if counts.is_empty() {
                "nothing to do".to_string()
            } else {
                counts.join(", ")
            },
            self.errors,
            if self.errors == 1 { "" } else { "s" }
        )
    }
}

/// One logged run with its error lines, for `dualsync journal log`.
#[derive(Debug, Clone)]
pub struct LoggedRun {
    pub rec_id: i64,
    pub name: String,
    pub company: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub status: String,
    pub counts: String,
    pub message: Option<String>,
    pub errors: Vec<String>,
}

/// The last `limit` runs, newest first, each with its errors.
pub async fn recent(db: &Db, limit: usize) -> Result<Vec<LoggedRun>> {
    let rows = db
        .fetch(
            &format!(
                "SELECT \"RecId\", \"JobName\", \"DataAreaId\", \"StartedDateTime\", \"Status\", \"Counts\", \"Message\" \
                 FROM \"ProjCDSJobLog\" ORDER BY \"RecId\" DESC LIMIT {limit}"
            ),
            &[],
            &[
                ValueType::Int,
                ValueType::Text,
                ValueType::Text,
                ValueType::DateTime,
                ValueType::Text,
                ValueType::Text,
                ValueType::Text,
            ],
        )
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let mut c = Cells::new(row);
        let rec_id = c.int().unwrap_or(0);
        let name = c.text().unwrap_or_default();
        let company = c.text();
        let started = match c.value() {
            crate::value::Value::DateTime(t) => Some(t),
            _ => None,
        };
        let status = c.text().unwrap_or_default();
        let counts = c.text().unwrap_or_default();
        let message = c.text();
        let lines = db
            .fetch(
                "SELECT \"DataAreaId\", \"RecordId\", \"JournalId\", \"Message\" FROM \"ProjCDSJobLogLine\" \
                 WHERE \"JobRecId\" = ? ORDER BY \"RecId\"",
                &[int(rec_id)],
                &[ValueType::Text, ValueType::Guid, ValueType::Text, ValueType::Text],
            )
            .await?;
        let errors = lines
            .into_iter()
            .map(|r| {
                let mut c = Cells::new(r);
                let company = c.text().unwrap_or_default();
                let record = c.guid().map(|g| g.to_string()).unwrap_or_default();
                let journal = c.text().unwrap_or_default();
                let message = c.text().unwrap_or_default();
                [company, record, journal, message]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("  ")
            })
            .collect();
        out.push(LoggedRun {
            rec_id,
            name,
            company,
            started,
            status,
            counts,
            message,
            errors,
        });
    }
    Ok(out)
}
