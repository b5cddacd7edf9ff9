//! The reference schemas, parsed from the SQLite migrations, and every row checked against them:
//! tables and columns exist, NOT NULL columns are filled, types, decimal precision and scale,
//! and CHECK (... IN ...) lists.

use std::collections::{HashMap, HashSet};

use super::*;

/// The migrations that shape the tables the demo fills, in order.
const OPERATIONAL_SQL: &[&str] = &[
    include_str!("../../../migrations/operational/sqlite/0001_reference_schema.sql"),
    include_str!("../../../migrations/operational/sqlite/0002_invoices.sql"),
    include_str!("../../../migrations/operational/sqlite/0003_expenses_and_vendor_invoices.sql"),
    include_str!("../../../migrations/operational/sqlite/0004_entry_journals.sql"),
];
const ACCOUNTING_SQL: &[&str] = &[
    include_str!("../../../migrations/accounting/sqlite/0001_reference_schema.sql"),
    include_str!("../../../migrations/accounting/sqlite/0004_invoices_and_sales_tax.sql"),
    include_str!("../../../migrations/accounting/sqlite/0005_expenses_and_vendor_invoices.sql"),
];

// ----- a small parser of the CREATE TABLE statements -----

#[derive(Debug, Clone)]
struct Col {
    name: String,
    ty: String,
    not_null: bool,
    default: bool,
    check_in: Option<Vec<String>>,
}

fn parse_schema(migrations: &[&str]) -> HashMap<String, Vec<Col>> {
    let mut tables = HashMap::new();
    let mut current: Option<(String, Vec<Col>)> = None;
    for line in migrations.iter().flat_map(|sql| sql.lines()) {
        let code = line.split("  --").next().unwrap_or("").trim();
        // ALTER TABLE "T" ADD COLUMN <column definition>;
        if let Some(rest) = code.strip_prefix("ALTER TABLE ") {
            let (table, definition) = rest.split_once(" ADD COLUMN ").expect("ADD COLUMN");
            let table = table.trim_matches('"').to_string();
            let definition = definition.trim_end_matches(';');
            let mut one = parse_schema(&[&format!("CREATE TABLE \"{table}\" (\n{definition}\n);")]);
            let col = one.remove(&table).and_then(|mut c| c.pop()).expect("a column");
            tables
                .get_mut(&table)
                .map(|cols: &mut Vec<Col>| cols.push(col))
                .expect("an altered table exists");
            continue;
        }
        if let Some(rest) = code.strip_prefix("CREATE TABLE ") {
            let name = rest.trim_end_matches('(').trim().trim_matches('"').to_string();
            current = Some((name, Vec::new()));
            continue;
        }
        let Some((_, cols)) = current.as_mut() else {
            continue;
        };
        if code.starts_with(");") {
            let (name, cols) = current.take().expect("in a table");
            tables.insert(name, cols);
            continue;
        }
        if code.is_empty()
            || code.starts_with("--")
            || code.starts_with("PRIMARY KEY")
            || code.starts_with("FOREIGN KEY")
            || code.starts_with("UNIQUE")
        {
            continue;
        }
        let (name, rest) = if let Some(quoted) = code.strip_prefix('"') {
            let end = quoted.find('"').expect("closing quote");
            (&quoted[..end], &quoted[end + 1..])
        } else {
            code.split_once(' ').expect("name and type")
        };
        let rest = rest.trim();
        let ty = rest
            .split_whitespace()
            .next()
            .expect("type")
            .trim_end_matches(',')
            .to_string();
        let check_in = rest.find(" IN (").map(|i| {
            let inner = &rest[i + 5..];
            let inner = &inner[..inner.find(')').expect("closing paren")];
            inner
                .split(',')
                .map(|v| v.trim().trim_matches('\'').to_string())
                .collect()
        });
        cols.push(Col {
            name: name.to_string(),
            ty,
            not_null: rest.contains("NOT NULL") || rest.contains("PRIMARY KEY"),
            default: rest.contains("DEFAULT"),
            check_in,
        });
    }
    tables
}

