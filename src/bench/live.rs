//! The benchmark's live-sync measurement, against a running `dualsync run`: changes applied to
//! the operational actuals at a fixed rate (new actuals, and edits of ones that already
//! arrived), each timed from the commit of its write on the operational store to the moment
//! the staging row's arrival is seen: the benchmark puts its own trigger on the staging table,
//! which notes each written row in `_bench_arrivals` in the transaction that commits it (the
//! change log cannot serve: dualsync's own writes are not captured), read every 2 ms.
//! Then the rate doubles in steps until dualsync no longer keeps up, and two bisections narrow
//! the gap: the highest rate it sustains without growing lag, to within a quarter. Last, a
//! burst: N new actuals committed in one transaction, and how fast dualsync drains them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::store::sql::SqlStore;
use crate::store::sql::conn::Dialect;
use crate::store::{EntityDesc, Row, RowOutcome, Store, WriteOp};
use crate::value::{Value, ValueType};

const SOURCE: &str = "msdyn_actuals";
const TARGET: &str = "ProjCDSActualsImport";
/// How often the writer wakes to write what is due.
const TICK: Duration = Duration::from_millis(5);
/// How often the observer reads the arrivals.
const POLL: Duration = Duration::from_millis(2);
/// How long a phase's last changes may take to arrive before they count as not arrived.
const DRAIN: Duration = Duration::from_secs(30);
/// Bisections between the highest sustained and the lowest unsustained rate found by doubling.
const REFINE: usize = 2;
/// One change in this many is an edit of an actual that already arrived.
const EDIT_EVERY: u64 = 5;

/// What to measure.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LiveOptions {
    pub rate: u32,
    pub seconds: u64,
    pub step_seconds: u64,
    pub max_rate: u32,
    /// New actuals of the burst, committed at once (0: no burst).
    pub burst: u64,
}

/// The burst: `rows` new actuals committed in one transaction.
#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    pub rows: u64,
    /// How long the one transaction took to write.
    pub write_seconds: f64,
    /// From its commit until the last of its actuals was staged (or the wait gave up).
    pub drain_seconds: f64,
    /// `rows` / `drain_seconds`.
    pub drain_rate: f64,
    pub arrived: u64,
    /// Latency of the first and the median actual of the burst.
    pub first_ms: f64,
    pub p50_ms: f64,
}

/// One phase: changes at `target_rate` for `seconds`.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub target_rate: u32,
    pub seconds: f64,
    pub changes: u64,
    pub inserts: u64,
    pub edits: u64,
    pub achieved_rate: f64,
    pub arrived: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Median latency of the changes written in the first and in the last third of the phase:
    /// a lag that grows shows as a last third much slower than the first.
    pub first_third_p50_ms: f64,
    pub last_third_p50_ms: f64,
    /// From the last write of the phase until its last change arrived.
    pub drain_ms: f64,
    /// The writer achieved 95% of the rate, every change arrived, and the lag did not grow.
    pub sustained: bool,
}

/// The whole live measurement.
#[derive(Debug, Clone, Serialize)]
pub struct LiveResult {
    pub fixed: Phase,
    pub steps: Vec<Phase>,
    /// The highest rate among the fixed phase and the steps that was sustained.
    pub max_sustained_rate: Option<u32>,
    pub burst: Option<Burst>,
    /// Changes that never arrived (within 30 s of their phase's end).
    pub lost: u64,
}

/// What the writer and the observer share.
#[derive(Default)]
struct Book {
    /// Changes written and not seen yet: `None` while the write has not returned.
    in_flight: HashMap<Uuid, Option<Instant>>,
    /// Seen before the writer recorded its commit time.
    early: HashMap<Uuid, Instant>,
    /// (commit time, latency) of every change that arrived.
    samples: Vec<(Instant, Duration)>,
    /// Actuals that arrived and may be edited next.
    arrived: Vec<Uuid>,
}

impl Book {
    fn seen(&mut self, id: Uuid, at: Instant) {
        match self.in_flight.get(&id) {
            Some(Some(committed)) => {
                let committed = *committed;
                self.in_flight.remove(&id);
                self.samples.push((committed, at.saturating_duration_since(committed)));
                self.arrived.push(id);
            }
            Some(None) => {
                self.early.insert(id, at);
            }
            None => {}
        }
    }

    fn committed(&mut self, ids: &[Uuid], at: Instant) {
        for id in ids {
            match self.early.remove(id) {
                Some(_) => {
                    // Seen before the write returned: arrived in less time than we can tell.
                    self.in_flight.remove(id);
                    self.samples.push((at, Duration::ZERO));
                    self.arrived.push(*id);
                }
                None => {
                    self.in_flight.insert(*id, Some(at));
                }
            }
        }
    }
}

