//! Writing a batch: values fitted to their columns (refused before any SQL when they do not
//! fit), new records inserted and existing ones updated many to a statement, deletions
//! reporting whether the record existed, all in one transaction. A row the database refuses
//! sends the batch back to be written row by row, so each row gets its own outcome. The
//! engine's own writes are marked for change capture (`capture::mark_own`).

use std::collections::HashSet;

use super::catalog::quote;
use super::conn::{self, Arg, Dialect};
use super::read::upper_case_args;
use super::{MAX_PARAMS, ROWS_PER_STATEMENT, SqlStore, capture};
use crate::store::coerce::fit;
use crate::store::{EntityDesc, ErrorKind, Key, Result, Row, RowOutcome, WriteOp};
use crate::value::ValueType;

impl SqlStore {
    /// Fits every value of an upsert row to its column.
    fn fit_row(desc: &EntityDesc, row: &Row) -> std::result::Result<Vec<Arg>, String> {
        if row.len() != desc.columns.len() {
            return Err(format!(
                "the row has {} values for {} columns",
                row.len(),
                desc.columns.len()
            ));
        }
        desc.columns
            .iter()
            .zip(row)
            .map(|(c, v)| {
                fit(v, c).map(|value| Arg {
                    value,
                    ty: c.value_type,
                })
            })
            .collect()
    }

    /// `(?, ?), (?, ?), ...`: `rows` tuples of `width` parameters, numbered in order.
    fn values_tuples(&self, rows: usize, width: usize) -> String {
        let mut n = 0;
        let tuples: Vec<String> = (0..rows)
            .map(|_| {
                let marks: Vec<String> = (0..width)
                    .map(|_| {
                        n += 1;
                        self.dialect().param(n)
                    })
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        tuples.join(", ")
    }

    /// `INSERT ... VALUES (...), ... ON CONFLICT (key) DO UPDATE SET ...` for `rows` rows.
    fn upsert_sql(&self, desc: &EntityDesc, rows: usize) -> String {
        let cols: Vec<String> = desc.columns.iter().map(|c| quote(&c.name)).collect();
        let tuples = self.values_tuples(rows, cols.len());
        let updates: Vec<String> = desc
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !desc.key.contains(i))
            .map(|(_, c)| format!("{0} = excluded.{0}", quote(&c.name)))
            .collect();
        let action = if updates.is_empty() {
            "NOTHING".to_string()
        } else {
            format!("UPDATE SET {}", updates.join(", "))
        };
        format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {action}",
            quote(&desc.name),
            cols.join(", "),
            tuples,
            Self::key_list(desc)
        )
    }

    /// Which of `keys` exist.
    async fn existing_keys(&self, tx: &mut conn::Tx, desc: &EntityDesc, keys: &[Key]) -> Result<HashSet<Key>> {
        let mut args = Vec::new();
        let cond = self.key_in(desc, keys, &mut args)?;
        let key_desc = desc.project(&[])?;
        let sql = format!(
            "SELECT {} FROM {} WHERE {cond}",
            self.select_list(&key_desc),
            quote(&desc.name)
        );
        Ok(tx
            .fetch(&sql, &args, &Self::types(&key_desc))
            .await?
            .into_iter()
            .collect())
    }

    /// Updates the non-key columns of an existing record; the number of rows it changed.
    /// (An upsert of a projection that leaves out a NOT NULL column must not go through
    /// INSERT ... ON CONFLICT: the database checks the insert before the conflict.)
    async fn update_row(&self, tx: &mut conn::Tx, desc: &EntityDesc, row: &[Arg]) -> Result<u64> {
        let mut args = Vec::with_capacity(row.len());
        let mut sets = Vec::new();
        for (i, c) in desc.columns.iter().enumerate().filter(|(i, _)| !desc.key.contains(i)) {
            args.push(row[i].clone());
            sets.push(format!("{} = {}", quote(&c.name), self.dialect().param(args.len())));
        }
        let mut conds = Vec::new();
        let case = self.case_keys(desc);
        for &k in &desc.key {
            args.push(row[k].clone());
            let mark = self.dialect().param(args.len());
            match upper_case_args(std::slice::from_ref(&row[k])).pop() {
                // SQLite: a GUID key in either case (see `read`).
                Some(upper) if case && desc.columns[k].value_type == ValueType::Guid => {
                    args.push(upper);
                    conds.push(format!(
                        "{} IN ({mark}, {})",
                        quote(&desc.columns[k].name),
                        self.dialect().param(args.len())
                    ));
                }
                _ => conds.push(format!("{} = {mark}", quote(&desc.columns[k].name))),
            }
        }
        if sets.is_empty() {
            let sql = format!("SELECT 1 FROM {} WHERE {}", quote(&desc.name), conds.join(" AND "));
            return Ok(tx.fetch(&sql, &args, &[ValueType::Int]).await?.len() as u64);
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE {}",
            quote(&desc.name),
            sets.join(", "),
            conds.join(" AND ")
        );
        tx.execute(&sql, &args).await
    }

