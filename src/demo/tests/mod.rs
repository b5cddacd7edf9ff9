//! Tests of the demo data: determinism, counts against `summary`, parent order, the skip-sync
//! cases, and every row against the reference schemas (parsed from the SQLite migrations).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;

mod data;
mod schema;
use crate::value::Value;

// ----- helpers over generated batches -----

fn opts(actuals: u64, seed: u64) -> SeedOptions {
    SeedOptions { actuals, seed }
}

fn all(o: &SeedOptions, batch: usize) -> Vec<SeedBatch> {
    operational(o, batch).collect()
}

/// The rows of `entity` as column -> value maps.
fn rows<'a>(batches: &'a [SeedBatch], entity: &str) -> Vec<HashMap<&'static str, &'a Value>> {
    batches
        .iter()
        .filter(|b| b.entity == entity)
        .flat_map(|b| b.rows.iter().map(|r| b.columns.iter().copied().zip(r.iter()).collect()))
        .collect()
}

fn g(v: &Value) -> Uuid {
    match v {
        Value::Guid(u) => *u,
        other => panic!("not a guid: {other:?}"),
    }
}

fn i(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an int: {other:?}"),
    }
}

fn d(v: &Value) -> Decimal {
    match v {
        Value::Decimal(x) => *x,
        other => panic!("not a decimal: {other:?}"),
    }
}

fn s(v: &Value) -> &str {
    match v {
        Value::Text(t) => t,
        other => panic!("not text: {other:?}"),
    }
}

fn date(v: &Value) -> NaiveDate {
    match v {
        Value::Date(x) => *x,
        other => panic!("not a date: {other:?}"),
    }
}

fn b(v: &Value) -> bool {
    match v {
        Value::Bool(x) => *x,
        other => panic!("not a bool: {other:?}"),
    }
}

/// Recounts from the rows what `summary` predicts about the actuals.
fn tally(batches: &[SeedBatch]) -> ActualsSummary {
    let mut a = ActualsSummary {
        by_company: COMPANIES
            .iter()
            .map(|&company| CompanyActuals {
                company,
                total: 0,
                synced: 0,
                skipped: 0,
                in_closed_period: 0,
                synced_in_closed_period: 0,
            })
            .collect(),
        by_month: (0..ACTUAL_MONTHS).map(|m| (month_start(m), 0)).collect(),
        ..ActualsSummary::default()
    };
    let mut skipped = HashSet::new();
    for r in rows(batches, "msdyn_actuals") {
        a.total += 1;
        match i(r["msdyn_transactionclassification"]) {
            192_350_000 => a.time += 1,
            192_350_001 => a.expense += 1,
            192_350_002 => a.material += 1,
            other => panic!("class {other}"),
        }
        let ttype = i(r["msdyn_transactiontypecode"]);
        match ttype {
            192_350_000 => a.cost += 1,
            192_350_005 => a.unbilled_sales += 1,
            192_350_006 => a.billed_sales += 1,
            other => panic!("type {other}"),
        }
        let skip = b(r["msdyn_skipsync"]);
        // The skip rules of table-maps/actuals.toml, in order.
        if skip && ttype == 192_350_000 {
            a.skipped_intercompany_cost += 1;
        } else if skip && ttype == 192_350_005 && d(r["msdyn_amount"]) < Decimal::ZERO {
            a.skipped_negative_unbilled_sales += 1;
        } else if skip {
            a.skipped_other += 1;
        } else {
            a.synced += 1;
        }
        if skip {
            skipped.insert(g(r["msdyn_actualid"]));
        }
        let company = COMPANIES
            .iter()
            .position(|c| *c == s(r["msdyn_company"]))
            .expect("company");
        let c = &mut a.by_company[company];
        c.total += 1;
        if skip {
            c.skipped += 1;
        } else {
            c.synced += 1;
        }
        let accounting = date(r["msdyn_accountingdate"]);
        if accounting <= month_end(0) {
            c.in_closed_period += 1;
            if !skip {
                c.synced_in_closed_period += 1;
            }
        }
        let doc = date(r["msdyn_documentdate"]);
        let m = a
            .by_month
            .iter()
            .position(|(start, _)| start.year() == doc.year() && start.month() == doc.month())
            .expect("date in the months of the actuals");
        a.by_month[m].1 += 1;
    }
    a.invoices = rows(batches, "invoices").len() as u64;
    for r in rows(batches, "msdyn_transactionconnections") {
        a.connections += 1;
        if skipped.contains(&g(r["msdyn_transaction1"])) || skipped.contains(&g(r["msdyn_transaction2"])) {
            a.connections_with_skipped_end += 1;
        }
    }
    a
}

// ----- the tests -----

#[test]
fn same_options_give_identical_batches() {
    let o = opts(1_234, 7);
    assert_eq!(all(&o, 100), all(&o, 100));
    assert_eq!(accounting(&o), accounting(&o));
    // The batch size only cuts the same rows differently.
    let flatten = |bs: Vec<SeedBatch>| -> Vec<(&'static str, Vec<Value>)> {
        bs.into_iter()
            .flat_map(|b| b.rows.into_iter().map(move |r| (b.entity, r)))
            .collect()
    };
    assert_eq!(flatten(all(&o, 100)), flatten(all(&o, 7)));
    assert_eq!(summary(&o), summary(&o));
}

