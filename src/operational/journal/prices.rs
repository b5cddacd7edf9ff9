//! Default prices of entry journal lines, from the price lists: the cost price list of the
//! legal entity for cost, the contract's sales price list (else the legal entity's) for sales;
//! in it the role's price for time, the transaction category's for expenses, the product's for
//! materials — for the line's unit, or a price for any unit.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::accounting::db::{Cells, DbTx, date, guid, int, opt_guid, text};
use crate::store::Result;
use crate::value::ValueType;

const COST: i64 = 192_350_000;
const SALES: i64 = 192_350_001;

/// What a price is looked up for.
pub(super) struct Ask<'a> {
    pub company: &'a str,
    pub sales: bool,
    pub contract_price_list: Option<Uuid>,
    pub day: NaiveDate,
    /// `Time`, `Expense` or `Material`.
    pub class: &'a str,
    pub role: Option<Uuid>,
    pub category: Option<Uuid>,
    pub product: Option<Uuid>,
    pub unit: Option<Uuid>,
}

/// The price and the price list's currency, or why there is none.
pub(super) async fn default_price(
    tx: &mut DbTx,
    a: &Ask<'_>,
) -> Result<std::result::Result<(Decimal, Option<Uuid>), String>> {
    let (table, list_column, item_column, unit_column, price_column, item, what) = match a.class {
        "Time" => (
            "msdyn_resourcecategorypricelevels",
            "msdyn_pricelist",
            "msdyn_resourcecategory",
            "msdyn_unit",
            "msdyn_price",
            a.role,
            "role",
        ),
        "Expense" => (
            "msdyn_transactioncategorypricelevels",
            "msdyn_pricelist",
            "msdyn_transactioncategory",
            "msdyn_unit",
            "msdyn_price",
            a.category,
            "transaction category",
        ),
        "Material" => (
            "productpricelevels",
            "pricelevelid",
            "productid",
            "uomid",
            "amount",
            a.product,
            "product",
        ),
        other => {
            return Ok(Err(format!(
                "a {other} line needs a price: there is no price list price for it"
            )));
        }
    };
    let Some(item) = item else {
        return Ok(Err(format!(
            "no price and no {what} to look one up by; enter the price or the {what}"
        )));
    };
    let Some((list, currency, name)) = price_list(tx, a).await? else {
        return Ok(Err(format!(
            "no price, and legal entity {} has no {} price list valid on {}",
            a.company,
            if a.sales { "sales" } else { "cost" },
            a.day
        )));
    };
    // The line's unit first, then a price for any unit.
    let rows = tx
        .fetch(
            &format!(
                "SELECT {price_column} FROM {table} WHERE {list_column} = ? AND {item_column} = ? \
                 AND ({unit_column} = ? OR {unit_column} IS NULL) ORDER BY CASE WHEN {unit_column} IS NULL THEN 1 ELSE 0 END"
            ),
            &[guid(list), guid(item), opt_guid(a.unit)],
            &[ValueType::Decimal],
        )
        .await?;
    match rows.into_iter().next().and_then(|r| Cells::new(r).dec()) {
        Some(price) => Ok(Ok((price, currency))),
        None => Ok(Err(format!(
            "no price, and price list {name} has none for the {what} {item}{}; enter the price or add it to the list",
            a.unit.map(|u| format!(" in unit {u}")).unwrap_or_default()
        ))),
    }
}

/// The price list that applies: for sales the contract's, else the legal entity's sales list;
/// for cost the legal entity's cost list; valid on the day.
async fn price_list(tx: &mut DbTx, a: &Ask<'_>) -> Result<Option<(Uuid, Option<Uuid>, String)>> {
    use ValueType::{Guid, Text};
    let valid = "(begindate IS NULL OR begindate <= ?) AND (enddate IS NULL OR enddate >= ?)";
    if a.sales
        && let Some(list) = a.contract_price_list
    {
        let rows = tx
            .fetch(
                &format!("SELECT pricelevelid, transactioncurrencyid, name FROM pricelevels WHERE pricelevelid = ? AND {valid}"),
                &[guid(list), date(a.day), date(a.day)],
                &[Guid, Guid, Text],
            )
            .await?;
        if let Some(row) = rows.into_iter().next() {
            let mut c = Cells::new(row);
            return Ok(c.guid().map(|id| (id, c.guid(), c.text().unwrap_or_default())));
        }
    }
    let rows = tx
        .fetch(
            &format!(
                "SELECT pricelevelid, transactioncurrencyid, name FROM pricelevels WHERE msdyn_company = ? \
                 AND msdyn_context = ? AND statecode = 0 AND {valid} ORDER BY begindate DESC, pricelevelid"
            ),
            &[
                text(a.company),
                int(if a.sales { SALES } else { COST }),
                date(a.day),
                date(a.day),
            ],
            &[Guid, Guid, Text],
        )
        .await?;
    Ok(rows.into_iter().next().and_then(|row| {
        let mut c = Cells::new(row);
        c.guid().map(|id| (id, c.guid(), c.text().unwrap_or_default()))
    }))
}
