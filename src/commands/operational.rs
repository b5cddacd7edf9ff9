//! `dualsync operational approve`: open the configured operational store (a database) and
//! approve pending expenses and vendor invoice lines into cost actuals.

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
            "the operational store at {url} lacks the expense and vendor invoice tables"
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
