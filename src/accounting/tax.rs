//! Sales tax, as the accounting system computes it: a line is taxed with every tax code that
//! is in both its sales tax group (`TaxGroupData`, the customer side) and its item sales tax
//! group (`TaxOnItem`, the item side), each code's amount rounded to the currency. Which groups
//! a line gets: the billing sales tax group of the project, else of the contract, else the
//! legal entity's parameter (`ProjParameters.SalesTaxGroup`); the item sales tax group of the
//! line's project category, or the milestone parameter for milestones. Only sales (unbilled and
//! billed) are taxed; cost carries no sales tax.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;

/// One tax code of a legal entity.
#[derive(Debug, Clone)]
pub struct TaxCode {
    /// Percent, e.g. 8.25.
    pub rate: Decimal,
    /// The main account credited with the tax at invoicing.
    pub account: String,
}

/// The tax setup of one legal entity.
#[derive(Debug, Clone, Default)]
pub struct TaxSetup {
    pub codes: HashMap<String, TaxCode>,
    /// Sales tax group -> its codes.
    pub groups: HashMap<String, BTreeSet<String>>,
    /// Item sales tax group -> its codes.
    pub item_groups: HashMap<String, BTreeSet<String>>,
}

/// The tax of one code on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub code: String,
    pub account: String,
    pub amount: Decimal,
}

impl TaxSetup {
    /// The tax of `amount` with these groups, per code (none when either group is empty), or
    /// why it cannot be computed: a group or a code that does not exist in the legal entity.
    /// `round` rounds an amount to the line's currency.
    pub fn compute(
        &self,
        company: &str,
        group: Option<&str>,
        item_group: Option<&str>,
        amount: Decimal,
        round: impl Fn(Decimal) -> Decimal,
    ) -> Result<Vec<TaxLine>, String> {
        let (Some(group), Some(item_group)) = (group, item_group) else {
            return Ok(Vec::new());
        };
        let customer = self.groups.get(group).ok_or_else(|| {
            format!("the sales tax group {group} does not exist in legal entity {company} (TaxGroupData)")
        })?;
        let item = self.item_groups.get(item_group).ok_or_else(|| {
            format!("the item sales tax group {item_group} does not exist in legal entity {company} (TaxOnItem)")
        })?;
        customer
            .intersection(item)
            .map(|code| {
                let c = self.codes.get(code).ok_or_else(|| {
                    format!(
                        "the tax code {code} of sales tax group {group} is not in TaxTable of legal entity {company}"
                    )
                })?;
                Ok(TaxLine {
                    code: code.clone(),
                    account: c.account.clone(),
                    amount: round(amount * c.rate / Decimal::ONE_HUNDRED),
                })
            })
            .collect()
    }
}

/// The sum of the tax lines.
pub fn total(lines: &[TaxLine]) -> Decimal {
    lines.iter().map(|l| l.amount).sum()
}

/// Whether a transaction type carries sales tax.
pub fn is_taxed(trans_type: &str) -> bool {
    matches!(trans_type, "UnbilledSales" | "BilledSales")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> TaxSetup {
        let mut t = TaxSetup::default();
        for (code, rate) in [("ST", "6.25"), ("CITY", "1.5"), ("VAT", "19")] {
            t.codes.insert(
                code.into(),
                TaxCode {
                    rate: rate.parse().unwrap(),
                    account: format!("TAX-{code}"),
                },
            );
        }
        t.groups.insert("TX".into(), ["ST".into(), "CITY".into()].into());
        t.item_groups
            .insert("SERVICE".into(), ["ST".into(), "CITY".into(), "VAT".into()].into());
        t.item_groups.insert("EXEMPT".into(), BTreeSet::new());
        t
    }

    #[test]
    fn codes_in_both_groups_each_rounded() {
        let round = |d: Decimal| d.round_dp(2);
        let lines = setup()
            .compute("USPM", Some("TX"), Some("SERVICE"), "123.45".parse().unwrap(), round)
            .unwrap();
        let amounts: Vec<(&str, String)> = lines.iter().map(|l| (l.code.as_str(), l.amount.to_string())).collect();
        // 123.45 x 1.5 % = 1.85175 -> 1.85; x 6.25 % = 7.7156 -> 7.72; VAT is not in TX.
        assert_eq!(amounts, [("CITY", "1.85".into()), ("ST", "7.72".into())]);
        assert_eq!(total(&lines), "9.57".parse::<Decimal>().unwrap());
    }

    #[test]
    fn no_group_no_tax_and_unknown_groups_named() {
        let t = setup();
        let round = |d: Decimal| d;
        assert!(
            t.compute("USPM", None, Some("SERVICE"), Decimal::TEN, round)
                .unwrap()
                .is_empty()
        );
        assert!(
            t.compute("USPM", Some("TX"), Some("EXEMPT"), Decimal::TEN, round)
                .unwrap()
                .is_empty()
        );
        let e = t
            .compute("USPM", Some("NY"), Some("SERVICE"), Decimal::TEN, round)
            .unwrap_err();
        assert!(e.contains("sales tax group NY") && e.contains("USPM"), "{e}");
        let e = t
            .compute("USPM", Some("TX"), Some("GOODS"), Decimal::TEN, round)
            .unwrap_err();
        assert!(e.contains("item sales tax group GOODS"), "{e}");
    }
}
