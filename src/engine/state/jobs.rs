//! The job log: one row per run of an accounting process (journal import, posting,
//! forecasts), with its counts and errors as JSON.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::{Cols, StateStore, count_arg, int, now, opt_text, text, time};
use crate::store::{ErrorKind, Result, StoreError};
use crate::value::ValueType;

text_enum! {
    /// How a job run ended, or that it still runs.
    pub enum JobStatus ("job status") {
        Running = "running",
        Succeeded = "succeeded",
        /// Finished, with some records in error.
        Partial = "partial",
        Failed = "failed",
        /// Left running by a process that was killed; closed at the next start.
        Aborted = "aborted",
    }
}

/// One run of an accounting process.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub name: String,
    pub status: JobStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What the run counted (e.g. `{"imported": 12}`), once finished.
    pub counts: Option<Json>,
    /// The errors of the run, once finished.
    pub errors: Option<Json>,
}

const JOB_SELECT: &str = "SELECT id, name, status, started_at, finished_at, counts, errors FROM job_log";
const JOB_TYPES: [ValueType; 7] = {
    use ValueType::{DateTime, Int, Text};
    [Int, Text, Text, DateTime, DateTime, Text, Text]
};

fn json_of(text: Option<String>) -> Result<Option<Json>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            StoreError::new(ErrorKind::Permanent, format!("the job log holds invalid JSON: {e}"))
                .with_hint("the state store was changed by hand or by another program; restore it")
        })
    })
    .transpose()
}

fn job_of(mut c: Cols) -> Result<Job> {
    Ok(Job {
        id: c.int()?,
        name: c.text()?,
        status: c.parsed()?,
        started_at: c.time()?,
        finished_at: c.opt_time()?,
        counts: json_of(c.opt_text()?)?,
        errors: json_of(c.opt_text()?)?,
    })
}

impl StateStore {
    /// Notes that a job starts now; its id.
    pub async fn start_job(&self, name: &str) -> Result<i64> {
        let row = self
            .fetch_one(
                "INSERT INTO job_log (name, status, started_at) VALUES (?, 'running', ?) RETURNING id",
                &[text(name), time(now())],
                &[ValueType::Int],
            )
            .await?;
        match row {
            Some(mut c) => c.int(),
            None => Err(self.not_found(format!("the run of job `{name}` was not stored"))),
        }
    }

    /// Notes how a job ended. A job id that does not exist is a `NotFound` error.
    pub async fn finish_job(&self, id: i64, counts: &Json, errors: &Json, status: JobStatus) -> Result<()> {
        let n = self
            .execute(
                "UPDATE job_log SET status = ?, finished_at = ?, counts = ?, errors = ? WHERE id = ?",
                &[
                    text(status.as_str()),
                    time(now()),
                    opt_text(Some(&counts.to_string())),
                    opt_text(Some(&errors.to_string())),
                    int(id),
                ],
            )
            .await?;
        if n == 0 {
            return Err(self.not_found(format!("there is no job run {id}")));
        }
        Ok(())
    }

    /// Closes every run still marked `running` as `aborted`: called by a process that holds
    /// the lock of those jobs, so no other process can be running them. Returns how many.
    pub async fn abort_running_jobs(&self, names: &[&str]) -> Result<u64> {
        let mut closed = 0;
        for name in names {
            let errors = serde_json::json!([
                "aborted: the process running this job stopped before it finished (killed or crashed); \
                 the next run does its work again"
            ]);
            closed += self
                .execute(
                    "UPDATE job_log SET status = 'aborted', finished_at = ?, errors = ? \
                     WHERE name = ? AND status = 'running'",
                    &[time(now()), opt_text(Some(&errors.to_string())), text(name)],
                )
                .await?;
        }
        Ok(closed)
    }

    pub async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("{JOB_SELECT} WHERE id = ?");
        self.fetch_one(&sql, &[int(id)], &JOB_TYPES)
            .await?
            .map(job_of)
            .transpose()
    }

    /// The latest run of the job `name`, if any.
    pub async fn last_job(&self, name: &str) -> Result<Option<Job>> {
        let sql = format!("{JOB_SELECT} WHERE name = ? ORDER BY id DESC LIMIT 1");
        self.fetch_one(&sql, &[text(name)], &JOB_TYPES)
            .await?
            .map(job_of)
            .transpose()
    }

    /// The latest `limit` job runs, newest first.
    pub async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>> {
        let sql = format!("{JOB_SELECT} ORDER BY id DESC LIMIT ?");
        self.fetch(&sql, &[count_arg(limit as u64)], &JOB_TYPES)
            .await?
            .into_iter()
            .map(job_of)
            .collect()
    }
}