/// Writes changes into the operational store.
struct Writer {
    op: SqlStore,
    full: EntityDesc,
    edit: EntityDesc,
    templates: Vec<Row>,
    id: usize,
    description: usize,
    n: u64,
}

impl Writer {
    async fn new(op: SqlStore) -> Result<Writer, String> {
        let full = op.describe(SOURCE).await.map_err(|e| e.to_string())?;
        let edit = full
            .project(&["msdyn_description", "msdyn_amount"])
            .map_err(|e| e.to_string())?;
        let col = |c: &str| full.index_of(c).ok_or_else(|| format!("{SOURCE} has no column {c}"));
        let (id, description, skip) = (
            col("msdyn_actualid")?,
            col("msdyn_description")?,
            col("msdyn_skipsync")?,
        );
        let rows = op.scan(&full, None, 5000).await.map_err(|e| e.to_string())?;
        let templates: Vec<Row> = rows.into_iter().filter(|r| r[skip] == Value::Bool(false)).collect();
        if templates.is_empty() {
            return Err(format!("the operational store has no {SOURCE} to copy"));
        }
        Ok(Writer {
            op,
            full,
            edit,
            templates,
            id,
            description,
            n: 0,
        })
    }

    /// `n` changes, each in the book before it is written and given its commit time after;
    /// every `EDIT_EVERY`th an edit, unless `inserts_only`. Inserts are written in one
    /// transaction, edits in another.
    async fn write(&mut self, book: &Mutex<Book>, n: u64, inserts_only: bool) -> Result<(u64, u64), String> {
        let (mut inserts, mut edits) = (Vec::new(), Vec::new());
        let mut ids = (Vec::new(), Vec::new());
        {
            let mut book = book.lock().expect("book");
            for _ in 0..n {
                self.n += 1;
                let edit = !inserts_only && self.n.is_multiple_of(EDIT_EVERY) && !book.arrived.is_empty();
                let id = if edit {
                    let i = (self.n as usize).wrapping_mul(7919) % book.arrived.len();
                    book.arrived.swap_remove(i)
                } else {
                    Uuid::new_v4()
                };
                book.in_flight.insert(id, None);
                if edit {
                    let amount = Decimal::new((self.n % 1_000_000) as i64 + 1, 2);
                    edits.push(WriteOp::Upsert(vec![
                        Value::Guid(id),
                        Value::Text(format!("bench edit {}", self.n)),
                        Value::Decimal(amount),
                    ]));
                    ids.1.push(id);
                } else {
                    let mut row = self.templates[self.n as usize % self.templates.len()].clone();
                    row[self.id] = Value::Guid(id);
                    row[self.description] = Value::Text(format!("bench live {}", self.n));
                    inserts.push(WriteOp::Upsert(row));
                    ids.0.push(id);
                }
            }
        }
        for (desc, ops, ids) in [(&self.full, &inserts, &ids.0), (&self.edit, &edits, &ids.1)] {
            if ops.is_empty() {
                continue;
            }
            let outcomes = self
                .op
                .apply(desc, ops)
                .await
                .map_err(|e| format!("writing changes: {e}"))?;
            let at = Instant::now();
            if let Some(o) = outcomes.iter().find(|o| !matches!(o, RowOutcome::Written)) {
                return Err(format!("the operational store refused a change: {o:?}"));
            }
            book.lock().expect("book").committed(ids, at);
        }
        Ok((inserts.len() as u64, edits.len() as u64))
    }
}

