//! Tests of map compilation against the shipped table maps (kept here, beside the transform's
//! tests, to keep `compile.rs` short); `shipped()` is shared with the transform's tests.

use super::*;
use crate::tablemap::SourceFile;

/// The shipped maps, parsed and validated as `dualsync validate` does.
pub(crate) fn shipped() -> Vec<TableMap> {
    let files = [
        ("actuals.toml", include_str!("../../../table-maps/actuals.toml")),
        (
            "expense-categories.toml",
            include_str!("../../../table-maps/expense-categories.toml"),
        ),
        (
            "project-expenses.toml",
            include_str!("../../../table-maps/project-expenses.toml"),
        ),
        (
            "project-vendor-invoices.toml",
            include_str!("../../../table-maps/project-vendor-invoices.toml"),
        ),
        (
            "project-vendor-invoice-lines.toml",
            include_str!("../../../table-maps/project-vendor-invoice-lines.toml"),
        ),
        (
            "contract-line-milestones.toml",
            include_str!("../../../table-maps/contract-line-milestones.toml"),
        ),
        (
            "contract-lines.toml",
            include_str!("../../../table-maps/contract-lines.toml"),
        ),
        (
            "project-invoice-proposals.toml",
            include_str!("../../../table-maps/project-invoice-proposals.toml"),
        ),
        (
            "expense-estimates.toml",
            include_str!("../../../table-maps/expense-estimates.toml"),
        ),
        (
            "funding-sources.toml",
            include_str!("../../../table-maps/funding-sources.toml"),
        ),
        (
            "hour-estimates.toml",
            include_str!("../../../table-maps/hour-estimates.toml"),
        ),
        (
            "material-estimates.toml",
            include_str!("../../../table-maps/material-estimates.toml"),
        ),
        (
            "project-contracts.toml",
            include_str!("../../../table-maps/project-contracts.toml"),
        ),
        (
            "project-tasks.toml",
            include_str!("../../../table-maps/project-tasks.toml"),
        ),
        ("projects.toml", include_str!("../../../table-maps/projects.toml")),
        (
            "resource-roles.toml",
            include_str!("../../../table-maps/resource-roles.toml"),
        ),
        (
            "transaction-categories.toml",
            include_str!("../../../table-maps/transaction-categories.toml"),
        ),
        (
            "transaction-connections.toml",
            include_str!("../../../table-maps/transaction-connections.toml"),
        ),
    ];
    let sources = files
        .iter()
        .map(|(name, text)| SourceFile::new(format!("table-maps/{name}"), *text))
        .collect();
    let loaded = crate::tablemap::load_sources(sources);
    assert!(loaded.is_valid(), "shipped maps are valid: {:?}", loaded.diagnostics);
    loaded.maps().cloned().collect()
}

fn compiled() -> Vec<CompiledMap> {
    let valid = crate::tablemap::check_maps(&shipped()).expect("the shipped maps are valid");
    valid.iter().map(compile).collect()
}

/// The shipped maps with `map` in place of the one of its name, checked as a set.
fn checked_with(map: &TableMap) -> Result<Vec<crate::tablemap::ValidMap>, String> {
    let maps: Vec<TableMap> = shipped()
        .into_iter()
        .map(|m| if m.name == map.name { map.clone() } else { m })
        .collect();
    crate::tablemap::check_maps(&maps).map_err(|problems| {
        let shown: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
        shown.join("\n")
    })
}

/// One map compiled as the engine compiles it: checked within the shipped set, then compiled.
pub(crate) fn compile_one(map: &TableMap) -> CompiledMap {
    let valid = checked_with(map).unwrap();
    compile(valid.iter().find(|v| v.map().name == map.name).unwrap())
}

