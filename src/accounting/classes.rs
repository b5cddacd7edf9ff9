//! Transaction classes and types: where each staged actual goes (an integration journal line,
//! an invoice proposal line, or nowhere for the deprecated Tax class) and which class and type
//! combinations the specification forbids, refused with the reason. The rules are those of
//! "journal line improvements", which every actual of an integrated legal entity follows:
//!
//! | type | classes allowed | on a fixed-price contract line |
//! |---|---|---|
//! | Cost | Time, Expense, Material | the same |
//! | Unbilled sales | Time, Expense, Material, Fee, Retainer | Retainer only |
//! | Billed sales | Time, Expense, Material, Fee, Retainer | Retainer, Milestone |
//!
//! Milestone is billed sales on a fixed-price line only; Retainer comes as a pair of unbilled
//! and billed sales. Inter-organizational sales and resourcing unit cost are not available when
//! the legal entity is integrated with the accounting system.

/// Where a staged actual goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// An integration journal line (cost and unbilled sales).
    Journal,
    /// An invoice proposal line (billed sales).
    Invoice,
    /// Nowhere: the Tax class is deprecated, neither invoiced nor cost or revenue.
    NotPosted,
}

/// The route of an actual, or why its class and type cannot be recorded. `billing_rule` is the
/// contract line's billing rule (`TimeAndMaterial` or `Milestone`), when it has one.
pub fn route(class: &str, trans_type: &str, billing_rule: Option<&str>) -> Result<Route, String> {
    if class == "Tax" {
        return Ok(Route::NotPosted);
    }
    // The contract line's billing method, when known: fixed price (Some(true)) or T&M.
    let fixed_price = billing_rule.map(|r| r == "Milestone");
    let allowed: &[&str] = match (trans_type, fixed_price) {
        ("Cost", _) => &["Time", "Expense", "Material"],
        ("UnbilledSales", Some(true)) => &["Retainer"],
        ("UnbilledSales", _) => &["Time", "Expense", "Material", "Fee", "Retainer"],
        ("BilledSales", Some(true)) => &["Retainer", "Milestone"],
        ("BilledSales", Some(false)) => &["Time", "Expense", "Material", "Fee", "Retainer"],
        ("BilledSales", None) => &["Time", "Expense", "Material", "Fee", "Retainer", "Milestone"],
        ("InterOrganizationalSales" | "ResourcingUnitCost", _) => {
            return Err(format!(
                "transaction type {trans_type} is not available when the legal entity is integrated with the \
                 accounting system; record the transaction as cost and sales instead"
            ));
        }
        (other, _) => {
            return Err(format!(
                "transaction type {} cannot be posted: only Cost, UnbilledSales and BilledSales actuals reach the \
                 ledger",
                if other.is_empty() { "(none)" } else { other }
            ));
        }
    };
    if !allowed.contains(&class) {
        let line = match billing_rule {
            Some("Milestone") => " on a fixed-price contract line",
            Some(_) => " on a time-and-material contract line",
            None => "",
        };
        return Err(format!(
            "transaction class {} is not allowed with transaction type {trans_type}{line} (allowed: {}); correct \
             the actual on the operational side",
            if class.is_empty() { "(none)" } else { class },
            allowed.join(", ")
        ));
    }
    Ok(if trans_type == "BilledSales" {
        Route::Invoice
    } else {
        Route::Journal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_refusals() {
        assert_eq!(route("Time", "Cost", None), Ok(Route::Journal));
        assert_eq!(
            route("Retainer", "UnbilledSales", Some("Milestone")),
            Ok(Route::Journal)
        );
        assert_eq!(route("Retainer", "BilledSales", None), Ok(Route::Invoice));
        assert_eq!(route("Milestone", "BilledSales", Some("Milestone")), Ok(Route::Invoice));
        // Without a known contract line, a milestone is taken at its word.
        assert_eq!(route("Milestone", "BilledSales", None), Ok(Route::Invoice));
        assert_eq!(route("Tax", "Cost", None), Ok(Route::NotPosted));
        for (class, ttype, rule) in [
            ("Milestone", "UnbilledSales", None),
            ("Milestone", "BilledSales", Some("TimeAndMaterial")),
            ("Milestone", "Cost", None),
            ("Fee", "Cost", None),
            ("Retainer", "Cost", None),
            ("Time", "UnbilledSales", Some("Milestone")),
            ("Time", "InterOrganizationalSales", None),
            ("", "Cost", None),
        ] {
            let e = route(class, ttype, rule).unwrap_err();
            assert!(e.contains(ttype) || e.contains("(none)"), "{class} {ttype}: {e}");
        }
    }
}
