//! The data itself: references resolve to rows emitted earlier, skip sync marks exactly the
//! documented cases, amounts and roll-ups are exact, the accounting prerequisites cover the
//! actuals, and GUIDs are unique.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;

#[test]
fn parents_precede_children() {
    let batches = all(&opts(2_000, 42), 64);
    let mut seen: HashMap<&'static str, HashSet<Uuid>> = HashMap::new();
    let key_of = |entity: &str| -> &'static str {
        match entity {
            "transactioncurrencies" => "transactioncurrencyid",
            "cdm_companies" => "cdm_companyid",
            "msdyn_organizationalunits" => "msdyn_organizationalunitid",
            "accounts" => "accountid",
            "bookableresourcecategories" => "bookableresourcecategoryid",
            "msdyn_transactioncategories" => "msdyn_transactioncategoryid",
            "salesorders" => "salesorderid",
            "msdyn_projectcontractsplitbillingrules" => "msdyn_projectcontractsplitbillingruleid",
            "msdyn_projects" => "msdyn_projectid",
            "salesorderdetails" => "salesorderdetailid",
            "msdyn_contractlinescheduleofvalues" => "msdyn_contractlinescheduleofvalueid",
            "msdyn_projecttasks" => "msdyn_projecttaskid",
            "msdyn_resourceassignments" => "msdyn_resourceassignmentid",
            "msdyn_estimatelines" => "msdyn_estimatelineid",
            "msdyn_actuals" => "msdyn_actualid",
            "msdyn_transactionconnections" => "msdyn_transactionconnectionid",
            "invoices" => "invoiceid",
            "pricelevels" => "pricelevelid",
            "msdyn_resourcecategorypricelevels" => "msdyn_resourcecategorypricelevelid",
            "msdyn_transactioncategorypricelevels" => "msdyn_transactioncategorypricelevelid",
            "productpricelevels" => "productpricelevelid",
            "msdyn_journals" => "msdyn_journalid",
            "msdyn_journallines" => "msdyn_journallineid",
            other => panic!("unexpected table {other}"),
        }
    };
    // (child table, column, parent table)
    let references: &[(&str, &str, &str)] = &[
        (
            "msdyn_organizationalunits",
            "transactioncurrencyid",
            "transactioncurrencies",
        ),
        ("accounts", "transactioncurrencyid", "transactioncurrencies"),
        ("salesorders", "customerid", "accounts"),
        (
            "salesorders",
            "msdyn_contractorganizationalunitid",
            "msdyn_organizationalunits",
        ),
        (
            "msdyn_projectcontractsplitbillingrules",
            "msdyn_projectcontract",
            "salesorders",
        ),
        ("msdyn_projectcontractsplitbillingrules", "msdyn_customer", "accounts"),
        ("msdyn_projects", "msdyn_customer", "accounts"),
        ("salesorderdetails", "salesorderid", "salesorders"),
        ("salesorderdetails", "msdyn_project", "msdyn_projects"),
        (
            "msdyn_contractlinescheduleofvalues",
            "msdyn_contractline",
            "salesorderdetails",
        ),
        ("msdyn_projecttasks", "msdyn_project", "msdyn_projects"),
        ("msdyn_projecttasks", "msdyn_parenttask", "msdyn_projecttasks"),
        ("msdyn_resourceassignments", "msdyn_projectid", "msdyn_projects"),
        ("msdyn_resourceassignments", "msdyn_taskid", "msdyn_projecttasks"),
        ("msdyn_estimatelines", "msdyn_project", "msdyn_projects"),
        ("msdyn_estimatelines", "msdyn_task", "msdyn_projecttasks"),
        (
            "msdyn_estimatelines",
            "msdyn_transactioncategory",
            "msdyn_transactioncategories",
        ),
        ("invoices", "salesorderid", "salesorders"),
        ("invoices", "customerid", "accounts"),
        ("msdyn_actuals", "msdyn_invoice", "invoices"),
        ("msdyn_actuals", "msdyn_project", "msdyn_projects"),
        ("msdyn_actuals", "msdyn_task", "msdyn_projecttasks"),
        (
            "msdyn_actuals",
            "msdyn_transactioncategory",
            "msdyn_transactioncategories",
        ),
        ("msdyn_actuals", "msdyn_resourcecategory", "bookableresourcecategories"),
        ("msdyn_actuals", "msdyn_salescontract", "salesorders"),
        ("msdyn_actuals", "msdyn_salescontractlineid", "salesorderdetails"),
        (
            "msdyn_actuals",
            "msdyn_contractorganizationalunitid",
            "msdyn_organizationalunits",
        ),
        (
            "msdyn_actuals",
            "msdyn_resourceorganizationalunitid",
            "msdyn_organizationalunits",
        ),
        ("msdyn_actuals", "msdyn_accountcustomer", "accounts"),
        ("msdyn_actuals", "transactioncurrencyid", "transactioncurrencies"),
        ("pricelevels", "transactioncurrencyid", "transactioncurrencies"),
        ("msdyn_resourcecategorypricelevels", "msdyn_pricelist", "pricelevels"),
        (
            "msdyn_resourcecategorypricelevels",
            "msdyn_resourcecategory",
            "bookableresourcecategories",
        ),
        ("msdyn_transactioncategorypricelevels", "msdyn_pricelist", "pricelevels"),
        (
            "msdyn_transactioncategorypricelevels",
            "msdyn_transactioncategory",
            "msdyn_transactioncategories",
        ),
        ("productpricelevels", "pricelevelid", "pricelevels"),
        ("msdyn_journallines", "msdyn_journal", "msdyn_journals"),
        ("msdyn_journallines", "msdyn_project", "msdyn_projects"),
        (
            "msdyn_journallines",
            "msdyn_resourcecategory",
            "bookableresourcecategories",
        ),
        ("msdyn_journallines", "transactioncurrencyid", "transactioncurrencies"),
        ("msdyn_transactionconnections", "msdyn_transaction1", "msdyn_actuals"),
        ("msdyn_transactionconnections", "msdyn_transaction2", "msdyn_actuals"),
    ];
    let mut checked = 0;
    for batch in &batches {
        for row in &batch.rows {
            let r: HashMap<&str, &Value> = batch.columns.iter().copied().zip(row).collect();
            for &(child, column, parent) in references {
                if child != batch.entity || r[column].is_null() {
                    continue;
                }
                assert!(
                    seen.get(parent).is_some_and(|ids| ids.contains(&g(r[column]))),
                    "{child}.{column} refers to a {parent} row not emitted before"
                );
                checked += 1;
            }
            let key = g(r[key_of(batch.entity)]);
            assert!(seen.entry(batch.entity).or_default().insert(key), "duplicate key");
        }
    }
    assert!(checked > 10_000, "{checked}");
    // Task trees are at least three levels deep (four here).
    let tasks = rows(&batches, "msdyn_projecttasks");
    let parent: HashMap<Uuid, Option<Uuid>> = tasks
        .iter()
        .map(|t| {
            let p = t["msdyn_parenttask"];
            (g(t["msdyn_projecttaskid"]), (!p.is_null()).then(|| g(p)))
        })
        .collect();
    let depth = |mut id: Uuid| {
        let mut n = 1;
        while let Some(p) = parent[&id] {
            id = p;
            n += 1;
        }
        n
    };
    assert_eq!(parent.keys().map(|&id| depth(id)).max(), Some(4));
}

