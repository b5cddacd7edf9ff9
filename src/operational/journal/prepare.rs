//! One entry journal line made ready to become an actual: its class and type checked, its
//! contract, contract line and customer worked out, its price defaulted, its amount computed
//! (`prepare`); Retainer lines checked to come in pairs (`retainer_pairs`); and the actual
//! written, with the worked-out values put back on the line (`record`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::prices::{self, Ask};
use crate::accounting::classes;
use crate::accounting::db::{
    Cells, Db, DbTx, date, dec, guid, int, now, opt_date, opt_dec, opt_guid, opt_int, opt_midnight, opt_text, text,
};
use crate::store::Result;
use crate::value::ValueType;

const QUANTITY_TIMES_PRICE: i64 = 192_350_000;
const FIXED_PRICE: i64 = 192_350_001;
const FIXED_PRICE_LINE: i64 = 192_350_001;
const UNBILLED_SALES_CREATED: i64 = 192_350_000;

/// The class names of the option codes (those of the actuals map).
fn class_name(code: i64) -> Option<&'static str> {
    Some(match code {
        192_350_000 => "Time",
        192_350_001 => "Expense",
        192_350_002 => "Material",
        192_350_003 => "Milestone",
        192_350_004 => "Fee",
        690_970_002 => "Tax",
        690_970_100 => "Retainer",
        _ => return None,
    })
}

fn type_name(code: i64) -> Option<&'static str> {
    Some(match code {
        192_350_000 => "Cost",
        192_350_005 => "UnbilledSales",
        192_350_006 => "BilledSales",
        192_350_007 => "ResourcingUnitCost",
        192_350_008 => "InterOrganizationalSales",
        _ => return None,
    })
}

/// One journal line as entered.
#[derive(Debug, Clone)]
pub(super) struct JournalLine {
    pub id: Uuid,
    pub number: i64,
    pub class: i64,
    pub trans_type: i64,
    pub project: Option<Uuid>,
    pub task: Option<Uuid>,
    pub category: Option<Uuid>,
    pub role: Option<Uuid>,
    pub resource: Option<Uuid>,
    pub product: Option<Uuid>,
    pub description: Option<String>,
    pub external_description: Option<String>,
    pub billing_type: Option<i64>,
    pub document_date: Option<NaiveDate>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub accounting_date: Option<NaiveDate>,
    pub contract: Option<Uuid>,
    pub contract_line: Option<Uuid>,
    pub customer: Option<Uuid>,
    pub amount_method: i64,
    pub unit: Option<Uuid>,
    pub quantity: Option<Decimal>,
    pub price: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub currency: Option<Uuid>,
}

/// A line ready to record.
#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub line: JournalLine,
    pub class: &'static str,
    pub trans_type: &'static str,
    pub project: Uuid,
    pub day: NaiveDate,
    pub price: Option<Decimal>,
    pub amount: Decimal,
    pub currency: Option<Uuid>,
    pub external_description: Option<String>,
    pub note: Option<String>,
}

pub(super) async fn lines_of(db: &Db, journal: Uuid) -> Result<Vec<JournalLine>> {
    use ValueType::{Date, Decimal as D, Guid as G, Int, Text as T};
    let rows = db
        .fetch(
            "SELECT msdyn_journallineid, msdyn_linenumber, msdyn_transactionclassification, msdyn_transactiontypecode, \
             msdyn_project, msdyn_task, msdyn_transactioncategory, msdyn_resourcecategory, msdyn_bookableresource, \
             msdyn_product, msdyn_description, msdyn_externaldescription, msdyn_billingtype, msdyn_documentdate, \
             msdyn_startdate, msdyn_enddate, msdyn_accountingdate, msdyn_salescontract, msdyn_salescontractlineid, \
             msdyn_accountcustomer, msdyn_amountmethod, msdyn_unit, msdyn_quantity, msdyn_price, msdyn_amount, msdyn_tax, \
             transactioncurrencyid FROM msdyn_journallines WHERE msdyn_journal = ? \
             ORDER BY msdyn_linenumber, msdyn_journallineid",
            &[guid(journal)],
            &[
                G, Int, Int, Int, G, G, G, G, G, G, T, T, Int, Date, Date, Date, Date, G, G, G, Int, G, D, D, D, D, G,
            ],
        )
        .await?;
    let mut out = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let mut c = Cells::new(row);
        let Some(id) = c.guid() else { continue };
        out.push(JournalLine {
            id,
            number: c.int().unwrap_or(i as i64 + 1),
            class: c.int().unwrap_or_default(),
            trans_type: c.int().unwrap_or_default(),
            project: c.guid(),
            task: c.guid(),
            category: c.guid(),
            role: c.guid(),
            resource: c.guid(),
            product: c.guid(),
            description: c.text(),
            external_description: c.text(),
            billing_type: c.int(),
            document_date: c.date(),
            start: c.date(),
            end: c.date(),
            accounting_date: c.date(),
            contract: c.guid(),
            contract_line: c.guid(),
            customer: c.guid(),
            amount_method: c.int().unwrap_or(QUANTITY_TIMES_PRICE),
            unit: c.guid(),
            quantity: c.dec(),
            price: c.dec(),
            amount: c.dec(),
            tax: c.dec(),
            currency: c.guid(),
        });
    }
    Ok(out)
}

