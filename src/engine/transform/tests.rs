//! Tests of the record transform against the shipped table maps.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::compile::CompiledMap;
use super::super::compile::tests::{compile_one, shipped};
use super::*;
use crate::value::ValueType;

fn map(name: &str) -> CompiledMap {
    let maps = shipped();
    let m = maps.iter().find(|m| m.name == name).unwrap();
    compile_one(m)
}

fn guid(n: u128) -> Value {
    Value::Guid(Uuid::from_u128(n))
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::from_str(s).unwrap())
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// A source record: its description and row, built from (column, value) pairs.
struct Source {
    desc: EntityDesc,
    row: Row,
}

impl Source {
    fn new(entity: &str, pairs: &[(&str, Value)]) -> Self {
        let columns = pairs
            .iter()
            .map(|(name, v)| Column {
                name: name.to_string(),
                value_type: v.value_type().unwrap_or(ValueType::Text),
                nullable: true,
                decimal: None,
            })
            .collect();
        Source {
            desc: EntityDesc {
                name: entity.into(),
                columns,
                key: vec![0],
            },
            row: pairs.iter().map(|(_, v)| v.clone()).collect(),
        }
    }

    /// The same record with `column` set (added when missing).
    fn with(mut self, column: &str, value: Value) -> Self {
        match self.desc.index_of(column) {
            Some(i) => self.row[i] = value,
            None => {
                self.desc.columns.push(Column {
                    name: column.into(),
                    value_type: value.value_type().unwrap_or(ValueType::Text),
                    nullable: true,
                    decimal: None,
                });
                self.row.push(value);
            }
        }
        self
    }

    fn view(&self) -> RowView<'_> {
        RowView::new(&self.desc, &self.row)
    }
}

/// Key links: (map, from side, key) -> the other side's key.
#[derive(Default)]
struct TestLinks(HashMap<(String, Side, Value), Value>);

impl TestLinks {
    /// Links a parent record of `map` both ways.
    fn link(mut self, map: &str, operational: Value, accounting: Value) -> Self {
        self.0
            .insert((map.into(), Side::Operational, operational.clone()), accounting.clone());
        self.0.insert((map.into(), Side::Accounting, accounting), operational);
        self
    }
}

impl Links for TestLinks {
    fn translate(&self, map: &str, from: Side, key: &Value) -> Option<Value> {
        self.0.get(&(map.to_string(), from, key.clone())).cloned()
    }
}

const ALL: Scope<'static> = Scope { companies: &[] };

// Parents: operational GUIDs 1xx, their accounting keys 9xx, to prove lookups translate.
const PROJECT: u128 = 101;
const TASK: u128 = 102;
const ROLE: u128 = 103;
const CONTRACT: u128 = 104;
const LINE: u128 = 105;

fn parents() -> TestLinks {
    TestLinks::default()
        .link("projects", guid(PROJECT), guid(901))
        .link("project-tasks", guid(TASK), guid(902))
        .link("resource-roles", guid(ROLE), guid(903))
        .link("project-contracts", guid(CONTRACT), guid(904))
        .link("contract-lines", guid(LINE), guid(905))
}

/// A time cost actual of company USMF, as the operational store holds it.
fn actual() -> Source {
    Source::new(
        "msdyn_actuals",
        &[
            ("msdyn_actualid", guid(1)),
            ("msdyn_company", text("USMF")),
            ("msdyn_skipsync", Value::Bool(false)),
            ("msdyn_project", guid(PROJECT)),
            ("msdyn_task", guid(TASK)),
            ("msdyn_transactionclassification", Value::Int(192350000)),
            ("msdyn_transactiontypecode", Value::Int(192350000)),
            ("msdyn_transactioncategory", guid(200)),
            ("msdyn_resourcecategory", guid(ROLE)),
            ("msdyn_bookableresource", guid(300)),
            ("msdyn_billingtype", Value::Int(192350001)),
            ("msdyn_salescontract", guid(CONTRACT)),
            ("msdyn_salescontractlineid", guid(LINE)),
            ("msdyn_quantity", dec("8")),
            ("msdyn_price", dec("12.5")),
            ("msdyn_amount", dec("100")),
            ("msdyn_amountmethod", Value::Int(192350000)),
            ("transactioncurrencyid", guid(400)),
            (
                "msdyn_documentdate",
                Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()),
            ),
            ("msdyn_description", text("Design workshop")),
            ("msdyn_externaldescription", Value::Null),
            // Written back by posting; must not flow to accounting.
            ("msdyn_vouchernumber", text("OLD-VOUCHER")),
            ("msdyn_accountingamount", dec("99")),
        ],
    )
}

