//! Confirming entry journals on the operational reference store (`msdyn_journals`,
//! `msdyn_journallines`). Confirming a journal records each line as one actual — cost or
//! revenue by its transaction type — with what the line leaves blank worked out
//! (`prepare`): the contract, contract line and contract-line customer from the project and the
//! class, the price from the price lists (`prices`), the amount by the amount method; then the
//! journal is locked (the store refuses any later change to it or its lines). A journal is
//! confirmed whole or not at all: every problem of every line is reported and the journal stays
//! a draft. As documented for entry journals, the actuals have no transaction connections or
//! origins, and no inter-organizational actuals are created. With `strict`, the rules of
//! "journal line improvements" apply as well.

mod prepare;
mod prices;

use std::fmt;

use uuid::Uuid;

use crate::accounting::db::{Cells, Db, int, now, opt_text};
use crate::store::Result;
use crate::value::ValueType;

pub(crate) const DRAFT: i64 = 192_350_000;
pub(crate) const CONFIRMED: i64 = 192_350_001;

/// Which journals to confirm.
#[derive(Debug, Clone)]
pub enum Which {
    /// Every draft journal (of one legal entity).
    All { company: Option<String> },
    /// These journals.
    Named(Vec<Uuid>),
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Confirmed {
    pub journals: u64,
    pub actuals: u64,
    /// Journals not confirmed, each problem on its own line.
    pub refused: Vec<String>,
    /// Confirmed, but worth knowing (an unbilled sales actual without a customer is not invoiced).
    pub notes: Vec<String>,
}

impl fmt::Display for Confirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "confirmed {} entry journal(s): {} actual(s) recorded",
            self.journals, self.actuals
        )?;
        for n in &self.notes {
            write!(f, "\nnote: {n}")?;
        }
        for r in &self.refused {
            write!(f, "\nnot confirmed: {r}")?;
        }
        Ok(())
    }
}

/// A draft journal.
#[derive(Clone)]
struct Journal {
    id: Uuid,
    company: String,
    description: Option<String>,
}

/// Confirms the selected draft journals; `strict` adds the rules of "journal line improvements".
pub async fn confirm(db: &Db, which: &Which, strict: bool) -> Result<Confirmed> {
    let mut out = Confirmed::default();
    let journals = select(db, which, &mut out).await?;
    for journal in journals {
        let what = format!(
            "journal {} ({}{})",
            journal.id,
            journal.company,
            journal
                .description
                .as_deref()
                .map(|d| format!(", {d}"))
                .unwrap_or_default()
        );
        let lines = prepare::lines_of(db, journal.id).await?;
        if lines.is_empty() {
            out.refused.push(format!("{what}: it has no lines"));
            continue;
        }
        let mut tx = db.begin().await?;
        let mut prepared = Vec::new();
        let mut problems = Vec::new();
        for line in &lines {
            match prepare::prepare(&mut tx, &journal.company, line, strict).await? {
                Ok(p) => prepared.push(p),
                Err(why) => problems.push(format!("line {}: {why}", line.number)),
            }
        }
        problems.extend(prepare::retainer_pairs(&prepared));
        if !problems.is_empty() {
            out.refused.extend(problems.into_iter().map(|p| format!("{what}: {p}")));
            continue; // rolled back: nothing of the journal changed
        }
        for p in &prepared {
            prepare::record(&mut tx, &journal.company, p).await?;
            if let Some(note) = &p.note {
                out.notes.push(format!("{what}: line {}: {note}", p.line.number));
            }
        }
        // Last: once confirmed, the store refuses changes to the journal and its lines.
        let claimed = tx
            .execute(
                "UPDATE msdyn_journals SET msdyn_journalstatus = ?, msdyn_confirmedon = ?, modifiedon = ? \
                 WHERE msdyn_journalid = ? AND msdyn_journalstatus = ?",
                &[
                    int(CONFIRMED),
                    now(),
                    now(),
                    crate::accounting::db::guid(journal.id),
                    int(DRAFT),
                ],
            )
            .await?;
        if claimed != 1 {
            continue; // confirmed by another run meanwhile: this one's actuals are rolled back
        }
        tx.commit().await?;
        out.journals += 1;
        out.actuals += prepared.len() as u64;
    }
    Ok(out)
}

async fn select(db: &Db, which: &Which, out: &mut Confirmed) -> Result<Vec<Journal>> {
    use ValueType::{Guid, Int, Text};
    let company = match which {
        Which::All { company } => company.as_deref(),
        Which::Named(_) => None,
    };
    let rows = db
        .fetch(
            "SELECT msdyn_journalid, msdyn_company, msdyn_description, msdyn_journalstatus FROM msdyn_journals \
             WHERE (? IS NULL OR msdyn_company = ?) ORDER BY createdon, msdyn_journalid",
            &[opt_text(company), opt_text(company)],
            &[Guid, Text, Text, Int],
        )
        .await?;
    let mut all = Vec::new();
    for row in rows {
        let mut c = Cells::new(row);
        let (Some(id), Some(company), description, status) = (c.guid(), c.text(), c.text(), c.int()) else {
            continue;
        };
        all.push((
            Journal {
                id,
                company,
                description,
            },
            status,
        ));
    }
    match which {
        Which::All { .. } => Ok(all
            .into_iter()
            .filter(|(_, s)| *s == Some(DRAFT))
            .map(|(j, _)| j)
            .collect()),
        Which::Named(ids) => {
            let mut chosen = Vec::new();
            for id in ids {
                match all.iter().position(|(j, _)| j.id == *id) {
                    None => out
                        .refused
                        .push(format!("journal {id}: there is no entry journal with this id")),
                    Some(i) if all[i].1 != Some(DRAFT) => {
                        out.refused.push(format!("journal {id}: it is already confirmed"))
                    }
                    Some(i) => {
                        let j = &all[i].0;
                        chosen.push(j.clone());
                    }
                }
            }
            Ok(chosen)
        }
    }
}

/// Entry journals with their status and line counts, for `dualsync operational journals`.
pub async fn list(db: &Db) -> Result<Vec<(Uuid, String, String, i64)>> {
    use ValueType::{Guid, Int, Text};
    let rows = db
        .fetch(
            "SELECT j.msdyn_journalid, j.msdyn_company, CASE j.msdyn_journalstatus WHEN ? THEN 'Confirmed' ELSE 'Draft' END, \
             (SELECT COUNT(*) FROM msdyn_journallines l WHERE l.msdyn_journal = j.msdyn_journalid) \
             FROM msdyn_journals j ORDER BY j.createdon, j.msdyn_journalid",
            &[int(CONFIRMED)],
            &[Guid, Text, Text, Int],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let mut c = Cells::new(row);
            Some((c.guid()?, c.text()?, c.text()?, c.int()?))
        })
        .collect())
}
