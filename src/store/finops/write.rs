//! Writing to a data entity through `$batch`, each write its own changeset, so one refused
//! record is rolled back alone and every write gets its own outcome (a changeset of many
//! records would roll back all of them for one bad one). Finance and operations does not
//! upsert: the records of a batch are first looked up by key (one read), then an existing one
//! is updated with `PATCH Set(keys)` (key fields are never in the body) and a new one created
//! with `POST Set`. A record created or deleted by someone else in between is handled by a
//! second round: a PATCH answered 404 becomes a POST, a POST answered "already exists" a PATCH.
//! A delete is `DELETE Set(keys)` (404: it was not there).
//!
//! A batch cut short by a transient failure (429, 503, a dropped connection) may have applied
//! some of its changesets; it is retried whole, which is safe: the lookup is repeated, and
//! every write is idempotent.

use std::collections::HashSet;

use super::FinopsStore;
use super::shape::Shape;
use crate::config::StoreKind;
use crate::store::http::error::kind_of;
use crate::store::odata::batch::{BatchRequest, PartResponse, Request};
use crate::store::odata::json;
use crate::store::odata::service::{part_error, part_failure};
use crate::store::{EntityDesc, ErrorKind, Key, Result, RowOutcome, WriteOp};
use crate::value::Value;

/// How one write is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Create,
    Update,
    Delete,
}

/// What one answer says: done, or try the other verb.
enum Answer {
    Done(RowOutcome),
    Retry(Verb),
}

impl FinopsStore {
    pub(super) async fn write(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        let shape = self.shape(&desc.name).await?;
        let mut outcomes = Vec::with_capacity(ops.len());
        for chunk in ops.chunks(self.http.batch(StoreKind::Finops)) {
            outcomes.extend(self.write_chunk(&shape, desc, chunk).await?);
        }
        Ok(outcomes)
    }

    async fn write_chunk(&self, shape: &Shape, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        let upserted: Vec<Key> = ops
            .iter()
            .filter_map(|op| match op {
                WriteOp::Upsert(row) => Some(desc.key_of(row)),
                WriteOp::Delete(_) => None,
            })
            .collect();
        let existing: HashSet<Key> = match upserted.is_empty() {
            true => HashSet::new(),
            false => {
                let keys_only = desc.project(&[])?;
                let found = self.read_keys(&keys_only, &upserted).await?;
                found.rows.into_iter().collect()
            }
        };
        let mut outcomes: Vec<Option<RowOutcome>> = vec![None; ops.len()];
        let mut round: Vec<(usize, Verb)> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                WriteOp::Delete(_) => (i, Verb::Delete),
                WriteOp::Upsert(row) if existing.contains(&desc.key_of(row)) => (i, Verb::Update),
                WriteOp::Upsert(_) => (i, Verb::Create),
            })
            .collect();
        for last in [false, true] {
            if round.is_empty() {
                break;
            }
            let mut batch = BatchRequest::new();
            let mut sent = Vec::new();
            for (i, verb) in &round {
                match self.request(shape, desc, &ops[*i], *verb) {
                    Ok(r) => {
                        batch.push_changeset(vec![r]);
                        sent.push((*i, *verb));
                    }
                    Err(e) => outcomes[*i] = Some(RowOutcome::Rejected { message: e.message }),
                }
            }
            let mut again = Vec::new();
            if !sent.is_empty() {
                let parts = self
                    .service
                    .post_batch(&batch, Some("odata.continue-on-error"), &desc.name)
                    .await?;
                for ((i, verb), part) in sent.into_iter().zip(&parts) {
                    match self.answer(verb, part, &desc.name, last)? {
                        Answer::Done(o) => outcomes[i] = Some(o),
                        Answer::Retry(v) => again.push((i, v)),
                    }
                }
            }
            round = again;
        }
        Ok(outcomes.into_iter().map(|o| o.expect("an outcome per write")).collect())
    }

    /// What one answer of a batch says about its write. A transient failure of a part (the
    /// service throttled or failed inside the batch) fails the batch, to be retried whole.
    fn answer(&self, verb: Verb, part: &PartResponse, entity: &str, last: bool) -> Result<Answer> {
        if part.is_success() {
            return Ok(Answer::Done(match verb {
                Verb::Delete => RowOutcome::Deleted { existed: true },
                _ => RowOutcome::Written,
            }));
        }
        let status = reqwest::StatusCode::from_u16(part.status).unwrap_or(reqwest::StatusCode::BAD_REQUEST);
        let (_, said) = part_error(part);
        let exists = status == reqwest::StatusCode::CONFLICT || said.to_ascii_lowercase().contains("already exists");
        Ok(Answer::Done(match (verb, kind_of(status)) {
            (Verb::Delete, ErrorKind::NotFound) => RowOutcome::Deleted { existed: false },
            (Verb::Update, ErrorKind::NotFound) if !last => return Ok(Answer::Retry(Verb::Create)),
            (Verb::Create, ErrorKind::Rejected) if exists && !last => return Ok(Answer::Retry(Verb::Update)),
            (_, ErrorKind::Rejected) | (_, ErrorKind::NotFound) => RowOutcome::Rejected { message: said },
            (_, kind) => {
                return Err(part_failure(&self.service.name, entity, kind, part));
            }
        }))
    }
}

impl FinopsStore {
    /// The request of one write, with an absolute URL.
    fn request(&self, shape: &Shape, desc: &EntityDesc, op: &WriteOp, verb: Verb) -> Result<Request> {
        // A record of another company than the user's default is reached with cross-company.
        let url = |path: &str| {
            self.service.url(path).map(|mut u| {
                u.query_pairs_mut().append_pair("cross-company", "true");
                u.to_string()
            })
        };
        match (op, verb) {
            (WriteOp::Delete(key), _) => Ok(Request::new("DELETE", url(&shape.record_path(key)?)?)),
            (WriteOp::Upsert(row), Verb::Create) => {
                let fields: Vec<(&str, &Value)> =
                    desc.columns.iter().map(|c| c.name.as_str()).zip(row.iter()).collect();
                Ok(Request::new("POST", url(&shape.set)?).json(json::entity_body(&fields, &[])))
            }
            (WriteOp::Upsert(row), _) => {
                let fields: Vec<(&str, &Value)> = desc
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !desc.key.contains(i))
                    .map(|(i, c)| (c.name.as_str(), &row[i]))
                    .collect();
                Ok(Request::new("PATCH", url(&shape.record_path(&desc.key_of(row))?)?)
                    .json(json::entity_body(&fields, &[])))
            }
        }
    }
}