fn records(outcome: Outcome) -> Vec<TargetRecord> {
    match outcome {
        Outcome::Records(r) => r,
        other => panic!("expected records, got {other:?}"),
    }
}

fn one(outcome: Outcome) -> TargetRecord {
    let mut r = records(outcome);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

fn rejected(outcome: Outcome) -> (String, String) {
    match outcome {
        Outcome::Rejected { message, hint } => (message, hint),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn an_actual_goes_to_the_staging_table() {
    let m = map("actuals");
    let src = actual();
    let r = one(transform(&m, Side::Operational, &src.view(), &parents(), &ALL));
    assert_eq!(r.key, [text("USMF"), guid(1)]);
    assert_eq!(r.company.as_deref(), Some("USMF"));
    let columns: Vec<&str> = r.values.iter().map(|(c, _)| &**c).collect();
    assert_eq!(
        columns,
        m.target_columns(Side::Accounting),
        "values in target_columns order"
    );
    assert_eq!(r.get("ProjectDataAreaId"), Some(&text("USMF")));
    // option sets become the accounting enum text
    assert_eq!(r.get("TransactionClassification"), Some(&text("Time")));
    assert_eq!(r.get("TransType"), Some(&text("Cost")));
    assert_eq!(r.get("BillingType"), Some(&text("Chargeable")));
    assert_eq!(r.get("AmountMethod"), Some(&text("MultiplyQuantityByPrice")));
    // decimals at the field's scale
    assert_eq!(r.get("UnitPrice").unwrap().to_string(), "12.5000");
    assert_eq!(r.get("Quantity").unwrap().to_string(), "8.000000");
    assert_eq!(r.get("Amount").unwrap().to_string(), "100.0000");
    // lookups translated through the parents' links; plain GUIDs carried as is
    assert_eq!(r.get("ProjectId"), Some(&guid(901)));
    assert_eq!(r.get("TaskId"), Some(&guid(902)));
    assert_eq!(r.get("ResourceCategory"), Some(&guid(903)));
    assert_eq!(r.get("ContractId"), Some(&guid(904)));
    assert_eq!(r.get("ContractLine"), Some(&guid(905)));
    assert_eq!(r.get("TransactionCategory"), Some(&guid(200)));
    assert_eq!(r.get("ResourceId"), Some(&guid(300)));
    assert_eq!(r.get("DocumentDate").unwrap().to_string(), "2024-01-31");
    // missing and null source columns are written as null
    assert_eq!(r.get("ExternalDescription"), Some(&Value::Null));
    assert_eq!(r.get("StartDate"), Some(&Value::Null));
    // write-back fields do not flow to accounting, and IsProcessed is not touched
    for back in [
        "AccountingAmount",
        "ExchangeRate",
        "VoucherNumber",
        "SalesTaxAmount",
        "IsProcessed",
    ] {
        assert_eq!(r.get(back), None, "{back}");
    }
}

#[test]
fn posted_attributes_flow_back_to_the_actual() {
    let m = map("actuals");
    let staging = Source::new(
        "ProjCDSActualsImport",
        &[
            ("ActualId", guid(1)),
            ("ProjectDataAreaId", text("USMF")),
            ("ProjectId", guid(901)),
            ("TransactionClassification", text("Time")),
            ("Amount", dec("100.0000")),
            ("Description", text("changed in accounting")),
            ("AccountingAmount", dec("91.25")),
            ("ExchangeRate", dec("0.9125")),
            ("VoucherNumber", text("PRJ-000042")),
            ("SalesTaxAmount", dec("0")),
        ],
    );
    let r = one(transform(
        &m,
        Side::Accounting,
        &staging.view(),
        &TestLinks::default(),
        &ALL,
    ));
    assert_eq!(r.key, [guid(1)]);
    assert_eq!(
        r.values,
        [
            ("msdyn_actualid".into(), guid(1)),
            ("msdyn_company".into(), text("USMF")),
            ("msdyn_accountingamount".into(), dec("91.2500")),
            ("msdyn_accountingexchangerate".into(), dec("0.9125000000")),
            ("msdyn_vouchernumber".into(), text("PRJ-000042")),
            ("msdyn_salestaxamount".into(), dec("0.0000")),
        ],
        "only the key, the company and the four posted attributes are written back"
    );
}

#[test]
fn each_skip_rule_names_its_reason() {
    let m = map("actuals");
    let links = parents();
    let skipped = |src: Source| transform(&m, Side::Operational, &src.view(), &links, &ALL);
    let flagged = || actual().with("msdyn_skipsync", Value::Bool(true));
    assert_eq!(
        skipped(flagged()),
        Outcome::Skipped("intercompany-cost".into()),
        "the first matching rule names the reason, though the catch-all matches too"
    );
    assert_eq!(
        skipped(
            flagged()
                .with("msdyn_transactiontypecode", Value::Int(192350005))
                .with("msdyn_amount", dec("-100"))
        ),
        Outcome::Skipped("negative-unbilled-sales".into())
    );
    assert_eq!(
        skipped(flagged().with("msdyn_transactiontypecode", Value::Int(192350006))),
        Outcome::Skipped("skip-sync-flag".into())
    );
    // a positive unbilled sales actual with the flag falls through to the catch-all
    assert_eq!(
        skipped(
            flagged()
                .with("msdyn_transactiontypecode", Value::Int(192350005))
                .with("msdyn_amount", dec("100"))
        ),
        Outcome::Skipped("skip-sync-flag".into())
    );
    // not flagged: synced, even for a negative unbilled sales actual
    let synced = skipped(
        actual()
            .with("msdyn_transactiontypecode", Value::Int(192350005))
            .with("msdyn_amount", dec("-100")),
    );
    assert_eq!(one(synced).get("TransType"), Some(&text("UnbilledSales")));
    // rules are read on their own side only: a record read on the accounting side is never skipped by them
    let staging = Source::new(
        "ProjCDSActualsImport",
        &[
            ("ActualId", guid(1)),
            ("ProjectDataAreaId", text("USMF")),
            ("msdyn_skipsync", Value::Bool(true)),
        ],
    );
    assert!(matches!(
        transform(&m, Side::Accounting, &staging.view(), &links, &ALL),
        Outcome::Records(_)
    ));
}

#[test]
fn a_material_line_is_outside_the_expense_estimates() {
    let m = map("expense-estimates");
    let line = |class: i64| {
        Source::new(
            "msdyn_estimatelines",
            &[
                ("msdyn_estimatelineid", guid(7)),
                ("msdyn_company", text("USMF")),
                ("msdyn_transactionclassification", Value::Int(class)),
                ("msdyn_project", guid(PROJECT)),
                ("msdyn_transactiontypecode", Value::Int(192350000)),
                ("msdyn_amount", dec("250.5")),
            ],
        )
    };
    let links = parents();
    assert_eq!(
        transform(&m, Side::Operational, &line(192350002).view(), &links, &ALL),
        Outcome::OutOfScope
    );
    let r = one(transform(&m, Side::Operational, &line(192350001).view(), &links, &ALL));
    assert_eq!(r.key, [text("USMF"), guid(7)]);
    assert_eq!(r.get("Amount"), Some(&dec("250.5000")));
    assert_eq!(
        r.get("TaskId"),
        Some(&Value::Null),
        "a null lookup stays null and waits for nothing"
    );
    // the same material line is in scope of the material estimates
    let material = map("material-estimates");
    assert!(matches!(
        transform(&material, Side::Operational, &line(192350002).view(), &links, &ALL),
        Outcome::Records(_)
    ));
}

#[test]
fn a_company_outside_the_scope_is_out_of_scope() {
    let m = map("actuals");
    let scope = ["DEMF".to_string(), "USMF".to_string()];
    let scope = Scope { companies: &scope };
    let links = parents();
    assert!(matches!(
        transform(&m, Side::Operational, &actual().view(), &links, &scope),
        Outcome::Records(_)
    ));
    let other = actual().with("msdyn_company", text("GBSI"));
    assert_eq!(
        transform(&m, Side::Operational, &other.view(), &links, &scope),
        Outcome::OutOfScope
    );
    let none = actual().with("msdyn_company", Value::Null);
    assert_eq!(
        transform(&m, Side::Operational, &none.view(), &links, &scope),
        Outcome::OutOfScope
    );
    // with every company in scope, a missing company leaves the company key column null
    let (message, hint) = rejected(transform(&m, Side::Operational, &none.view(), &links, &ALL));
    assert!(message.contains("key column `ProjectDataAreaId`"), "{message}");
    assert!(message.contains("`msdyn_company`"), "{message}");
    assert!(hint.contains("msdyn_company"), "{hint}");
    // scoping comes before the skip rules: an out-of-scope flagged actual is not counted as skipped
    let flagged = other.with("msdyn_skipsync", Value::Bool(true));
    assert_eq!(
        transform(&m, Side::Operational, &flagged.view(), &links, &scope),
        Outcome::OutOfScope
    );
}

#[test]
fn a_resource_role_fans_out_to_each_company() {
    let m = map("resource-roles");
    let role = Source::new(
        "bookableresourcecategories",
        &[
            ("bookableresourcecategoryid", guid(ROLE)),
            ("name", text("Developer")),
            ("description", Value::Null),
        ],
    );
    let companies = ["USMF".to_string(), "DEMF".to_string()];
    let scope = Scope { companies: &companies };
    let r = records(transform(
        &m,
        Side::Operational,
        &role.view(),
        &TestLinks::default(),
        &scope,
    ));
    assert_eq!(r.len(), 2);
    for (record, company) in r.iter().zip(["USMF", "DEMF"]) {
        assert_eq!(record.key, [text(company), guid(ROLE)]);
        assert_eq!(record.company.as_deref(), Some(company));
        assert_eq!(
            record.values,
            [
                ("DataAreaId".into(), text(company)),
                ("RoleId".into(), guid(ROLE)),
                ("Name".into(), text("Developer")),
                ("Description".into(), Value::Null),
            ]
        );
    }
    // without a list of companies there is nothing to fan out to
    let (message, hint) = rejected(transform(
        &m,
        Side::Operational,
        &role.view(),
        &TestLinks::default(),
        &ALL,
    ));
    assert!(message.contains("no companies are configured"), "{message}");
    assert!(hint.contains("companies"), "{hint}");
}

#[test]
fn a_transaction_category_fans_out_per_transaction_type() {
    let m = map("transaction-categories");
    let category = Source::new(
        "msdyn_transactioncategories",
        &[
            ("msdyn_transactioncategoryid", guid(200)),
            ("msdyn_name", text("Travel")),
            ("msdyn_description", text("Flights and hotels")),
        ],
    );
    let r = records(transform(
        &m,
        Side::Operational,
        &category.view(),
        &TestLinks::default(),
        &ALL,
    ));
    let types: Vec<&Value> = r.iter().map(|r| r.get("TransactionType").unwrap()).collect();
    assert_eq!(types, [&text("Hour"), &text("Expense"), &text("Item"), &text("Fee")]);
    for record in &r {
        assert_eq!(record.key[0], guid(200));
        assert_eq!(record.key[1], *record.get("TransactionType").unwrap());
        assert_eq!(record.company, None);
        assert_eq!(record.get("CategoryName"), Some(&text("Travel")));
    }
    let hashes: std::collections::HashSet<String> = r.iter().map(|r| hash_values(&r.values)).collect();
    assert_eq!(hashes.len(), 4);
}

#[test]
fn a_task_waits_for_its_parent_task() {
    let m = map("project-tasks");
    let task = |parent: Value| {
        Source::new(
            "msdyn_projecttasks",
            &[
                ("msdyn_projecttaskid", guid(20)),
                ("msdyn_company", text("USMF")),
                ("msdyn_project", guid(PROJECT)),
                ("msdyn_parenttask", parent),
                ("msdyn_subject", text("Build")),
                ("msdyn_effort", dec("16.5")),
            ],
        )
    };
    let links = parents();
    assert_eq!(
        transform(&m, Side::Operational, &task(guid(21)).view(), &links, &ALL),
        Outcome::WaitingForParent {
            map: "project-tasks".into(),
            key: guid(21)
        }
    );
    // a parent given as GUID text waits for the same typed key
    assert_eq!(
        transform(
            &m,
            Side::Operational,
            &task(text(&Uuid::from_u128(21).to_string())).view(),
            &links,
            &ALL
        ),
        Outcome::WaitingForParent {
            map: "project-tasks".into(),
            key: guid(21)
        }
    );
    // once the parent is linked the child goes through
    let linked = parents().link("project-tasks", guid(21), guid(921));
    let r = one(transform(&m, Side::Operational, &task(guid(21)).view(), &linked, &ALL));
    assert_eq!(r.get("ParentTaskId"), Some(&guid(921)));
    assert_eq!(r.get("EffortHours"), Some(&dec("16.500000")));
    // a root task has no parent and waits for nothing
    let root = one(transform(
        &m,
        Side::Operational,
        &task(Value::Null).view(),
        &links,
        &ALL,
    ));
    assert_eq!(root.get("ParentTaskId"), Some(&Value::Null));
    // nor does it wait when its project is unknown: the project is waited for instead
    assert_eq!(
        transform(
            &m,
            Side::Operational,
            &task(Value::Null).view(),
            &TestLinks::default(),
            &ALL
        ),
        Outcome::WaitingForParent {
            map: "projects".into(),
            key: guid(PROJECT)
        }
    );
}

#[test]
fn an_unmapped_option_set_code_is_rejected() {
    let m = map("actuals");
    let src = actual().with("msdyn_transactionclassification", Value::Int(192350009));
    let (message, hint) = rejected(transform(&m, Side::Operational, &src.view(), &parents(), &ALL));
    assert!(message.contains("`msdyn_transactionclassification`"), "{message}");
    assert!(message.contains("192350009"), "{message}");
    assert!(
        message.contains("192350000 Time") && message.contains("690970002 Tax"),
        "{message}"
    );
    assert!(hint.contains("\"192350009\""), "{hint}");
    assert!(hint.contains("values"), "{hint}");
    // a rejection wins over waiting: the record would never go through anyway
    let also_orphan = src.with("msdyn_project", guid(999));
    assert!(matches!(
        transform(&m, Side::Operational, &also_orphan.view(), &parents(), &ALL),
        Outcome::Rejected { .. }
    ));
}

#[test]
fn option_sets_map_back_from_text_to_code() {
    // No shipped map has a two-way option set; make the actuals' classification flow back.
    let mut edited = shipped().into_iter().find(|m| m.name == "actuals").unwrap();
    for f in edited.fields.iter_mut() {
        if f.accounting.as_deref() == Some("TransactionClassification") {
            f.direction = Some(crate::tablemap::model::Direction::Both);
        }
    }
    let m = compile_one(&edited);
    let staging = |class: &str| {
        Source::new(
            "ProjCDSActualsImport",
            &[
                ("ActualId", guid(1)),
                ("ProjectDataAreaId", text("USMF")),
                ("TransactionClassification", text(class)),
            ],
        )
    };
    let r = one(transform(
        &m,
        Side::Accounting,
        &staging("Expense").view(),
        &parents(),
        &ALL,
    ));
    assert_eq!(r.get("msdyn_transactionclassification"), Some(&Value::Int(192350001)));
    let (message, hint) = rejected(transform(
        &m,
        Side::Accounting,
        &staging("Overtime").view(),
        &parents(),
        &ALL,
    ));
    assert!(
        message.contains("`TransactionClassification`") && message.contains("Overtime"),
        "{message}"
    );
    assert!(hint.contains("\"Overtime\""), "{hint}");
}

#[test]
fn a_decimal_that_does_not_fit_is_rejected_not_rounded() {
    let m = map("actuals");
    let src = actual().with("msdyn_price", dec("12.34567"));
    let (message, hint) = rejected(transform(&m, Side::Operational, &src.view(), &parents(), &ALL));
    assert!(
        message.contains("`msdyn_price`") && message.contains("12.34567"),
        "{message}"
    );
    assert!(
        message.contains("`UnitPrice`") && message.contains("allows 4"),
        "{message}"
    );
    assert!(hint.contains("precision 19, scale 4"), "{hint}");
    let src = actual().with("msdyn_documentdate", text("31/01/2024"));
    let (message, _) = rejected(transform(&m, Side::Operational, &src.view(), &parents(), &ALL));
    assert!(
        message.contains("`DocumentDate`") && message.contains("31/01/2024"),
        "{message}"
    );
}

#[test]
fn constants_defaults_and_null_keys() {
    let funding = map("funding-sources");
    let rule = Source::new(
        "msdyn_projectcontractsplitbillingrules",
        &[
            ("msdyn_projectcontractsplitbillingruleid", guid(50)),
            ("msdyn_company", text("USMF")),
            ("msdyn_projectcontract", guid(CONTRACT)),
            ("msdyn_name", text("Fabrikam")),
        ],
    );
    let r = one(transform(&funding, Side::Operational, &rule.view(), &parents(), &ALL));
    assert_eq!(r.get("FundingType"), Some(&text("Customer")));
    assert_eq!(r.get("ContractId"), Some(&guid(904)));

    // a default replaces a null source value, in the target's representation
    let mut m = map("actuals");
    for f in m.fields.iter_mut() {
        match f.accounting.as_deref() {
            Some("ExternalDescription") => f.default = Some(text("")),
            Some("BillingType") => f.default = Some(Value::Int(192350000)),
            _ => {}
        }
    }
    let src = actual().with("msdyn_billingtype", Value::Null);
    let r = one(transform(&m, Side::Operational, &src.view(), &parents(), &ALL));
    assert_eq!(r.get("ExternalDescription"), Some(&text("")));
    assert_eq!(r.get("BillingType"), Some(&text("NonChargeable")));

    // a null key value rejects the record
    let src = actual().with("msdyn_actualid", Value::Null);
    let (message, _) = rejected(transform(
        &map("actuals"),
        Side::Operational,
        &src.view(),
        &parents(),
        &ALL,
    ));
    assert!(
        message.contains("`ActualId`") && message.contains("`msdyn_actualid`"),
        "{message}"
    );
}

#[test]
fn two_way_fields_flow_both_ways() {
    let m = map("hour-estimates");
    let assignment = Source::new(
        "msdyn_resourceassignments",
        &[
            ("msdyn_resourceassignmentid", guid(60)),
            ("msdyn_company", text("USMF")),
            ("msdyn_projectid", guid(PROJECT)),
            ("msdyn_hours", dec("40")),
            ("msdyn_plannedcost", dec("4000")),
        ],
    );
    let to_acct = one(transform(&m, Side::Operational, &assignment.view(), &parents(), &ALL));
    assert_eq!(to_acct.key, [text("USMF"), guid(60)]);
    assert_eq!(to_acct.get("Hours"), Some(&dec("40.000000")));
    assert_eq!(to_acct.get("CostAmount"), Some(&dec("4000.0000")));
    let forecast = Source::new(
        "ProjCDSEstimateHoursImport",
        &[
            ("ResourceAssignmentId", guid(60)),
            ("ProjectDataAreaId", text("USMF")),
            ("Hours", dec("32.5")),
            ("CostAmount", dec("1")),
        ],
    );
    let back = one(transform(&m, Side::Accounting, &forecast.view(), &parents(), &ALL));
    assert_eq!(back.key, [guid(60)]);
    let columns: Vec<&str> = back.values.iter().map(|(c, _)| &**c).collect();
    assert_eq!(
        columns,
        [
            "msdyn_resourceassignmentid",
            "msdyn_company",
            "msdyn_hours",
            "msdyn_start",
            "msdyn_finish"
        ]
    );
    assert_eq!(back.get("msdyn_hours"), Some(&dec("32.500000")));
}

#[test]
fn hashes_ignore_decimal_scale_and_tell_values_apart() {
    let row = |v: Value| vec![("Amount".to_string(), v), ("Description".to_string(), text("x"))];
    assert_eq!(hash_values(&row(dec("12.5"))), hash_values(&row(dec("12.5000"))));
    assert_eq!(hash_values(&row(dec("0.00"))), hash_values(&row(dec("-0"))));
    assert_ne!(hash_values(&row(dec("12.5"))), hash_values(&row(dec("12.05"))));
    assert_ne!(hash_values(&row(dec("12.5"))), hash_values(&row(Value::Null)));
    assert_ne!(hash_values(&row(text("12.5"))), hash_values(&row(dec("12.5"))));
    assert_ne!(
        hash_values(&[("a", text("b=c"))]),
        hash_values(&[("a", text("b")), ("c", Value::Null)])
    );
    let h = hash_values(&row(dec("12.5")));
    assert_eq!(h.len(), 16);
    let mut reordered = row(dec("12.5"));
    reordered.reverse();
    assert_eq!(hash_values(&reordered), h, "column order does not matter");
    // stable across runs and releases: a fixed expectation
    let none: [(&str, Value); 0] = [];
    assert_eq!(hash_values(&none), format!("{:016x}", 0xcbf2_9ce4_8422_2325_u64));
}

/// The hashes stored in links stay valid across releases: one of every kind of value, pinned.
#[test]
fn hashes_are_stable_across_releases() {
    use chrono::TimeZone;
    let every = [
        ("t", text("Zürich; 12:5")),
        ("n", Value::Null),
        ("b", Value::Bool(true)),
        ("i", Value::Int(-9_007_199_254_740_993)),
        ("z", dec("0.000")),
        ("d", dec("-1234.5600")),
        ("day", Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 2, 3).unwrap())),
        ("old", Value::Date(chrono::NaiveDate::from_ymd_opt(-44, 3, 15).unwrap())),
        (
            "at",
            Value::DateTime(
                chrono::Utc.with_ymd_and_hms(2026, 12, 3, 7, 5, 9).unwrap() + chrono::Duration::nanoseconds(1_002_003),
            ),
        ),
        (
            "g",
            Value::Guid(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
        ),
    ];
    assert_eq!(hash_values(&every), "fe9cb477a8a30901");
}

#[test]
fn the_same_record_hashes_the_same() {
    // The same actual twice gives the same values and hash; a changed amount does not.
    let m = map("actuals");
    let a = one(transform(&m, Side::Operational, &actual().view(), &parents(), &ALL));
    let b = one(transform(&m, Side::Operational, &actual().view(), &parents(), &ALL));
    assert_eq!(hash_values(&a.values), hash_values(&b.values));
    let c = one(transform(
        &m,
        Side::Operational,
        &actual().with("msdyn_amount", dec("100.01")).view(),
        &parents(),
        &ALL,
    ));
    assert_ne!(hash_values(&a.values), hash_values(&c.values));
}

/// The hash as it was first written (every column's text built, then hashed): the streamed
/// `hash_values` must give the same for every kind of value, or stored links would all look
/// changed after an upgrade.
fn hash_values_as_built_first(values: &[(String, Value)]) -> String {
    use std::fmt::Write;
    let mut sorted: Vec<&(String, Value)> = values.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = String::new();
    for (column, value) in sorted {
        let _ = write!(text, "{}:{column}=", column.len());
        let (tag, body) = match value {
            Value::Null => ('0', String::new()),
            Value::Bool(b) => ('b', b.to_string()),
            Value::Int(i) => ('n', i.to_string()),
            Value::Decimal(d) if d.is_zero() => ('n', "0".to_string()),
            Value::Decimal(d) => ('n', d.normalize().to_string()),
            Value::Text(s) => ('s', s.clone()),
            Value::Date(d) => ('d', d.format("%Y-%m-%d").to_string()),
            Value::DateTime(t) => ('t', t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()),
            Value::Guid(g) => ('g', g.hyphenated().to_string()),
        };
        let _ = write!(text, "{tag}{}:{body};", body.len());
    }
    format!("{:016x}", crate::engine::compile::fnv1a64(text.as_bytes()))
}

#[test]
fn the_streamed_hash_equals_the_hash_as_first_built() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let values = [
        Value::Null,
        Value::Bool(true),
        Value::Int(-42),
        dec("0.000"),
        dec("-12.5000"),
        Value::Text("Ünïcode; with:colons=".into()),
        Value::Text(String::new()),
        Value::Date(NaiveDate::from_ymd_opt(2026, 2, 3).unwrap()),
        Value::Date(NaiveDate::from_ymd_opt(12026, 2, 3).unwrap()),
        Value::Date(NaiveDate::from_ymd_opt(-5, 2, 3).unwrap()),
        Value::DateTime(Utc.with_ymd_and_hms(2026, 12, 3, 4, 5, 6).unwrap()),
        Value::DateTime(Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap()),
        // A leap second.
        Value::DateTime(
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(),
        ),
        Value::Guid(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)),
    ];
    for (i, v) in values.iter().enumerate() {
        let record = vec![
            ("b_col".to_string(), v.clone()),
            ("a".to_string(), values[(i + 3) % values.len()].clone()),
        ];
        assert_eq!(hash_values(&record), hash_values_as_built_first(&record), "{v:?}");
    }
    let all: Vec<(String, Value)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("c{i}"), v.clone()))
        .collect();
    assert_eq!(hash_values(&all), hash_values_as_built_first(&all));
}
