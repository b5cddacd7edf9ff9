//! Writing to a Dataverse entity set: each write a request of a `$batch` (at most
//! `http.batch_requests`, 1,000 by default) sent with `Prefer: odata.continue-on-error`, so one
//! refused record never blocks the others and every write gets its own outcome. An upsert is
//! `PATCH set(key)` (Dataverse creates the record when the key is new), with lookups written as
//! `<navigation>@odata.bind`; a delete is `DELETE set(key)` (404: it was not there).
//!
//! The requests of a batch are independent, not a changeset: a batch cut short by a transient
//! failure (429, 503, a dropped connection) may have applied some of them. The whole batch is
//! then retried, which is safe because every write is idempotent (an upsert of the same values,
//! a delete of what is gone), as the engine's replay after a crash is.

use super::DataverseStore;
use super::shape::Shape;
use crate::store::http::error::kind_of;
use crate::store::odata::batch::{BatchRequest, PartResponse, Request};
use crate::store::odata::json;
use crate::store::odata::service::{part_error, part_failure};
use crate::store::{EntityDesc, ErrorKind, Result, RowOutcome, StoreError, WriteOp};
use crate::value::Value;

impl DataverseStore {
    pub(super) async fn write(&self, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        let shape = self.shape(&desc.name).await?;
        let mut outcomes = Vec::with_capacity(ops.len());
        for chunk in ops.chunks(self.http.batch(crate::config::StoreKind::Dataverse)) {
            outcomes.extend(self.write_batch(&shape, desc, chunk).await?);
        }
        Ok(outcomes)
    }

    async fn write_batch(&self, shape: &Shape, desc: &EntityDesc, ops: &[WriteOp]) -> Result<Vec<RowOutcome>> {
        // A write that cannot even be put into a request (a lookup that cannot be written) is
        // refused alone; the others go.
        let mut outcomes: Vec<Option<RowOutcome>> = vec![None; ops.len()];
        let mut batch = BatchRequest::new();
        let mut sent = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match self.request(shape, desc, op) {
                Ok(r) => {
                    batch.push(r);
                    sent.push(i);
                }
                Err(e) => outcomes[i] = Some(RowOutcome::Rejected { message: e.message }),
            }
        }
        if !sent.is_empty() {
            let parts = self
                .service
                .post_batch(&batch, Some("odata.continue-on-error"), &desc.name)
                .await?;
            for (i, part) in sent.into_iter().zip(&parts) {
                outcomes[i] = Some(self.outcome(&ops[i], part, &desc.name)?);
            }
        }
        Ok(outcomes.into_iter().map(|o| o.expect("an outcome per write")).collect())
    }

    /// The request of one write.
    fn request(&self, shape: &Shape, desc: &EntityDesc, op: &WriteOp) -> Result<Request> {
        let bad = |e: String| StoreError::new(ErrorKind::Rejected, e);
        let key_of = |values: &[Value]| -> Result<String> {
            let pairs: Vec<(&str, &Value)> = desc
                .key_columns()
                .zip(values)
                .map(|(c, v)| (shape.wire(&c.name), v))
                .collect();
            json::key_segment(&pairs).map_err(bad)
        };
        match op {
            WriteOp::Delete(key) => {
                let url = self.url(&format!("{}{}", desc.name, key_of(key)?))?;
                Ok(Request::new("DELETE", url.as_str()))
            }
            WriteOp::Upsert(row) => {
                let key = desc.key_of(row);
                let url = self.url(&format!("{}{}", desc.name, key_of(&key)?))?;
                let mut fields: Vec<(String, &Value)> = Vec::new();
                let mut binds: Vec<(String, String)> = Vec::new();
                for (i, c) in desc.columns.iter().enumerate() {
                    if desc.key.contains(&i) {
                        continue;
                    }
                    if !shape.is_lookup(&c.name) {
                        fields.push((shape.wire(&c.name).to_string(), &row[i]));
                        continue;
                    }
                    let bind = shape.bind(&c.name)?;
                    match &row[i] {
                        // Setting the navigation property to null removes the reference.
                        Value::Null => fields.push((format!("{}@odata.bind", bind.navigation), &Value::Null)),
                        v => {
                            let path = json::bind_path(&bind.target, &[("", v)]).map_err(bad)?;
                            binds.push((bind.navigation.clone(), path));
                        }
                    }
                }
                let fields: Vec<(&str, &Value)> = fields.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                let binds: Vec<(&str, &str)> = binds.iter().map(|(n, p)| (n.as_str(), p.as_str())).collect();
                Ok(Request::new("PATCH", url.as_str()).json(json::entity_body(&fields, &binds)))
            }
        }
    }

    /// What one answer of a batch says about its write. A transient failure of a part (the
    /// service throttled or failed inside the batch) fails the batch, to be retried whole.
    fn outcome(&self, op: &WriteOp, part: &PartResponse, entity: &str) -> Result<RowOutcome> {
        if part.is_success() {
            return Ok(match op {
                WriteOp::Upsert(_) => RowOutcome::Written,
                WriteOp::Delete(_) => RowOutcome::Deleted { existed: true },
            });
        }
        let status = reqwest::StatusCode::from_u16(part.status).unwrap_or(reqwest::StatusCode::BAD_REQUEST);
        let (_, said) = part_error(part);
        match (op, kind_of(status)) {
            (WriteOp::Delete(_), ErrorKind::NotFound) => Ok(RowOutcome::Deleted { existed: false }),
            (_, ErrorKind::Rejected) | (WriteOp::Upsert(_), ErrorKind::NotFound) => {
                Ok(RowOutcome::Rejected { message: said })
            }
            (_, kind) => Err(part_failure(&self.service.name, entity, kind, part)),
        }
    }
}