/// The benchmark's arrival log on the accounting store: a table and a trigger noting the key
/// of every staging row inserted or updated, by any writer.
fn arrivals_ddl(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS _bench_arrivals (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS _bench_arrivals_ins AFTER INSERT ON \"{TARGET}\" BEGIN
  INSERT INTO _bench_arrivals (id) VALUES (NEW.\"ActualId\"); END;
CREATE TRIGGER IF NOT EXISTS _bench_arrivals_upd AFTER UPDATE ON \"{TARGET}\" BEGIN
  INSERT INTO _bench_arrivals (id) VALUES (NEW.\"ActualId\"); END;"
        ),
        Dialect::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS _bench_arrivals (seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL);
CREATE OR REPLACE FUNCTION _bench_arrival() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN INSERT INTO _bench_arrivals (id) VALUES (NEW.\"ActualId\"::text); RETURN NULL; END $fn$;
DROP TRIGGER IF EXISTS _bench_arrivals ON \"{TARGET}\";
CREATE TRIGGER _bench_arrivals AFTER INSERT OR UPDATE ON \"{TARGET}\"
  FOR EACH ROW EXECUTE FUNCTION _bench_arrival();"
        ),
    }
}

/// Reads (and empties) the arrival log until `stop`, marking what arrives. Taking the entries
/// out with `DELETE ... RETURNING` misses none, whatever order their transactions commit in.
async fn observe(acct: SqlStore, book: Arc<Mutex<Book>>, stop: Arc<AtomicBool>) -> Result<(), String> {
    let pool = acct.pool();
    while !stop.load(Ordering::Relaxed) {
        let rows = match pool
            .fetch("DELETE FROM _bench_arrivals RETURNING id", &[], &[ValueType::Text])
            .await
        {
            Ok(rows) => rows,
            Err(e) if e.is_transient() => Vec::new(),
            Err(e) => return Err(format!("reading the benchmark's arrivals: {e}")),
        };
        let at = Instant::now();
        if rows.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let mut book = book.lock().expect("book");
        for row in &rows {
            if let Some(Value::Text(id)) = row.first()
                && let Ok(id) = Uuid::parse_str(id)
            {
                book.seen(id, at);
            }
        }
    }
    Ok(())
}

/// The `q` quantile of sorted latencies, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    quantile_ms(&v, 0.5)
}

/// One phase at `rate` changes per second for `seconds`, then waits for its changes to arrive.
async fn phase(writer: &mut Writer, book: &Mutex<Book>, rate: u32, seconds: u64) -> Result<Phase, String> {
    book.lock().expect("book").samples.clear();
    let start = Instant::now();
    let length = Duration::from_secs(seconds);
    let (mut done, mut inserts, mut edits) = (0u64, 0u64, 0u64);
    let mut next = tokio::time::Instant::now();
    while start.elapsed() < length {
        let due = (f64::from(rate) * start.elapsed().as_secs_f64()) as u64;
        if due > done {
            let (i, e) = writer.write(book, (due - done).min(5000), false).await?;
            inserts += i;
            edits += e;
            done += i + e;
        }
        next += TICK;
        tokio::time::sleep_until(next).await;
    }
    let written = start.elapsed();
    let last_write = Instant::now();
    while !book.lock().expect("book").in_flight.is_empty() && last_write.elapsed() < DRAIN {
        tokio::time::sleep(POLL).await;
    }
    let book = book.lock().expect("book");
    let drain = book
        .samples
        .iter()
        .map(|(c, l)| (*c + *l).saturating_duration_since(last_write))
        .max();
    let mut all: Vec<Duration> = book.samples.iter().map(|(_, l)| *l).collect();
    all.sort();
    let third = written / 3;
    let part = |from: Duration, to: Duration| {
        book.samples
            .iter()
            .filter(|(c, _)| (from..to).contains(&c.saturating_duration_since(start)))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
    };
    let (first, last) = (
        median_ms(part(Duration::ZERO, third)),
        median_ms(part(third * 2, written)),
    );
    let achieved = done as f64 / written.as_secs_f64();
    let arrived = all.len() as u64;
    Ok(Phase {
        target_rate: rate,
        seconds: written.as_secs_f64(),
        changes: done,
        inserts,
        edits,
        achieved_rate: achieved,
        arrived,
        p50_ms: quantile_ms(&all, 0.50),
        p95_ms: quantile_ms(&all, 0.95),
        p99_ms: quantile_ms(&all, 0.99),
        max_ms: quantile_ms(&all, 1.0),
        first_third_p50_ms: first,
        last_third_p50_ms: last,
        drain_ms: drain.unwrap_or_default().as_secs_f64() * 1000.0,
        sustained: achieved >= 0.95 * f64::from(rate) && arrived == done && last <= 2.0 * first + 100.0,
    })
}

/// The burst: `rows` new actuals in one transaction; waits until every one is staged (at most
/// 30 s plus 1 ms per actual).
async fn burst(writer: &mut Writer, book: &Mutex<Book>, rows: u64) -> Result<Burst, String> {
    book.lock().expect("book").samples.clear();
    let start = Instant::now();
    writer.write(book, rows, true).await?;
    let committed = Instant::now();
    let wait = DRAIN + Duration::from_millis(rows);
    while !book.lock().expect("book").in_flight.is_empty() && committed.elapsed() < wait {
        tokio::time::sleep(POLL).await;
    }
    let book = book.lock().expect("book");
    let mut all: Vec<Duration> = book.samples.iter().map(|(_, l)| *l).collect();
    all.sort();
    let arrived = all.len() as u64;
    let drain = match arrived == rows {
        true => all.last().copied().unwrap_or_default(),
        false => committed.elapsed(),
    };
    Ok(Burst {
        rows,
        write_seconds: (committed - start).as_secs_f64(),
        drain_seconds: drain.as_secs_f64(),
        drain_rate: rows as f64 / drain.as_secs_f64().max(1e-9),
        arrived,
        first_ms: quantile_ms(&all, 0.0),
        p50_ms: quantile_ms(&all, 0.5),
    })
}