/// A contract line of the project: (line, contract, billing method, includes time, expense,
/// material, fee).
type ContractLine = (Uuid, Uuid, Option<i64>, [bool; 4]);

async fn contract_lines(tx: &mut DbTx, project: Uuid) -> Result<Vec<ContractLine>> {
    use ValueType::{Bool, Guid, Int};
    let rows = tx
        .fetch(
            "SELECT salesorderdetailid, salesorderid, msdyn_billingmethod, msdyn_includetime, msdyn_includeexpense, \
             msdyn_includematerial, msdyn_includefee FROM salesorderdetails WHERE msdyn_project = ? \
             ORDER BY salesorderdetailid",
            &[guid(project)],
            &[Guid, Guid, Int, Bool, Bool, Bool, Bool],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let mut c = Cells::new(row);
            Some((
                c.guid()?,
                c.guid()?,
                c.int(),
                [c.boolean(), c.boolean(), c.boolean(), c.boolean()],
            ))
        })
        .collect())
}

/// Whether a contract line takes a class: its include flag, a fixed-price line for milestones,
/// any line for retainers.
fn takes(line: &ContractLine, class: &str) -> bool {
    let [time, expense, material, fee] = line.3;
    match class {
        "Time" => time,
        "Expense" => expense,
        "Material" => material,
        "Milestone" => line.2 == Some(FIXED_PRICE_LINE),
        "Fee" => fee,
        "Retainer" => true,
        _ => false,
    }
}

