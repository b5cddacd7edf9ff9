//! Expense and item forecasts, the writing: the forecast values of a pair (or single line),
//! what each forecast needs (`plan_merge`), and the run over one legal entity and one kind
//! (`lines`) that reads the rows, pairs them, writes what differs and deletes what is gone.

use std::collections::HashMap;

use uuid::Uuid;

use super::common::{Company, Done, currency, delete, record, take_trans_id};
use super::lines::{
    Line, LineKind, LineSide, MergedForecast, MergedValues, merged_args, merged_columns, merged_forecast, merged_types,
    staged_line, staged_line_types, staged_lines_sql,
};
use super::pairing::{Merge, pair};
use crate::accounting::db::{Db, boolean, guid, text, value};
use crate::accounting::joblog::Job;
use crate::store::Result;
use crate::value::{Value, ValueType};

/// The forecast values of a pair (or of a single line).
fn merged_values(
    kind: LineKind,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    cost: Option<&Line>,
    sales: Option<&Line>,
) -> std::result::Result<MergedValues, String> {
    let Some(first) = cost.or(sales) else {
        return Err("no estimate line".to_string());
    };
    let code = match (cost.and_then(|l| l.currency), sales.and_then(|l| l.currency)) {
        (Some(c), Some(s)) if c != s => {
            return Err(format!(
                "the cost line is in currency {c} and the sales line {} in {s}; a forecast has one currency",
                sales.map(|l| l.id).unwrap_or_default()
            ));
        }
        (c, s) => currency(currencies, c.or(s))?,
    };
    let (category_id, shared) = company.category(first.category, kind.category_type)?;
    Ok(MergedValues {
        cost_line: cost.map(|l| l.id),
        sales_line: sales.map(|l| l.id),
        project: first.project,
        task: first.task,
        product: first.product,
        category_id: Some(category_id),
        shared_category: kind.shared_category.then_some(shared),
        from: first.start,
        to: first.end,
        quantity: cost.and_then(|l| l.quantity).or(sales.and_then(|l| l.quantity)),
        cost_price: cost.and_then(|l| l.price),
        cost_amount: cost.and_then(|l| l.amount),
        sales_price: sales.and_then(|l| l.price),
        sales_amount: sales.and_then(|l| l.amount),
        currency: code,
        description: cost
            .and_then(|l| l.description.clone())
            .or_else(|| sales.and_then(|l| l.description.clone())),
    })
}

/// What one merge needs.
#[derive(Debug, Default)]
struct MergePlan {
    /// Insert (no forecast yet) or update the forecast with these values.
    write: Option<MergedValues>,
    /// Lines whose `IsProcessed` changes, with the new value.
    processed: Vec<(Uuid, bool)>,
    error: Option<String>,
}

fn plan_merge(
    kind: LineKind,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    lines: &[Line],
    forecasts: &[MergedForecast],
    m: &Merge,
) -> MergePlan {
    let cost = m.cost.map(|i| &lines[i]);
    let sales = m.sales.map(|i| &lines[i]);
    let members = cost.into_iter().chain(sales);
    match merged_values(kind, company, currencies, cost, sales) {
        Ok(values) => MergePlan {
            write: match m.forecast {
                Some(f) if forecasts[f].values == values => None,
                _ => Some(values),
            },
            processed: members.filter(|l| !l.processed).map(|l| (l.id, true)).collect(),
            error: None,
        },
        Err(e) => MergePlan {
            write: None,
            processed: members.filter(|l| l.processed).map(|l| (l.id, false)).collect(),
            error: Some(format!(
                "{} {}: {e}; the forecast is not updated",
                kind.what,
                [cost, sales]
                    .into_iter()
                    .flatten()
                    .map(|l| format!(
                        "{} line {}",
                        if l.side() == Some(LineSide::Cost) {
                            "cost"
                        } else {
                            "sales"
                        },
                        l.id
                    ))
                    .collect::<Vec<_>>()
                    .join(" + ")
            )),
        },
    }
}

