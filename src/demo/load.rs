//! Writing generated batches into a store through the `Store` trait (the same path the
//! engine writes by), and `dualsync store seed`'s report of what was written.

use std::collections::BTreeMap;

use super::{SeedBatch, SeedOptions};
use crate::store::{ErrorKind, RowOutcome, Store, StoreError, WriteOp};
use crate::tablemap::model::Side;

/// Rows written per table, in the order the tables were first written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub tables: Vec<(String, u64)>,
}

impl Loaded {
    fn add(&mut self, entity: &str, n: u64) {
        match self.tables.iter_mut().find(|(e, _)| e == entity) {
            Some((_, count)) => *count += n,
            None => self.tables.push((entity.to_string(), n)),
        }
    }

    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Writes every batch; a row the store refuses stops the load with the store's reason.
pub async fn load(store: &dyn Store, batches: impl IntoIterator<Item = SeedBatch>) -> Result<Loaded, StoreError> {
    let mut descs = BTreeMap::new();
    let mut loaded = Loaded::default();
    for batch in batches {
        if !descs.contains_key(batch.entity) {
            let full = store.describe(batch.entity).await?;
            descs.insert(batch.entity, full);
        }
        let full = &descs[batch.entity];
        // The batch's columns, in the batch's order, key columns included.
        let desc = full.project(&batch.columns)?;
        let order: Vec<usize> = desc
            .columns
            .iter()
            .map(|c| batch.columns.iter().position(|b| *b == c.name))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                StoreError::new(
                    ErrorKind::Permanent,
                    format!("seed batch for `{}` lacks a key column", batch.entity),
                )
            })?;
        let ops: Vec<WriteOp> = batch
            .rows
            .into_iter()
            .map(|row| WriteOp::Upsert(order.iter().map(|&i| row[i].clone()).collect()))
            .collect();
        let outcomes = store.apply(&desc, &ops).await?;
        if let Some(RowOutcome::Rejected { message }) =
            outcomes.iter().find(|o| matches!(o, RowOutcome::Rejected { .. }))
        {
            return Err(StoreError::new(
                ErrorKind::Permanent,
                format!("the store refused a demo row of `{}`: {message}", batch.entity),
            ));
        }
        loaded.add(batch.entity, ops.len() as u64);
    }
    Ok(loaded)
}

/// Seeds one side: the operational demo data, or the accounting master data.
pub async fn seed(store: &dyn Store, side: Side, opts: &SeedOptions) -> Result<Loaded, StoreError> {
    match side {
        Side::Operational => load(store, super::operational(opts, 1000)).await,
        Side::Accounting => load(store, super::accounting(opts)).await,
    }
}