#[test]
fn skip_sync_marks_exactly_the_documented_cases() {
    let o = opts(10_000, 42);
    let batches = all(&o, 1_000);
    let unit_company: HashMap<Uuid, String> = rows(&batches, "msdyn_organizationalunits")
        .iter()
        .map(|u| (g(u["msdyn_organizationalunitid"]), s(u["msdyn_company"]).to_string()))
        .collect();
    let actuals = rows(&batches, "msdyn_actuals");
    let (mut intercompany, mut negative) = (0u64, 0u64);
    let mut sales: HashSet<(Uuid, Decimal, Decimal)> = HashSet::new();
    for r in &actuals {
        let ttype = i(r["msdyn_transactiontypecode"]);
        let amount = d(r["msdyn_amount"]);
        let res_unit = r["msdyn_resourceorganizationalunitid"];
        let is_intercompany_cost =
            ttype == 192_350_000 && !res_unit.is_null() && unit_company[&g(res_unit)] != s(r["msdyn_company"]);
        let is_negative_unbilled = ttype == 192_350_005 && amount < Decimal::ZERO;
        assert_eq!(
            b(r["msdyn_skipsync"]),
            is_intercompany_cost || is_negative_unbilled,
            "{r:?}"
        );
        intercompany += u64::from(is_intercompany_cost);
        negative += u64::from(is_negative_unbilled);
        let key = (g(r["msdyn_project"]), d(r["msdyn_price"]), d(r["msdyn_quantity"]));
        if ttype == 192_350_005 && amount > Decimal::ZERO {
            sales.insert(key);
        }
        if is_negative_unbilled {
            // It reverses an unbilled sales actual emitted before it.
            assert!(sales.contains(&(key.0, key.1, -key.2)));
        }
        // Written-back attributes stay empty.
        for col in [
            "msdyn_accountingamount",
            "msdyn_accountingexchangerate",
            "msdyn_vouchernumber",
            "msdyn_salestaxamount",
        ] {
            assert!(r.get(col).is_none_or(|v| v.is_null()));
        }
    }
    let sum = summary(&o);
    assert_eq!(intercompany, sum.actuals.skipped_intercompany_cost);
    assert_eq!(negative, sum.actuals.skipped_negative_unbilled_sales);
    let total = actuals.len() as f64;
    let (ic, neg) = (intercompany as f64 / total, negative as f64 / total);
    assert!((0.015..=0.025).contains(&ic), "intercompany share {ic}");
    assert!((0.005..=0.015).contains(&neg), "negative unbilled share {neg}");
}