fn named<'a>(maps: &'a [CompiledMap], name: &str) -> &'a CompiledMap {
    maps.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn every_shipped_map_compiles() {
    let maps = compiled();
    assert_eq!(maps.len(), 18);
    let actuals = named(&maps, "actuals");
    assert_eq!(actuals.fields.len(), 32);
    assert!(!actuals.deletes);
    assert_eq!(actuals.skip.len(), 3);
    assert!(actuals.skip.iter().all(|s| s.side == Side::Operational));
    assert_eq!(actuals.skip[0].name, "intercompany-cost");
    let class = actuals
        .fields
        .iter()
        .find(|f| f.operational.as_deref() == Some("msdyn_transactionclassification"))
        .unwrap();
    assert_eq!(class.to_accounting.as_ref().unwrap()[&192350001], "Expense");
    assert_eq!(class.to_operational.as_ref().unwrap()["Tax"], 690970002);
    let voucher = actuals
        .fields
        .iter()
        .find(|f| f.accounting.as_deref() == Some("VoucherNumber"))
        .unwrap();
    assert_eq!(
        voucher.direction,
        Direction::ToOperational,
        "field direction overrides the map's"
    );
    assert!(voucher.writes(Side::Operational) && !voucher.writes(Side::Accounting));
    let amount = actuals
        .fields
        .iter()
        .find(|f| f.accounting.as_deref() == Some("Amount"))
        .unwrap();
    assert_eq!(amount.direction, Direction::ToAccounting, "the map default fills in");
    assert_eq!(amount.decimal, Some((19, 4)));
    let key = actuals.key_field(Side::Accounting, "ActualId").unwrap();
    assert!(key.writes(Side::Operational) && key.writes(Side::Accounting));

    let funding = named(&maps, "funding-sources");
    let constant = funding.fields.iter().find(|f| f.constant.is_some()).unwrap();
    assert_eq!(constant.constant, Some(Value::Text("Customer".into())));
    assert!(constant.writes(Side::Accounting) && !constant.writes(Side::Operational));

    let contracts = named(&maps, "contract-lines");
    assert!(contracts.operational.filter.is_some());
    assert_eq!(contracts.requires, ["project-contracts", "projects"]);
    let tasks = named(&maps, "project-tasks");
    assert_eq!(tasks.requires, ["projects"], "a self-lookup is not a dependency");
    let tc = named(&maps, "transaction-categories");
    assert_eq!(tc.fan_out_column(), Some("TransactionType"));
    assert!(named(&maps, "resource-roles").fans_out_per_company());
}

#[test]
fn order_puts_parents_first() {
    let maps = compiled();
    let order = order(&maps).unwrap();
    assert_eq!(order.len(), 18);
    let at = |n: &str| order.iter().position(|m| m == n).unwrap();
    assert!(at("projects") < at("project-tasks"));
    assert!(at("project-tasks") < at("actuals"));
    assert!(at("project-contracts") < at("contract-lines"));
    assert!(at("contract-lines") < at("contract-line-milestones"));
    assert!(at("actuals") < at("transaction-connections"));
    assert!(at("project-contracts") < at("project-invoice-proposals"));
    assert!(at("transaction-categories") < at("expense-categories"));
    assert!(at("expense-categories") < at("project-expenses"));
    assert!(at("project-vendor-invoices") < at("project-vendor-invoice-lines"));
    for m in &maps {
        for r in &m.requires {
            assert!(at(r) < at(&m.name), "{r} before {}", m.name);
        }
    }
    // Rounds by name: the maps without dependencies come first, alphabetically.
    assert_eq!(
        order[..5],
        [
            "project-contracts",
            "project-vendor-invoices",
            "projects",
            "resource-roles",
            "transaction-categories"
        ]
    );
    // The order does not depend on the order the maps are given in.
    let mut reversed = maps.clone();
    reversed.reverse();
    assert_eq!(super::order(&reversed).unwrap(), order);
}

#[test]
fn order_names_a_cycle() {
    let mut maps = compiled();
    for m in maps.iter_mut() {
        if m.name == "projects" {
            m.requires.push("actuals".into());
        }
    }
    let err = order(&maps).unwrap_err();
    assert!(err.starts_with("maps depend on each other in a cycle: "), "{err}");
    assert!(err.contains("actuals -> projects -> actuals"), "{err}");

    let mut unknown = compiled();
    unknown.retain(|m| m.name != "projects");
    let err = order(&unknown).unwrap_err();
    assert!(
        err.contains("requires \"projects\", which is not among the maps"),
        "{err}"
    );
}

#[test]
fn columns_of_actuals() {
    let maps = compiled();
    let a = named(&maps, "actuals");
    let op = a.columns(Side::Operational);
    assert_eq!(op[..3], ["msdyn_actualid", "msdyn_company", "msdyn_project"]);
    assert_eq!(
        op.len(),
        2 + 31 + 1,
        "key, company, 31 other fields, and msdyn_skipsync"
    );
    assert_eq!(op.last().map(String::as_str), Some("msdyn_skipsync"));
    assert!(
        op.iter().any(|c| c == "msdyn_vouchernumber"),
        "write-back columns are read to compare"
    );
    let unique: HashSet<&String> = op.iter().collect();
    assert_eq!(unique.len(), op.len());

    let acct = a.columns(Side::Accounting);
    assert_eq!(acct[..3], ["ProjectDataAreaId", "ActualId", "ProjectId"]);
    assert_eq!(acct.len(), 33);

    let to_acct = a.target_columns(Side::Accounting);
    assert_eq!(to_acct[..3], ["ProjectDataAreaId", "ActualId", "ProjectId"]);
    assert_eq!(to_acct.len(), 2 + 27);
    for written_back in [
        "AccountingAmount",
        "ExchangeRate",
        "VoucherNumber",
        "SalesTaxAmount",
        "IsProcessed",
    ] {
        assert!(!to_acct.iter().any(|c| c == written_back), "{written_back}");
    }
    assert_eq!(
        a.target_columns(Side::Operational),
        [
            "msdyn_actualid",
            "msdyn_company",
            "msdyn_accountingamount",
            "msdyn_accountingexchangerate",
            "msdyn_vouchernumber",
            "msdyn_salestaxamount"
        ]
    );
}