    /// Updates the non-key columns of existing records, many per statement:
    /// `UPDATE t SET c = v.c FROM (VALUES (...), ...) AS v WHERE t.key = v.key`. (Not an upsert,
    /// for the reason `update_row` gives.)
    async fn update_rows(&self, tx: &mut conn::Tx, desc: &EntityDesc, rows: &[&Vec<Arg>]) -> Result<()> {
        let width = desc.columns.len();
        if desc.key.len() == width || rows.is_empty() {
            return Ok(()); // nothing but the key: the records exist, nothing to change
        }
        let pg = self.dialect() == Dialect::Postgres;
        let column = |i: usize| match pg {
            true => format!("v.c{}", i + 1),
            false => format!("v.column{}", i + 1),
        };
        let sets: Vec<String> = (0..width)
            .filter(|i| !desc.key.contains(i))
            .map(|i| format!("{} = {}", quote(&desc.columns[i].name), column(i)))
            .collect();
        let case = self.case_keys(desc);
        let conds: Vec<String> = desc
            .key
            .iter()
            .map(|&k| {
                let name = quote(&desc.columns[k].name);
                match case && desc.columns[k].value_type == ValueType::Guid {
                    // SQLite: a GUID key in either case (see `read`).
                    true => format!("t.{name} IN ({0}, upper({0}))", column(k)),
                    false => format!("t.{name} = {}", column(k)),
                }
            })
            .collect();
        let alias = match pg {
            true => format!(
                "v({})",
                (1..=width).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ")
            ),
            false => "v".to_string(),
        };
        let per_stmt = ROWS_PER_STATEMENT.min(MAX_PARAMS / width).max(1);
        for chunk in rows.chunks(per_stmt) {
            let tuples = self.values_tuples(chunk.len(), width);
            let sql = format!(
                "UPDATE {} AS t SET {} FROM (VALUES {}) AS {alias} WHERE {}",
                quote(&desc.name),
                sets.join(", "),
                tuples,
                conds.join(" AND ")
            );
            let args: Vec<Arg> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
            tx.execute(&sql, &args).await?;
        }
        Ok(())
    }

    /// Deletes `keys`, returning which of them existed.
    async fn delete_keys(&self, tx: &mut conn::Tx, desc: &EntityDesc, keys: &[Key]) -> Result<HashSet<Key>> {
        let mut args = Vec::new();
        let cond = self.key_in(desc, keys, &mut args)?;
        let key_desc = desc.project(&[])?;
        let sql = format!(
            "DELETE FROM {} WHERE {cond} RETURNING {}",
            quote(&desc.name),
            self.select_list(&key_desc)
        );
        Ok(tx
            .fetch(&sql, &args, &Self::types(&key_desc))
            .await?
            .into_iter()
            .collect())
    }

    /// The fast path: every op in as few statements as possible. Any row-level refusal
    /// aborts it (the caller then goes row by row).
    async fn apply_batched(
        &self,
        tx: &mut conn::Tx,
        desc: &EntityDesc,
        ops: &[WriteOp],
        fitted: &[Option<Vec<Arg>>],
    ) -> Result<Vec<RowOutcome>> {
        let mut out = vec![RowOutcome::Written; ops.len()];
        let per_stmt = ROWS_PER_STATEMENT.min(MAX_PARAMS / desc.columns.len().max(1)).max(1);
        let mut i = 0;
        while i < ops.len() {
            // A run of consecutive ops of one kind, with no key twice.
            let mut seen = HashSet::new();
            let mut j = i;
            while j < ops.len() && j - i < per_stmt {
                let same_kind = matches!(
                    (&ops[i], &ops[j]),
                    (WriteOp::Upsert(_), WriteOp::Upsert(_)) | (WriteOp::Delete(_), WriteOp::Delete(_))
                );
                let key = match &ops[j] {
                    WriteOp::Upsert(r) => desc.key_of(r),
                    WriteOp::Delete(k) => k.clone(),
                };
                if !same_kind || !seen.insert(key) {
                    break;
                }
                j += 1;
            }
            match &ops[i] {
                WriteOp::Upsert(_) => {
                    let rows: Vec<&Vec<Arg>> = fitted[i..j]
                        .iter()
                        .map(|a| a.as_ref().expect("fitted upsert"))
                        .collect();
                    let keys: Vec<Key> = rows
                        .iter()
                        .map(|r| desc.key.iter().map(|&k| r[k].value.clone()).collect())
                        .collect();
                    let existing = self.existing_keys(tx, desc, &keys).await?;
                    let (old, new): (Vec<_>, Vec<_>) = rows.iter().zip(&keys).partition(|(_, k)| existing.contains(*k));
                    if !new.is_empty() {
                        let args: Vec<Arg> = new.iter().flat_map(|(r, _)| r.iter().cloned()).collect();
                        tx.execute(&self.upsert_sql(desc, new.len()), &args).await?;
                    }
                    let old: Vec<&Vec<Arg>> = old.into_iter().map(|(r, _)| *r).collect();
                    self.update_rows(tx, desc, &old).await?;
                }
                WriteOp::Delete(_) => {
                    let keys: Vec<Key> = ops[i..j]
                        .iter()
                        .filter_map(|op| match op {
                            WriteOp::Delete(k) => Some(k.clone()),
                            WriteOp::Upsert(_) => None,
                        })
                        .collect();
                    let existed = self.delete_keys(tx, desc, &keys).await?;
                    for (o, k) in out[i..j].iter_mut().zip(&keys) {
                        let normalized: Key = Self::key_args(desc, k)?.into_iter().map(|a| a.value).collect();
                        *o = RowOutcome::Deleted {
                            existed: existed.contains(&normalized),
                        };
                    }
                }
            }
            i = j;
        }
        Ok(out)
    }