pub(super) async fn lines(
    db: &Db,
    company: &Company,
    currencies: &HashMap<Uuid, String>,
    kind: LineKind,
    job: &mut Job,
) -> Result<()> {
    let lines: Vec<Line> = db
        .fetch(&staged_lines_sql(kind), &[text(&company.id)], &staged_line_types(kind))
        .await?
        .into_iter()
        .filter_map(|r| staged_line(kind, r))
        .collect();
    let columns = merged_columns(kind);
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let mut types = vec![ValueType::Text];
    types.extend(merged_types(kind));
    let forecasts: Vec<MergedForecast> = db
        .fetch(
            &format!(
                "SELECT \"TransId\", {} FROM \"{}\" WHERE \"DataAreaId\" = ? \
                 AND (\"CostEstimateLineId\" IS NOT NULL OR \"SalesEstimateLineId\" IS NOT NULL) ORDER BY \"TransId\"",
                quoted.join(", "),
                kind.forecast
            ),
            &[text(&company.id)],
            &types,
        )
        .await?
        .into_iter()
        .filter_map(|r| merged_forecast(kind, r))
        .collect();
    let pairing = pair(&lines, &forecasts);
    for (i, message) in &pairing.errors {
        let line = &lines[*i];
        job.error(
            db,
            Some(&company.id),
            Some(line.id),
            None,
            &format!("{} line {}: {message}", kind.what, line.id),
        )
        .await?;
    }
    for m in &pairing.merges {
        let plan = plan_merge(kind, company, currencies, &lines, &forecasts, m);
        let id = m.cost.or(m.sales).map(|i| lines[i].id).unwrap_or_default();
        if plan.write.is_none() && plan.processed.is_empty() && plan.error.is_none() {
            job.add("unchanged", 1);
            continue;
        }
        let existing = m.forecast.map(|f| forecasts[f].trans_id.as_str());
        let outcome = apply_merge(db, company, kind, existing, &plan).await;
        record(db, job, &company.id, id, kind.counter, outcome).await?;
    }
    for &f in &pairing.unused {
        let forecast = &forecasts[f];
        let id = forecast.values.cost_line.or(forecast.values.sales_line);
        delete(db, job, company, kind.forecast, kind.forecast, &forecast.trans_id, id).await?;
    }
    Ok(())
}

/// Writes one merge's forecast and its lines' flags in one transaction.
async fn apply_merge(
    db: &Db,
    company: &Company,
    kind: LineKind,
    existing: Option<&str>,
    plan: &MergePlan,
) -> Result<Done> {
    let mut tx = db.begin().await?;
    let mut done = Done {
        error: plan.error.clone(),
        ..Done::default()
    };
    if let Some(values) = &plan.write {
        let columns = merged_columns(kind);
        let mut args = merged_args(kind, values);
        args.push(value(&Value::DateTime(company.stamp), ValueType::DateTime));
        match existing {
            Some(trans_id) => {
                let sets: Vec<String> = columns.iter().map(|c| format!("\"{c}\" = ?")).collect();
                args.extend([text(&company.id), text(trans_id)]);
                tx.execute(
                    &format!(
                        "UPDATE \"{}\" SET {}, \"ModifiedDateTime\" = ? WHERE \"DataAreaId\" = ? AND \"TransId\" = ?",
                        kind.forecast,
                        sets.join(", ")
                    ),
                    &args,
                )
                .await?;
            }
            None => {
                let trans_id = take_trans_id(&mut tx, company).await?;
                let mut all = vec![text(&company.id), text(&trans_id)];
                all.extend(args);
                let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
                let marks = vec!["?"; all.len()].join(", ");
                tx.execute(
                    &format!(
                        "INSERT INTO \"{}\" (\"DataAreaId\", \"TransId\", {}, \"ModifiedDateTime\") VALUES ({marks})",
                        kind.forecast,
                        names.join(", ")
                    ),
                    &all,
                )
                .await?;
                done.created = true;
            }
        }
        done.written = true;
    }
    for (line, processed) in &plan.processed {
        tx.execute(
            &format!(
                "UPDATE \"{}\" SET \"IsProcessed\" = ? WHERE \"ProjectDataAreaId\" = ? AND \"EstimateLineId\" = ?",
                kind.staging
            ),
            &[boolean(*processed), text(&company.id), guid(*line)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}