/// The line ready to record, or every reason it is not (`Err`).
pub(super) async fn prepare(
    tx: &mut DbTx,
    company: &str,
    l: &JournalLine,
    strict: bool,
) -> Result<std::result::Result<Prepared, String>> {
    let fail = |m: String| Ok(Err(m));
    // Class and type, as entry journals allow them when integrated.
    let (Some(class), Some(trans_type)) = (class_name(l.class), type_name(l.trans_type)) else {
        return fail(format!(
            "unknown transaction class {} or type {}",
            l.class, l.trans_type
        ));
    };
    if class == "Fee" {
        return fail("entry journals record Time, Expense, Material, Retainer, Milestone or Tax, not Fee".into());
    }
    if matches!(trans_type, "ResourcingUnitCost" | "InterOrganizationalSales") {
        return fail(format!(
            "transaction type {trans_type} is available on entry journals only in the Core scenario, not when \
             integrated with the accounting system; record it as Cost"
        ));
    }
    if class == "Retainer" && trans_type == "Cost" {
        return fail("a Retainer line is Unbilled Sales or Billed Sales".into());
    }
    if class == "Milestone" && trans_type != "BilledSales" {
        return fail("a Milestone line is Billed Sales only".into());
    }
    let Some(project) = l.project else {
        return fail("no project".into());
    };
    use ValueType::{Guid, Text};
    let found = tx
        .fetch(
            "SELECT msdyn_company, transactioncurrencyid FROM msdyn_projects WHERE msdyn_projectid = ?",
            &[guid(project)],
            &[Text, Guid],
        )
        .await?;
    let Some(mut p) = found.into_iter().next().map(Cells::new) else {
        return fail(format!("the project {project} does not exist"));
    };
    let (project_company, project_currency) = (p.text().unwrap_or_default(), p.guid());
    if project_company != company {
        return fail(format!(
            "the project {project} belongs to legal entity {project_company}, the journal to {company}"
        ));
    }
    let Some(day) = l.document_date.or(l.start) else {
        return fail("no document date".into());
    };
    // Contract line: the one given, else the project's one line that takes the class.
    let lines = contract_lines(tx, project).await?;
    let sales = trans_type != "Cost";
    let contract_line = match l.contract_line {
        Some(id) => match lines.iter().find(|c| c.0 == id) {
            Some(c) => Some(*c),
            None => return fail(format!("the contract line {id} is not a contract line of the project")),
        },
        None if class == "Tax" => None,
        None => {
            let fitting: Vec<&ContractLine> = lines.iter().filter(|c| takes(c, class)).collect();
            match fitting.as_slice() {
                [one] => Some(**one),
                [] if sales => {
                    return fail(format!(
                        "no contract line of the project takes {class}; a sales line needs one (set msdyn_salescontractlineid)"
                    ));
                }
                [] => None,
                _ if sales => {
                    return fail(format!(
                        "{} contract lines of the project take {class}; choose one (msdyn_salescontractlineid)",
                        fitting.len()
                    ));
                }
                _ => None,
            }
        }
    };
    let contract = l.contract.or(contract_line.as_ref().map(|c| c.1));
    if strict {
        let rule = contract_line.as_ref().and_then(|c| c.2).map(|m| match m {
            FIXED_PRICE_LINE => "Milestone",
            _ => "TimeAndMaterial",
        });
        if let Err(e) = classes::route(class, trans_type, rule) {
            return fail(format!("journal line improvements: {e}"));
        }
        for (set, allowed, field) in [
            (l.product.is_some(), class == "Material", "a product (Material only)"),
            (l.role.is_some(), class == "Time", "a role (Time only)"),
            (
                l.resource.is_some(),
                matches!(class, "Time" | "Expense"),
                "a bookable resource (Time and Expense only)",
            ),
        ] {
            if set && !allowed {
                return fail(format!("journal line improvements: a {class} line cannot have {field}"));
            }
        }
    }
    // The customer: the one given, else the contract's only funding source.
    let mut note = None;
    let mut customer = l.customer;
    if customer.is_none()
        && let Some(contract) = contract
    {
        let funders = tx
            .fetch(
                "SELECT msdyn_customer FROM msdyn_projectcontractsplitbillingrules WHERE msdyn_projectcontract = ? \
                 AND msdyn_customer IS NOT NULL",
                &[guid(contract)],
                &[Guid],
            )
            .await?;
        let customers: Vec<Uuid> = funders.into_iter().filter_map(|r| Cells::new(r).guid()).collect();
        match customers.as_slice() {
            [one] => customer = Some(*one),
            [] => {}
            many if trans_type == "UnbilledSales" => {
                note = Some(format!(
                    "the contract has {} customers and the line names none: its unbilled sales actual is not invoiced",
                    many.len()
                ))
            }
            _ => {}
        }
    }
    let (contract_price_list, contract_currency) = match contract {
        Some(c) => {
            let rows = tx
                .fetch(
                    "SELECT pricelevelid, transactioncurrencyid FROM salesorders WHERE salesorderid = ?",
                    &[guid(c)],
                    &[Guid, Guid],
                )
                .await?;
            rows.into_iter()
                .next()
                .map(|r| {
                    let mut c = Cells::new(r);
                    (c.guid(), c.guid())
                })
                .unwrap_or_default()
        }
        None => (None, None),
    };
    let mut currency = l.currency.or(contract_currency).or(project_currency);
    // Price and amount by the amount method.
    let (price, amount) = match l.amount_method {
        FIXED_PRICE => match l.amount {
            Some(a) => (Some(a), a),
            None => return fail("a fixed-price line needs an amount".into()),
        },
        QUANTITY_TIMES_PRICE => {
            let Some(quantity) = l.quantity else {
                return fail("no quantity (amount method: multiply quantity by price)".into());
            };
            let price = match l.price {
                Some(p) => p,
                None => {
                    let ask = Ask {
                        company,
                        sales,
                        contract_price_list,
                        day,
                        class,
                        role: l.role,
                        category: l.category,
                        product: l.product,
                        unit: l.unit,
                    };
                    match prices::default_price(tx, &ask).await? {
                        Ok((p, list_currency)) => {
                            match (currency, list_currency) {
                                (Some(c), Some(lc)) if c != lc => {
                                    return fail(format!(
                                        "the price list's currency {lc} is not the line's currency {c}; enter the price"
                                    ));
                                }
                                (None, lc) => currency = lc,
                                _ => {}
                            }
                            p
                        }
                        Err(why) => return fail(why),
                    }
                }
            };
            (Some(price), round(quantity * price, tx, currency).await?)
        }
        other => return fail(format!("unknown amount method {other}")),
    };
    let external_description = match (strict, &l.external_description) {
        (true, None) => l.description.clone(),
        (_, d) => d.clone(),
    };
    let mut line = l.clone();
    line.contract = contract;
    line.contract_line = contract_line.map(|c| c.0);
    line.customer = customer;
    line.accounting_date = l.accounting_date.or(Some(day));
    line.start = l.start.or(Some(day));
    line.end = l.end.or(Some(day));
    Ok(Ok(Prepared {
        line,
        class,
        trans_type,
        project,
        day,
        price,
        amount,
        currency,
        external_description,
        note,
    }))
}

