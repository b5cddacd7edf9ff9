//! `dualsync operational ...`: open the configured operational store (a database) and approve
//! pending expenses and vendor invoice lines into cost actuals, confirm entry journals, or list
//! them.

use crate::accounting::db::Db;
use crate::config::Config;
use crate::error::{Context, Error, Result};

/// The configured operational store, when it is a database with the reference schema's
/// expense and vendor invoice tables.
async fn open(config: &Config) -> Result<Db> {
    let url = crate::store::sql::redact(&config.operational.url);
    if config.operational.kind.is_http() {
        return Err(Error::usage(format!(
            "the operational store is {url} (`operational.kind` = \"{}\"): approving expenses and vendor invoices \
             is Dataverse's own process there",
            config.operational.kind.name()
        ))
        .with_hint("approve them in Project Operations; their actuals sync by themselves"));
    }
    let db = Db::open(&config.operational.url).await.context("operational store")?;
    if db
        .fetch(
            "SELECT 1 FROM msdyn_expenses, msdyn_projectvendorinvoicelines WHERE 1 = 0",
            &[],
            &[],
        )
        .await
        .is_err()
    {
        return Err(Error::failed(format!(
            "the operational store at {url} lacks the expense, vendor invoice and entry journal tables"
        ))
        .with_hint(format!(
            "bring its schema up to date with `dualsync store init --side operational --url {url}`"
        )));
    }
    Ok(db)
}

pub async fn approve(config: &Config, company: Option<String>) -> Result<String> {
    let db = open(config).await?;
    let approved = crate::operational::approve::approve(&db, company.as_deref())
        .await
        .context("operational store")?;
    Ok(approved.to_string())
}

/// The report, and whether a journal was refused (exit 1).
pub async fn confirm(
    config: &Config,
    journals: Vec<uuid::Uuid>,
    company: Option<String>,
    strict: bool,
) -> Result<(String, bool)> {
    use crate::operational::journal::{self, Which};
    let db = open(config).await?;
    let which = match journals.is_empty() {
        true => Which::All { company },
        false => Which::Named(journals),
    };
    let confirmed = journal::confirm(&db, &which, strict)
        .await
        .context("operational store")?;
    Ok((confirmed.to_string(), !confirmed.refused.is_empty()))
}

pub async fn journals(config: &Config) -> Result<String> {
    let db = open(config).await?;
    let rows = crate::operational::journal::list(&db)
        .await
        .context("operational store")?;
    if rows.is_empty() {
        return Ok("no entry journals".into());
    }
    let mut out = format!("{:<38} {:<8} {:<10} {:>6}\n", "journal", "company", "status", "lines");
    for (id, company, status, lines) in rows {
        out.push_str(&format!("{id:<38} {company:<8} {status:<10} {lines:>6}\n"));
    }
    Ok(out)
}