#[test]
fn a_different_seed_gives_different_data() {
    let a = all(&opts(500, 1), 1000);
    let b = all(&opts(500, 2), 1000);
    let ids = |bs: &[SeedBatch]| -> HashSet<Uuid> {
        rows(bs, "msdyn_actuals")
            .iter()
            .map(|r| g(r["msdyn_actualid"]))
            .collect()
    };
    assert!(ids(&a).is_disjoint(&ids(&b)));
    let amounts =
        |bs: &[SeedBatch]| -> Vec<Decimal> { rows(bs, "msdyn_actuals").iter().map(|r| d(r["msdyn_amount"])).collect() };
    assert_ne!(amounts(&a), amounts(&b));
    assert_ne!(accounting(&opts(500, 1)), accounting(&opts(500, 2)));
}

#[test]
fn counts_match_the_summary() {
    for n in [0, 1, 2, 7, 99, 100, 101, 149, 157, 10_000] {
        let o = opts(n, 42);
        let batches = all(&o, 256);
        let sum = summary(&o);
        let mut counted: Vec<(&'static str, u64)> = Vec::new();
        for batch in &batches {
            match counted.last_mut() {
                Some((entity, k)) if *entity == batch.entity => *k += batch.rows.len() as u64,
                _ => {
                    assert!(
                        !counted.iter().any(|(e, _)| *e == batch.entity),
                        "{} emitted in two runs",
                        batch.entity
                    );
                    counted.push((batch.entity, batch.rows.len() as u64));
                }
            }
        }
        let predicted: Vec<(&'static str, u64)> = sum.operational.iter().copied().filter(|(_, k)| *k > 0).collect();
        assert_eq!(counted, predicted, "n = {n}");
        assert_eq!(tally(&batches), sum.actuals, "n = {n}");
        assert_eq!(sum.actuals.total, n);
        let acct: Vec<(&'static str, u64)> = accounting(&o).iter().map(|b| (b.entity, b.rows.len() as u64)).collect();
        assert_eq!(acct, sum.accounting);
    }
}

#[test]
fn default_options_give_the_documented_data_set() {
    let sum = summary(&SeedOptions::default());
    let a = &sum.actuals;
    assert_eq!(a.total, 10_000);
    assert_eq!(a.skipped_intercompany_cost, 200);
    assert_eq!(a.skipped_negative_unbilled_sales, 100);
    assert_eq!(a.skipped_other, 0);
    assert_eq!(a.synced, 9_700);
    assert_eq!(a.connections, 4_700);
    assert_eq!(a.connections_with_skipped_end, 300);
    assert_eq!((a.time, a.expense, a.material), (8_200, 1_200, 600));
    assert!(a.by_month.iter().all(|(_, k)| *k > 1_500), "{:?}", a.by_month);
    assert!(a.by_company.iter().all(|c| c.in_closed_period > 0 && c.total > 3_000));
    assert_eq!(sum.rows("msdyn_projecttasks"), Some(264));
    assert_eq!(sum.rows("ProjCategory"), Some(48));
    assert_eq!(sum.work_based_contracts, 12);
    assert_eq!((sum.time_and_material_lines, sum.fixed_price_lines), (12, 6));
}

#[test]
fn streaming_is_lazy_and_bounded() {
    let o = opts(200_000, 42);
    let mut stream = operational(&o, 1_000);
    // Creating the stream and reading the master data generates no actual.
    let first = stream.next().expect("a batch");
    assert_eq!(first.entity, "transactioncurrencies");
    assert_eq!(stream.next_event, 0);
    let sum = summary(&o);
    let (mut actuals, mut connections) = (0u64, 0u64);
    for batch in stream.by_ref() {
        assert!(!batch.rows.is_empty() && batch.rows.len() <= 1_000);
        match batch.entity {
            "msdyn_actuals" => actuals += batch.rows.len() as u64,
            "msdyn_transactionconnections" => connections += batch.rows.len() as u64,
            _ => {}
        }
    }
    assert!(stream.buffered_rows() <= 1);
    assert_eq!(actuals, 200_000);
    assert_eq!(connections, sum.actuals.connections);
    // An odd batch size leaves at most one actual waiting between batches.
    let mut stream = operational(&opts(500, 42), 3);
    while let Some(batch) = stream.next() {
        assert!(batch.rows.len() <= 3);
        assert!(stream.buffered_rows() <= 1);
    }
}

#[test]
fn the_plan_repeats_every_hundred_actuals() {
    let per_cycle = summary(&opts(100, 42)).actuals;
    assert_eq!(per_cycle.skipped_intercompany_cost, 2);
    assert_eq!(per_cycle.skipped_negative_unbilled_sales, 1);
    assert_eq!(per_cycle.connections, 47);
    for n in 0..300 {
        let count = actuals::event_count(n);
        let made: u64 = (0..count).map(|e| actuals::plan_kind(e, n).size()).sum();
        assert_eq!(made, n);
    }
    // A summary does not depend on generating rows: the brief facts match the lines.
    let world = World::new(9);
    for e in 0..actuals::event_count(1_000) {
        let kind = actuals::plan_kind(e, 1_000);
        let lines = actuals::lines(&world, e, kind);
        let briefs = actuals::brief(&world, e, kind);
        assert_eq!(lines.len(), briefs.len());
        for (l, b) in lines.iter().zip(&briefs) {
            assert_eq!((l.class, l.ttype, l.date, l.skip), (b.class, b.ttype, b.date, b.skip));
            assert_eq!(world.projects[l.project].company, b.company);
        }
    }
}