/// `d` rounded to the currency's precision (2 when unknown).
async fn round(d: Decimal, tx: &mut DbTx, currency: Option<Uuid>) -> Result<Decimal> {
    let mut precision = 2;
    if let Some(c) = currency {
        let rows = tx
            .fetch(
                "SELECT CAST(currencyprecision AS BIGINT) FROM transactioncurrencies WHERE transactioncurrencyid = ?",
                &[guid(c)],
                &[ValueType::Int],
            )
            .await?;
        if let Some(p) = rows.into_iter().next().and_then(|r| Cells::new(r).int()) {
            precision = p.clamp(0, 4) as u32;
        }
    }
    // Stored at the scale of money columns (19,4), as every amount is.
    let mut r = d.round_dp(precision);
    r.rescale(4);
    Ok(r)
}

/// Retainer lines come in pairs: per project as many billed as unbilled sales Retainer lines.
pub(super) fn retainer_pairs(lines: &[Prepared]) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<Uuid, (usize, usize)> = Default::default();
    for p in lines.iter().filter(|p| p.class == "Retainer") {
        let c = counts.entry(p.project).or_default();
        match p.trans_type {
            "UnbilledSales" => c.0 += 1,
            _ => c.1 += 1,
        }
    }
    counts
        .into_iter()
        .filter(|(_, (unbilled, billed))| unbilled != billed)
        .map(|(project, (unbilled, billed))| {
            format!(
                "Retainer lines come as pairs of unbilled and billed sales: project {project} has {unbilled} unbilled and {billed} billed"
            )
        })
        .collect()
}

/// Writes the actual of `p` and puts what was worked out back on the journal line.
pub(super) async fn record(tx: &mut DbTx, company: &str, p: &Prepared) -> Result<()> {
    let l = &p.line;
    let actual = Uuid::new_v4();
    let tax = l.tax.unwrap_or_default();
    tx.execute(
        "INSERT INTO msdyn_actuals (msdyn_actualid, msdyn_company, msdyn_description, msdyn_externaldescription, \
         msdyn_documentdate, msdyn_startdatetime, msdyn_enddatetime, msdyn_accountingdate, msdyn_quantity, msdyn_price, \
         msdyn_amount, msdyn_amountmethod, transactioncurrencyid, msdyn_billingtype, msdyn_billingstatus, \
         msdyn_transactionclassification, msdyn_transactiontypecode, msdyn_project, msdyn_task, msdyn_transactioncategory, \
         msdyn_resourcecategory, msdyn_bookableresource, msdyn_salescontract, msdyn_salescontractlineid, \
         msdyn_accountcustomer, msdyn_unit) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            guid(actual),
            text(company),
            opt_text(l.description.as_deref()),
            opt_text(p.external_description.as_deref()),
            date(p.day),
            opt_midnight(l.start),
            opt_midnight(l.end),
            opt_date(l.accounting_date),
            opt_dec(l.quantity),
            opt_dec(p.price),
            dec(p.amount),
            int(l.amount_method),
            opt_guid(p.currency),
            opt_int(l.billing_type),
            opt_int((p.trans_type == "UnbilledSales").then_some(UNBILLED_SALES_CREATED)),
            int(l.class),
            int(l.trans_type),
            guid(p.project),
            opt_guid(l.task),
            opt_guid(l.category),
            opt_guid(l.role),
            opt_guid(l.resource),
            opt_guid(l.contract),
            opt_guid(l.contract_line),
            opt_guid(l.customer),
            opt_guid(l.unit),
        ],
    )
    .await?;
    tx.execute(
        "UPDATE msdyn_journallines SET msdyn_salescontract = ?, msdyn_salescontractlineid = ?, msdyn_accountcustomer = ?, \
         msdyn_price = ?, msdyn_amount = ?, msdyn_extendedamount = ?, msdyn_externaldescription = ?, \
         msdyn_accountingdate = ?, msdyn_startdate = ?, msdyn_enddate = ?, transactioncurrencyid = ?, msdyn_actual = ?, \
         modifiedon = ? WHERE msdyn_journallineid = ?",
        &[
            opt_guid(l.contract),
            opt_guid(l.contract_line),
            opt_guid(l.customer),
            opt_dec(p.price),
            dec(p.amount),
            dec(p.amount + tax),
            opt_text(p.external_description.as_deref()),
            opt_date(l.accounting_date),
            opt_date(l.start),
            opt_date(l.end),
            opt_guid(p.currency),
            guid(actual),
            now(),
            guid(l.id),
        ],
    )
    .await?;
    Ok(())
}