/// Precision and scale of a DECIMAL_TEXT(p,s) type.
fn decimal_type(ty: &str) -> Option<(u32, u32)> {
    let inner = ty.strip_prefix("DECIMAL_TEXT(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

fn check_value(table: &str, col: &Col, value: &Value) {
    let what = format!("{table}.{} = {value:?}", col.name);
    if value.is_null() {
        assert!(!col.not_null, "null in NOT NULL column: {what}");
        return;
    }
    if let Some((p, s)) = decimal_type(&col.ty) {
        let Value::Decimal(d) = value else {
            panic!("not a decimal: {what}")
        };
        assert_eq!(d.scale(), s, "scale: {what}");
        let digits = d.mantissa().unsigned_abs().to_string().len() as u32;
        assert!(digits <= p, "precision: {what}");
        return;
    }
    let ok = match col.ty.as_str() {
        "UUID_TEXT" => matches!(value, Value::Guid(_)),
        "BOOLEAN" => matches!(value, Value::Bool(_)),
        "INTEGER" => matches!(value, Value::Int(_)),
        "DATE_TEXT" => matches!(value, Value::Date(_)),
        "DATETIME_TEXT" => matches!(value, Value::DateTime(_)),
        "TEXT" => matches!(value, Value::Text(_)),
        other => panic!("unknown type {other} of {table}.{}", col.name),
    };
    assert!(ok, "type {}: {what}", col.ty);
    if let Some(allowed) = &col.check_in {
        let rendered = match value {
            Value::Bool(b) => i32::from(*b).to_string(),
            Value::Int(i) => i.to_string(),
            Value::Text(t) => t.clone(),
            other => panic!("no CHECK rendering for {other:?}"),
        };
        assert!(allowed.contains(&rendered), "CHECK: {what} not in {allowed:?}");
    }
}

fn check_against_schema(batches: &[SeedBatch], sql: &[&str]) {
    let schema = parse_schema(sql);
    assert!(schema.len() > 10, "parsed {} tables", schema.len());
    for batch in batches {
        let cols = schema
            .get(batch.entity)
            .unwrap_or_else(|| panic!("no table {}", batch.entity));
        let by_name: HashMap<&str, &Col> = cols.iter().map(|c| (c.name.as_str(), c)).collect();
        let emitted: HashSet<&str> = batch.columns.iter().copied().collect();
        assert_eq!(
            emitted.len(),
            batch.columns.len(),
            "duplicate columns in {}",
            batch.entity
        );
        for col in cols {
            if col.not_null && !col.default {
                assert!(
                    emitted.contains(col.name.as_str()),
                    "{}.{} is NOT NULL without default but not emitted",
                    batch.entity,
                    col.name
                );
            }
        }
        for row in &batch.rows {
            assert_eq!(row.len(), batch.columns.len(), "row width of {}", batch.entity);
            for (name, value) in batch.columns.iter().zip(row) {
                let col = by_name
                    .get(name)
                    .unwrap_or_else(|| panic!("no column {}.{name}", batch.entity));
                check_value(batch.entity, col, value);
            }
        }
    }
}

#[test]
fn rows_fit_the_reference_schemas() {
    check_against_schema(&all(&opts(1_000, 3), 97), OPERATIONAL_SQL);
    check_against_schema(&accounting(&opts(1_000, 3)), ACCOUNTING_SQL);
}

#[test]
fn the_schema_parser_reads_types_and_checks() {
    let op = parse_schema(OPERATIONAL_SQL);
    let acct = parse_schema(ACCOUNTING_SQL);
    assert_eq!(op.len(), 27);
    let col = |t: &HashMap<String, Vec<Col>>, table: &str, name: &str| -> Col {
        t[table].iter().find(|c| c.name == name).cloned().expect("column")
    };
    assert_eq!(col(&op, "msdyn_actuals", "msdyn_amount").ty, "DECIMAL_TEXT(19,4)");
    assert_eq!(col(&op, "msdyn_actuals", "msdyn_invoice").ty, "UUID_TEXT");
    assert_eq!(
        decimal_type(&col(&op, "msdyn_actuals", "exchangerate").ty),
        Some((23, 10))
    );
    let skip = col(&op, "msdyn_actuals", "msdyn_skipsync");
    assert!(skip.not_null && skip.default);
    assert_eq!(skip.check_in, Some(vec!["0".to_string(), "1".to_string()]));
    let unit = col(&acct, "ProjParameters", "IntegrationJournalPeriodUnit");
    assert_eq!(unit.check_in.map(|v| v.len()), Some(4));
    let currency = col(&acct, "CompanyInfo", "AccountingCurrency");
    assert!(currency.not_null && !currency.default);
    assert_eq!(col(&acct, "Currency", "TransactionCurrencyId").ty, "UUID_TEXT");
}
