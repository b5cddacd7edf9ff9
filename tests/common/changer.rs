//! Changes to the operational store as users make them while a daemon runs (the fault tests
//! and the high-availability tests share them): new actuals, edited actuals, new hours of hour
//! estimates, at a steady rate, each change remembered so a test can tell whether a sync write
//! ever undid one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dualsync::store::sql::SqlStore;
use dualsync::store::{EntityDesc, Key, Row, Store, WriteOp};
use dualsync::value::Value;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::faults::{Rng, scan_all, write_as_user};

/// Changes to the operational side, as users make them: new actuals (copies of synced ones with
/// new GUIDs, Skip Sync off), new descriptions and amounts of existing actuals, new hours of
/// hour estimates. Remembers the last value it wrote of each record.
pub struct Changer {
    pub op: Arc<SqlStore>,
    pub rng: Rng,
    pub actuals: EntityDesc,
    pub templates: Vec<Row>,
    pub actual_ids: Vec<Value>,
    pub assignments: Vec<Value>,
    pub created: u64,
    /// Actual id -> (description, amount) last written.
    pub last_actual: HashMap<Value, (String, Decimal)>,
    /// Resource assignment id -> hours last written.
    pub last_hours: HashMap<Value, Decimal>,
    pub writes: u64,
    /// Errors the operational store returned to this "other program" (retried until written).
    pub errors: Vec<String>,
}

impl Changer {
    pub async fn new(op: Arc<SqlStore>, seed: u64) -> Changer {
        let (actuals, rows) = scan_all(op.as_ref(), "msdyn_actuals").await;
        let skip = actuals.index_of("msdyn_skipsync").unwrap();
        let id = actuals.index_of("msdyn_actualid").unwrap();
        let templates: Vec<Row> = rows.iter().filter(|r| r[skip] == Value::Bool(false)).cloned().collect();
        let actual_ids = rows.iter().map(|r| r[id].clone()).collect();
        let (ra, ra_rows) = scan_all(op.as_ref(), "msdyn_resourceassignments").await;
        let assignments = ra_rows.iter().map(|r| ra.key_of(r).remove(0)).collect();
        Changer {
            op,
            rng: Rng(seed),
            actuals,
            templates,
            actual_ids,
            assignments,
            created: 0,
            last_actual: HashMap::new(),
            last_hours: HashMap::new(),
            writes: 0,
            errors: Vec::new(),
        }
    }

    pub fn amount(&mut self) -> Decimal {
        Decimal::new(self.rng.range(1, 10_000_000) as i64, 4)
    }

    /// `n` new actuals in one write.
    pub async fn create_actuals(&mut self, n: usize) {
        let col = |c: &str| self.actuals.index_of(c).unwrap();
        let (id, skip, desc, amount) = (
            col("msdyn_actualid"),
            col("msdyn_skipsync"),
            col("msdyn_description"),
            col("msdyn_amount"),
        );
        let mut ops = Vec::new();
        for _ in 0..n {
            let mut row = self.templates[self.rng.range(0, self.templates.len() as u64) as usize].clone();
            self.created += 1;
            let key = Value::Guid(Uuid::from_u128((0xfa17_u128 << 112) | u128::from(self.created)));
            let text = format!("fault test actual {}", self.created);
            let value = self.amount();
            row[id] = key.clone();
            row[skip] = Value::Bool(false);
            row[desc] = Value::Text(text.clone());
            row[amount] = Value::Decimal(value);
            self.actual_ids.push(key.clone());
            self.last_actual.insert(key, (text, value));
            ops.push(WriteOp::Upsert(row));
        }
        self.apply(&self.actuals.clone(), ops).await;
    }

    /// A new description and amount for an existing actual (skipped ones included).
    pub async fn update_actual(&mut self) {
        let key = self.actual_ids[self.rng.range(0, self.actual_ids.len() as u64) as usize].clone();
        let text = format!("edited {}", self.rng.next());
        let value = self.amount();
        let desc = self.actuals.project(&["msdyn_description", "msdyn_amount"]).unwrap();
        let row = vec![key.clone(), Value::Text(text.clone()), Value::Decimal(value)];
        self.last_actual.insert(key, (text, value));
        self.apply(&desc, vec![WriteOp::Upsert(row)]).await;
    }