#[test]
fn amounts_and_rollups_are_exact() {
    let batches = all(&opts(3_000, 42), 500);
    let company_currency: HashMap<String, Uuid> = {
        let cur: HashMap<String, Uuid> = rows(&batches, "transactioncurrencies")
            .iter()
            .map(|c| (s(c["isocurrencycode"]).to_string(), g(c["transactioncurrencyid"])))
            .collect();
        [("USPM", "USD"), ("DEMF", "EUR")]
            .into_iter()
            .map(|(c, iso)| (c.to_string(), cur[iso]))
            .collect()
    };
    for table in ["msdyn_actuals", "msdyn_estimatelines"] {
        for r in rows(&batches, table) {
            let expected = fit(d(r["msdyn_quantity"]) * d(r["msdyn_price"]), 4);
            assert_eq!(d(r["msdyn_amount"]), expected);
            assert_eq!(g(r["transactioncurrencyid"]), company_currency[s(r["msdyn_company"])]);
        }
    }
    // Summary tasks sum their children's effort.
    let tasks = rows(&batches, "msdyn_projecttasks");
    let mut children: HashMap<Uuid, Decimal> = HashMap::new();
    for t in &tasks {
        if !t["msdyn_parenttask"].is_null() {
            *children.entry(g(t["msdyn_parenttask"])).or_default() += d(t["msdyn_effort"]);
        }
    }
    for t in &tasks {
        if let Some(sum) = children.get(&g(t["msdyn_projecttaskid"])) {
            assert_eq!(*sum, d(t["msdyn_effort"]));
        }
    }
    // Milestones add up to their fixed-price line.
    let mut per_line: HashMap<Uuid, Decimal> = HashMap::new();
    for m in rows(&batches, "msdyn_contractlinescheduleofvalues") {
        *per_line.entry(g(m["msdyn_contractline"])).or_default() += d(m["msdyn_amount"]);
    }
    let lines = rows(&batches, "salesorderdetails");
    for l in &lines {
        let method = l["msdyn_billingmethod"];
        if !method.is_null() && i(method) == 192_350_001 {
            assert_eq!(per_line[&g(l["salesorderdetailid"])], d(l["extendedamount"]));
        }
    }
    let methods: HashSet<Option<i64>> = lines
        .iter()
        .map(|l| (!l["msdyn_billingmethod"].is_null()).then(|| i(l["msdyn_billingmethod"])))
        .collect();
    assert_eq!(methods, HashSet::from([Some(192_350_000), Some(192_350_001), None]));
    // Expense estimates come as a cost and a sales line.
    let estimates = rows(&batches, "msdyn_estimatelines");
    for class in [192_350_001, 192_350_002] {
        for ttype in [192_350_000, 192_350_005] {
            let n = estimates
                .iter()
                .filter(|e| {
                    i(e["msdyn_transactionclassification"]) == class && i(e["msdyn_transactiontypecode"]) == ttype
                })
                .count();
            assert!(n > 0, "class {class} type {ttype}");
        }
    }
}

