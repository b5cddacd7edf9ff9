//! Expense and item forecasts, the pairing: which cost estimate line goes with which sales
//! estimate line into ONE forecast, and which existing forecast each pair (or single line)
//! keeps.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::lines::{Line, LineSide, MergedForecast, PairKey};

/// One forecast to be: a cost line and/or a sales line (indexes into the staged lines), and
/// the existing forecast that holds it (an index into the forecasts), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Merge {
    pub(super) cost: Option<usize>,
    pub(super) sales: Option<usize>,
    pub(super) forecast: Option<usize>,
}

/// The pairing.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Pairing {
    pub(super) merges: Vec<Merge>,
    /// Forecasts no estimate line holds any more: to delete.
    pub(super) unused: Vec<usize>,
    /// Lines that are neither cost nor sales estimate lines, with the reason.
    pub(super) errors: Vec<(usize, String)>,
}

/// Pairs cost lines with sales lines and each pair (or single line) with its forecast.
///
/// Lines pair within their `PairKey` group. A pair an existing forecast already holds stays
/// together; the other lines of a group pair by equal quantity first, then in line-id order;
/// what is left over forms a forecast of its own (cost only, or sales only). A pair or single
/// line keeps the forecast that holds its cost line, else the one that holds its sales line,
/// else gets a new one. Forecasts left without lines are deleted, except those that hold a
/// line in error, which are left as they are.
pub(super) fn pair(lines: &[Line], forecasts: &[MergedForecast]) -> Pairing {
    let mut out = Pairing::default();
    let mut groups: BTreeMap<PairKey, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(category) = &line.foreign_category {
            out.errors.push((
                i,
                format!(
                    "the expense category {category} belongs to another legal entity than the project's; choose one of \
                     the project's legal entity (the line is not forecast)"
                ),
            ));
            continue;
        }
        match line.side() {
            Some(LineSide::Cost) => groups.entry(line.key()).or_default().0.push(i),
            Some(LineSide::Sales) => groups.entry(line.key()).or_default().1.push(i),
            None => out.errors.push((
                i,
                format!(
                    "transaction type {} is neither Cost nor UnbilledSales; the line is not forecast",
                    line.trans_type.as_deref().unwrap_or("(none)")
                ),
            )),
        }
    }
    let mut by_cost: HashMap<Uuid, usize> = HashMap::new();
    let mut by_sales: HashMap<Uuid, usize> = HashMap::new();
    for (f, forecast) in forecasts.iter().enumerate() {
        if let Some(c) = forecast.values.cost_line {
            by_cost.entry(c).or_insert(f);
        }
        if let Some(s) = forecast.values.sales_line {
            by_sales.entry(s).or_insert(f);
        }
    }
    let mut used = vec![false; forecasts.len()];
    for (_, (mut costs, mut sales)) in groups {
        costs.sort_by_key(|&i| lines[i].id);
        sales.sort_by_key(|&i| lines[i].id);
        // Pairs an existing forecast holds.
        let mut rest = Vec::new();
        for c in costs {
            let kept = by_cost.get(&lines[c].id).and_then(|&f| {
                let s_id = forecasts[f].values.sales_line?;
                let pos = sales.iter().position(|&s| lines[s].id == s_id)?;
                (!used[f]).then_some((f, pos))
            });
            match kept {
                Some((f, pos)) => {
                    used[f] = true;
                    out.merges.push(Merge {
                        cost: Some(c),
                        sales: Some(sales.remove(pos)),
                        forecast: Some(f),
                    });
                }
                None => rest.push(c),
            }
        }
        // New pairs: equal quantity first, then in id order; the rest alone.
        let mut unmatched = Vec::new();
        for c in rest {
            match sales.iter().position(|&s| lines[s].quantity == lines[c].quantity) {
                Some(pos) => out.merges.push(Merge {
                    cost: Some(c),
                    sales: Some(sales.remove(pos)),
                    forecast: None,
                }),
                None => unmatched.push(c),
            }
        }
        let mut sales = sales.into_iter();
        for c in unmatched {
            out.merges.push(Merge {
                cost: Some(c),
                sales: sales.next(),
                forecast: None,
            });
        }
        out.merges.extend(sales.map(|s| Merge {
            cost: None,
            sales: Some(s),
            forecast: None,
        }));
    }
    for m in out.merges.iter_mut().filter(|m| m.forecast.is_none()) {
        let candidates = [
            m.cost.and_then(|c| by_cost.get(&lines[c].id)),
            m.sales.and_then(|s| by_sales.get(&lines[s].id)),
        ];
        if let Some(&f) = candidates.into_iter().flatten().find(|&&f| !used[f]) {
            used[f] = true;
            m.forecast = Some(f);
        }
    }
    for (i, _) in &out.errors {
        let id = lines[*i].id;
        for f in [by_cost.get(&id), by_sales.get(&id)].into_iter().flatten() {
            used[*f] = true;
        }
    }
    out.unused = (0..forecasts.len()).filter(|&f| !used[f]).collect();
    out
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::accounting::forecasts::lines::MergedValues;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn line(n: u128, side: &str, category: u128, quantity: i64) -> Line {
        Line {
            id: id(n),
            project: Some(id(1000)),
            task: Some(id(2000)),
            category: Some(id(category)),
            trans_type: Some(side.to_string()),
            quantity: Some(Decimal::from(quantity)),
            ..Line::default()
        }
    }

    fn forecast(cost: Option<u128>, sales: Option<u128>) -> MergedForecast {
        MergedForecast {
            trans_id: format!("T{cost:?}{sales:?}"),
            values: MergedValues {
                cost_line: cost.map(id),
                sales_line: sales.map(id),
                ..MergedValues::default()
            },
        }
    }

    fn pairs(lines: &[Line], p: &Pairing) -> Vec<(Option<Uuid>, Option<Uuid>, Option<usize>)> {
        let mut v: Vec<_> = p
            .merges
            .iter()
            .map(|m| (m.cost.map(|i| lines[i].id), m.sales.map(|i| lines[i].id), m.forecast))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn cost_and_sales_lines_of_one_estimate_pair() {
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "UnbilledSales", 7, 3),
            line(3, "Cost", 8, 4),
            line(4, "UnbilledSales", 8, 4),
        ];
        let p = pair(&lines, &[]);
        assert_eq!(
            pairs(&lines, &p),
            vec![(Some(id(1)), Some(id(2)), None), (Some(id(3)), Some(id(4)), None)]
        );
        assert!(p.unused.is_empty() && p.errors.is_empty());
    }

    #[test]
    fn equal_quantities_pair_first_and_leftovers_stand_alone() {
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "Cost", 7, 5),
            line(3, "UnbilledSales", 7, 5),
            line(4, "Cost", 7, 9),
        ];
        let p = pair(&lines, &[]);
        assert_eq!(
            pairs(&lines, &p),
            vec![
                (Some(id(1)), None, None),
                (Some(id(2)), Some(id(3)), None),
                (Some(id(4)), None, None)
            ]
        );
    }

    #[test]
    fn existing_pairs_and_forecasts_are_kept() {
        // Two identical estimates: the pairs the forecasts hold win over the id order.
        let lines = [
            line(1, "Cost", 7, 3),
            line(2, "Cost", 7, 3),
            line(3, "UnbilledSales", 7, 3),
            line(4, "UnbilledSales", 7, 3),
        ];
        let forecasts = [forecast(Some(1), Some(4)), forecast(Some(2), Some(3))];
        let p = pair(&lines, &forecasts);
        assert_eq!(
            pairs(&lines, &p),
            vec![(Some(id(1)), Some(id(4)), Some(0)), (Some(id(2)), Some(id(3)), Some(1))]
        );
        // A sales line arriving for a cost-only forecast joins it; a forecast whose lines are
        // gone is deleted.
        let lines = [line(1, "Cost", 7, 3), line(3, "UnbilledSales", 7, 3)];
        let forecasts = [forecast(Some(1), None), forecast(Some(9), Some(10))];
        let p = pair(&lines, &forecasts);
        assert_eq!(pairs(&lines, &p), vec![(Some(id(1)), Some(id(3)), Some(0))]);
        assert_eq!(p.unused, vec![1]);
    }

    #[test]
    fn different_keys_do_not_pair_and_bad_types_are_errors() {
        let mut other_task = line(2, "UnbilledSales", 7, 3);
        other_task.task = Some(id(2001));
        let lines = [line(1, "Cost", 7, 3), other_task, line(3, "BilledSales", 7, 3)];
        let forecasts = [forecast(None, Some(3))];
        let p = pair(&lines, &forecasts);
        assert_eq!(
            pairs(&lines, &p),
            vec![(None, Some(id(2)), None), (Some(id(1)), None, None)]
        );
        assert_eq!(p.errors.len(), 1);
        // The forecast holding the line in error is left alone.
        assert!(p.unused.is_empty());
    }
}