    /// New hours for a random hour estimate.
    pub async fn update_hours(&mut self) {
        let key = self.assignments[self.rng.range(0, self.assignments.len() as u64) as usize].clone();
        self.set_hours(key).await;
    }

    /// New hours for this hour estimate.
    pub async fn set_hours(&mut self, key: Value) {
        let hours = Decimal::new(self.rng.range(1, 400_000) as i64, 2);
        let desc = self
            .op
            .describe("msdyn_resourceassignments")
            .await
            .unwrap()
            .project(&["msdyn_hours"])
            .unwrap();
        self.last_hours.insert(key.clone(), hours);
        self.apply(&desc, vec![WriteOp::Upsert(vec![key, Value::Decimal(hours)])])
            .await;
    }

    /// Writes as an application would: a transient error (a deadlock victim, a locked file) is
    /// recorded and the write tried again.
    pub async fn apply(&mut self, desc: &EntityDesc, ops: Vec<WriteOp>) {
        write_as_user(self.op.as_ref(), desc, &ops, &mut self.errors).await;
        self.writes += 1;
    }

    /// One random change.
    pub async fn step(&mut self) {
        match self.rng.range(0, 10) {
            0..=4 => {
                let n = self.rng.range(1, 4) as usize;
                self.create_actuals(n).await
            }
            5..=7 => self.update_actual().await,
            _ => self.update_hours().await,
        }
    }

    /// The changes of this changer the operational store no longer holds (a sync write must
    /// never undo a user's change): actuals, then hour estimates.
    pub async fn undone(&self) -> (Vec<String>, Vec<String>) {
        let mut lost = Vec::new();
        let desc = self.actuals.project(&["msdyn_description", "msdyn_amount"]).unwrap();
        let keys: Vec<Key> = self.last_actual.keys().map(|k| vec![k.clone()]).collect();
        for row in self.op.get(&desc, &keys).await.unwrap() {
            let (text, amount) = &self.last_actual[&row[0]];
            if row[1] != Value::Text(text.clone()) || row[2] != Value::Decimal(*amount) {
                lost.push(format!(
                    "actual {}: wrote ({text}, {amount}), holds ({}, {})",
                    row[0], row[1], row[2]
                ));
            }
        }
        let desc = self
            .op
            .describe("msdyn_resourceassignments")
            .await
            .unwrap()
            .project(&["msdyn_hours"])
            .unwrap();
        let keys: Vec<Key> = self.last_hours.keys().map(|k| vec![k.clone()]).collect();
        let mut lost_hours = Vec::new();
        for row in self.op.get(&desc, &keys).await.unwrap() {
            let hours = self.last_hours[&row[0]];
            if row[1].compare(&Value::Decimal(hours)) != Some(std::cmp::Ordering::Equal) {
                lost_hours.push(format!("hour estimate {}: wrote {hours}, holds {}", row[0], row[1]));
            }
        }
        (lost, lost_hours)
    }
}

/// Keeps making changes until `stop`, with pauses of `pause_ms` (a range) between them, each
/// change while holding `gate` for reading (a writer of `gate` holds changes back); returns the
/// changer.
pub fn keep_changing(
    mut changer: Changer,
    pause_ms: std::ops::Range<u64>,
    stop: Arc<AtomicBool>,
    gate: Arc<tokio::sync::RwLock<()>>,
) -> tokio::task::JoinHandle<Changer> {
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            {
                let _open = gate.read().await;
                changer.step().await;
            }
            let pause = changer.rng.range(pause_ms.start, pause_ms.end);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        changer
    })
}

/// Hour-estimate changes undone by echoes: the bug `an_echo_does_not_undo_a_newer_operational_change`
/// asserts is fixed; reported here, not asserted (these tests are about other faults).
pub fn report_known_echo_bug(lost_hours: &[String]) {
    if !lost_hours.is_empty() {
        println!(
            "KNOWN BUG: {} hour-estimate changes undone by echoes of the engine's own writes:\n{}",
            lost_hours.len(),
            lost_hours.join("\n")
        );
    }
}