#[test]
fn accounting_master_data_supports_the_actuals() {
    let o = SeedOptions::default();
    let acct = accounting(&o);
    let ops = all(&opts(0, o.seed), 1_000);
    // Exchange rates: for every day of every fiscal month, exactly one rate per ordered pair.
    let rates = rows(&acct, "ExchangeRate");
    for m in 0..FISCAL_MONTHS {
        for day in [month_start(m), month_end(m)] {
            for from in CURRENCIES {
                for to in CURRENCIES {
                    let hits: Vec<Decimal> = rates
                        .iter()
                        .filter(|r| {
                            s(r["FromCurrencyCode"]) == from
                                && s(r["ToCurrencyCode"]) == to
                                && date(r["ValidFrom"]) <= day
                                && (r["ValidTo"].is_null() || date(r["ValidTo"]) >= day)
                        })
                        .map(|r| d(r["Rate"]))
                        .collect();
                    assert_eq!(hits.len(), 1, "{from}->{to} on {day}");
                    assert!(hits[0] > Decimal::ZERO);
                }
            }
        }
    }
    let usd_eur: HashSet<Decimal> = rates
        .iter()
        .filter(|r| s(r["FromCurrencyCode"]) == "USD" && s(r["ToCurrencyCode"]) == "EUR")
        .map(|r| d(r["Rate"]))
        .collect();
    assert!(usd_eur.len() > 3, "rates vary by month");
    // Fiscal periods: contiguous, exactly one closed per company, the first month.
    let periods = rows(&acct, "LedgerFiscalPeriod");
    for company in COMPANIES {
        let mine: Vec<_> = periods.iter().filter(|p| s(p["DataAreaId"]) == company).collect();
        assert_eq!(mine.len(), FISCAL_MONTHS as usize);
        let closed: Vec<_> = mine.iter().filter(|p| s(p["Status"]) == "Closed").collect();
        assert_eq!(closed.len(), 1);
        assert_eq!(date(closed[0]["StartDate"]), first_month());
        for w in mine.windows(2) {
            assert_eq!(date(w[0]["EndDate"]).succ_opt(), Some(date(w[1]["StartDate"])));
        }
        assert!(date(mine.last().expect("periods")["EndDate"]) > month_end(ACTUAL_MONTHS - 1));
    }
    // Project categories reference the operational transaction categories.
    let op_categories: HashSet<Uuid> = rows(&ops, "msdyn_transactioncategories")
        .iter()
        .map(|c| g(c["msdyn_transactioncategoryid"]))
        .collect();
    let categories = rows(&acct, "ProjCategory");
    let shared: HashSet<Uuid> = categories.iter().map(|c| g(c["SharedCategoryId"])).collect();
    assert_eq!(shared, op_categories);
    let unique: HashSet<(String, Uuid, String)> = categories
        .iter()
        .map(|c| {
            (
                s(c["DataAreaId"]).to_string(),
                g(c["SharedCategoryId"]),
                s(c["TransactionType"]).to_string(),
            )
        })
        .collect();
    assert_eq!(unique.len(), categories.len());
    // Currencies resolve the operational currency GUIDs.
    let op_currencies: HashSet<Uuid> = rows(&ops, "transactioncurrencies")
        .iter()
        .map(|c| g(c["transactioncurrencyid"]))
        .collect();
    let acct_currencies: HashSet<Uuid> = rows(&acct, "Currency")
        .iter()
        .map(|c| g(c["TransactionCurrencyId"]))
        .collect();
    assert_eq!(op_currencies, acct_currencies);
    // Parameters point at existing categories, sequences and line properties.
    for p in rows(&acct, "ProjParameters") {
        let company = s(p["DataAreaId"]);
        assert!(
            categories
                .iter()
                .any(|c| s(c["DataAreaId"]) == company && s(c["CategoryId"]) == s(p["DefaultProjectCategoryId"]))
        );
        for code in [
            "VoucherNumberSequenceCode",
            "JournalNumberSequenceCode",
            "TransIdNumberSequenceCode",
        ] {
            assert!(
                rows(&acct, "NumberSequenceTable")
                    .iter()
                    .any(|n| s(n["DataAreaId"]) == company && s(n["NumberSequenceCode"]) == s(p[code]))
            );
        }
    }
    let units: HashSet<String> = rows(&acct, "ProjParameters")
        .iter()
        .map(|p| s(p["IntegrationJournalPeriodUnit"]).to_string())
        .collect();
    assert_eq!(units, HashSet::from(["Months".to_string(), "Days".to_string()]));
    let properties: HashSet<(String, String)> = rows(&acct, "ProjLineProperty")
        .iter()
        .map(|p| (s(p["DataAreaId"]).to_string(), s(p["LinePropertyId"]).to_string()))
        .collect();
    for m in rows(&acct, "ProjCDSLinePropertyMapping") {
        assert!(properties.contains(&(s(m["DataAreaId"]).to_string(), s(m["LinePropertyId"]).to_string())));
    }
}

#[test]
fn guids_are_unique_and_version_4() {
    let batches = all(&opts(5_000, 42), 1_000);
    let mut seen = HashSet::new();
    for batch in &batches {
        // Every operational table is keyed by its first column, a GUID.
        for row in &batch.rows {
            let id = g(&row[0]);
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(seen.insert(id), "duplicate id in {}", batch.entity);
        }
    }
    assert_eq!(guid(42, "project", 0), guid(42, "project", 0));
    assert_ne!(guid(42, "project", 0), guid(42, "project", 1));
    assert_ne!(guid(42, "project", 0), guid(43, "project", 0));
    assert_ne!(guid(42, "project", 0), guid(42, "contract", 0));
}