fn show_burst(b: &Burst) {
    eprintln!(
        "  burst of {} actuals in one transaction (written in {:.1} s): all staged {:.1} s after the commit, {:.0}/s; {} arrived{}",
        b.rows,
        b.write_seconds,
        b.drain_seconds,
        b.drain_rate,
        b.arrived,
        if b.arrived == b.rows { "" } else { "  (not all)" }
    );
}

fn show(p: &Phase) {
    eprintln!(
        "  live {:>6}/s for {:.0} s: {} changes ({:.0}/s), p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
        p.target_rate,
        p.seconds,
        p.changes,
        p.achieved_rate,
        p.p50_ms,
        p.p95_ms,
        p.p99_ms,
        p.max_ms,
        if p.sustained { "" } else { "  (not sustained)" }
    );
}

/// Runs the fixed-rate phase and the rate steps against a daemon already running on these stores.
pub async fn measure(op_url: &str, acct_url: &str, opts: LiveOptions) -> Result<LiveResult, String> {
    let op = SqlStore::open(op_url).await.map_err(|e| e.to_string())?;
    let acct = SqlStore::open(acct_url).await.map_err(|e| e.to_string())?;
    acct.execute_script(&arrivals_ddl(acct.dialect()))
        .await
        .map_err(|e| format!("installing the benchmark's arrival trigger: {e}"))?;
    let mut writer = Writer::new(op).await?;
    let book = Arc::new(Mutex::new(Book::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let observer = tokio::spawn(observe(acct, book.clone(), stop.clone()));
    let result = async {
        // Warm-up: the daemon is up and syncing once a first handful of changes arrived.
        let warm = phase(&mut writer, &book, 20, 1).await?;
        if warm.arrived < warm.changes {
            return Err(format!(
                "the daemon did not sync {} of {} warm-up changes within 30 s (see its log)",
                warm.changes - warm.arrived,
                warm.changes
            ));
        }
        let fixed = phase(&mut writer, &book, opts.rate, opts.seconds).await?;
        show(&fixed);
        // `lo`: the highest rate sustained so far; `hi`: the lowest not sustained.
        let (mut lo, mut hi) = if fixed.sustained {
            (Some(opts.rate), None)
        } else {
            (None, Some(opts.rate))
        };
        let mut steps = Vec::new();
        // Doubling (or halving) until the outcome changes, then two bisections between.
        let mut refine = 0;
        loop {
            let rate = match (lo, hi) {
                (Some(l), None) => l.saturating_mul(2),
                (None, Some(h)) => h / 2,
                (Some(l), Some(h)) if refine < REFINE && h - l > l / 10 => {
                    refine += 1;
                    l + (h - l) / 2
                }
                _ => break,
            };
            if rate > opts.max_rate || rate < 10 {
                break;
            }
            let p = phase(&mut writer, &book, rate, opts.step_seconds).await?;
            show(&p);
            if p.sustained {
                lo = Some(lo.map_or(rate, |l| l.max(rate)));
            } else {
                hi = Some(hi.map_or(rate, |h| h.min(rate)));
            }
            steps.push(p);
        }
        let best = lo;
        let burst = match opts.burst {
            0 => None,
            rows => {
                let b = burst(&mut writer, &book, rows).await?;
                show_burst(&b);
                Some(b)
            }
        };
        let lost = book.lock().expect("book").in_flight.len() as u64;
        Ok(LiveResult {
            fixed,
            steps,
            max_sustained_rate: best,
            burst,
            lost,
        })
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    observer.await.map_err(|e| e.to_string())??;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile_ms(&v, 0.5), 50.0);
        assert_eq!(quantile_ms(&v, 0.99), 99.0);
        assert_eq!(quantile_ms(&v, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn a_change_seen_before_its_write_returned_counts_as_arrived() {
        let mut book = Book::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let t0 = Instant::now();
        book.in_flight.insert(a, None);
        book.in_flight.insert(b, None);
        book.seen(a, t0);
        book.committed(&[a, b], t0 + Duration::from_millis(1));
        book.seen(b, t0 + Duration::from_millis(11));
        assert!(book.in_flight.is_empty());
        assert_eq!(book.samples.len(), 2);
        assert_eq!(book.samples[1].1, Duration::from_millis(10));
        assert_eq!(book.arrived, vec![a, b]);
    }
}