#[test]
fn columns_with_fan_out_and_constants() {
    let maps = compiled();
    assert_eq!(
        named(&maps, "transaction-categories").target_columns(Side::Accounting),
        ["CategoryId", "TransactionType", "CategoryName", "Description"]
    );
    assert_eq!(
        named(&maps, "resource-roles").target_columns(Side::Accounting),
        ["DataAreaId", "RoleId", "Name", "Description"]
    );
    assert_eq!(
        named(&maps, "resource-roles").columns(Side::Operational),
        ["bookableresourcecategoryid", "name", "description"]
    );
    let funding = named(&maps, "funding-sources");
    assert_eq!(
        funding.target_columns(Side::Accounting).last().map(String::as_str),
        Some("FundingType")
    );
    assert!(!funding.columns(Side::Accounting).iter().any(|c| c == "FundingType"));
    assert_eq!(
        named(&maps, "transaction-connections").columns(Side::Operational)[..2],
        ["msdyn_transactionconnectionid", "msdyn_transaction1"]
    );
    assert_eq!(
        named(&maps, "expense-estimates")
            .columns(Side::Operational)
            .last()
            .map(String::as_str),
        Some("msdyn_transactionclassification"),
        "filter columns are read"
    );
}

#[test]
fn checksum_is_stable_and_tells_an_edit() {
    let maps = shipped();
    let projects = maps.iter().find(|m| m.name == "projects").unwrap();
    let a = compile_one(projects).checksum;
    assert_eq!(a.len(), 19);
    assert!(a.starts_with("v2:"), "{a}");
    assert_eq!(compile_one(&projects.clone()).checksum, a);
    let mut edited = projects.clone();
    edited.fields[1].accounting = Some("ProjectTitle".into());
    assert_ne!(compile_one(&edited).checksum, a);
    let checksums: HashSet<String> = compiled().into_iter().map(|m| m.checksum).collect();
    assert_eq!(checksums.len(), 18);
}

#[test]
fn cosmetic_keys_do_not_change_the_checksum() {
    let maps = shipped();
    let actuals = maps.iter().find(|m| m.name == "actuals").unwrap();
    let before = compile_one(actuals);
    let mut cosmetic = actuals.clone();
    cosmetic.title = Some("Actuals, renamed".into());
    cosmetic.description = None;
    cosmetic.version = Some("9.9.9".into());
    cosmetic.fields[0].description = Some("a new note".into());
    cosmetic.skip[0].description = Some("why".into());
    let after = compile_one(&cosmetic);
    assert_eq!(after.checksum, before.checksum);
    assert_ne!(
        after.legacy_checksum, before.legacy_checksum,
        "the old formula counted them"
    );
    for edit in [
        |m: &mut TableMap| m.fields.swap(1, 2),
        |m: &mut TableMap| m.skip[0].name.push('x'),
        |m: &mut TableMap| m.deletes = !m.deletes,
        |m: &mut TableMap| m.fields[1].direction = Some(Direction::Both),
    ] {
        let mut edited = actuals.clone();
        edit(&mut edited);
        assert_ne!(compile_one(&edited).checksum, before.checksum);
    }
    // A checksum stored in the old format still recognizes the unedited map, and only it.
    assert!(before.same_definition_as(&before.legacy_checksum));
    assert!(!after.same_definition_as(&before.legacy_checksum));
    assert!(after.same_definition_as(&before.checksum));
}

#[test]
fn maps_the_engine_could_not_run_are_refused_by_validation() {
    let maps = shipped();
    let base = maps.iter().find(|m| m.name == "actuals").unwrap();
    let mut bad_filter = base.clone();
    bad_filter.operational.filter = Some("msdyn_amount == 1".into());
    assert!(checked_with(&bad_filter).unwrap_err().contains("filter syntax"));
    let mut bad_key = base.clone();
    bad_key.accounting.key.push("Nope".into());
    assert!(
        checked_with(&bad_key)
            .unwrap_err()
            .contains("accounting key column `Nope` is not mapped by any field")
    );
    let mut bad_decimal = base.clone();
    if let Some(f) = bad_decimal
        .fields
        .iter_mut()
        .find(|f| f.field_type == FieldType::Decimal)
    {
        f.scale = None;
    }
    assert!(
        checked_with(&bad_decimal)
            .unwrap_err()
            .contains("a decimal field needs `precision` and `scale`")
    );
    let mut bad_code = base.clone();
    if let Some(v) = bad_code.fields.iter_mut().find_map(|f| f.values.as_mut()) {
        v.insert("x".into(), "X".into());
    }
    assert!(
        checked_with(&bad_code)
            .unwrap_err()
            .contains("option-set code \"x\" is not a whole number")
    );
}