    /// The slow path: one statement per op, so each row gets its own outcome. PostgreSQL
    /// needs a savepoint per row (an error aborts its transaction); SQLite undoes only the
    /// failed statement.
    async fn apply_row_by_row(
        &self,
        tx: &mut conn::Tx,
        desc: &EntityDesc,
        ops: &[WriteOp],
        fitted: &[Option<Vec<Arg>>],
    ) -> Result<Vec<RowOutcome>> {
        let pg = self.dialect() == Dialect::Postgres;
        let mut out = Vec::with_capacity(ops.len());
        for (op, args) in ops.iter().zip(fitted) {
            if pg {
                tx.execute("SAVEPOINT dualsync_row", &[]).await?;
            }
            let result = match op {
                WriteOp::Upsert(_) => {
                    let row = args.as_deref().unwrap_or_default();
                    match self.update_row(tx, desc, row).await {
                        Ok(0) => tx
                            .execute(&self.upsert_sql(desc, 1), row)
                            .await
                            .map(|_| RowOutcome::Written),
                        other => other.map(|_| RowOutcome::Written),
                    }
                }
                WriteOp::Delete(k) => self
                    .delete_keys(tx, desc, std::slice::from_ref(k))
                    .await
                    .map(|e| RowOutcome::Deleted { existed: !e.is_empty() }),
            };
            match result {
                Ok(o) => {
                    if pg {
                        tx.execute("RELEASE SAVEPOINT dualsync_row", &[]).await?;
                    }
                    out.push(o);
                }
                Err(e) if e.kind == ErrorKind::Rejected => {
                    if pg {
                        tx.execute("ROLLBACK TO SAVEPOINT dualsync_row", &[]).await?;
                    }
                    out.push(RowOutcome::Rejected { message: e.message });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `apply`, marked as the engine's own writes when `own` (see `capture`).
    pub(super) async fn write(&self, desc: &EntityDesc, ops: &[WriteOp], own: bool) -> Result<Vec<RowOutcome>> {
        self.checked(desc).await?;
        // Values that cannot fit their column are refused before any SQL runs.
        let mut refused: Vec<Option<String>> = vec![None; ops.len()];
        let mut fitted: Vec<Option<Vec<Arg>>> = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            match op {
                WriteOp::Upsert(row) => match Self::fit_row(desc, row) {
                    Ok(args) => fitted.push(Some(args)),
                    Err(m) => {
                        refused[i] = Some(m);
                        fitted.push(None);
                    }
                },
                WriteOp::Delete(_) => fitted.push(None),
            }
        }
        let keep: Vec<usize> = (0..ops.len()).filter(|&i| refused[i].is_none()).collect();
        let kept_ops: Vec<WriteOp> = keep.iter().map(|&i| ops[i].clone()).collect();
        let kept_args: Vec<Option<Vec<Arg>>> = keep.iter().map(|&i| fitted[i].clone()).collect();

        let mut tx = self.begin_write(own).await?;
        let outcomes = match self.apply_batched(&mut tx, desc, &kept_ops, &kept_args).await {
            Ok(o) => o,
            Err(e) if e.kind == ErrorKind::Rejected => {
                drop(tx); // rolls back
                tx = self.begin_write(own).await?;
                self.apply_row_by_row(&mut tx, desc, &kept_ops, &kept_args).await?
            }
            Err(e) => return Err(e),
        };
        if own {
            capture::unmark_own(&mut tx).await?;
        }
        tx.commit().await?;

        let mut outcomes = outcomes.into_iter();
        Ok(refused
            .into_iter()
            .map(|r| match r {
                Some(message) => RowOutcome::Rejected { message },
                None => outcomes.next().expect("one outcome per kept op"),
            })
            .collect())
    }

    /// A write transaction, marked as the engine's own when `own`.
    async fn begin_write(&self, own: bool) -> Result<conn::Tx> {
        let mut tx = self.pool.begin().await?;
        if own {
            capture::mark_own(&mut tx).await?;
        }
        Ok(tx)
    }
}
