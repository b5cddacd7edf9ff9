//! Number sequences (`NumberSequenceTable`): vouchers, journal ids and transaction ids, taken
//! inside the caller's transaction so a rolled-back run gives its numbers back.

use super::db::{Cells, DbTx, int, setup_error, text};
use crate::store::Result;
use crate::value::ValueType;

/// Takes `n` consecutive numbers of sequence `code` in `company`, formatted (`#` marks the
/// digits: `USPM-PJV-######` → `USPM-PJV-000042`).
pub async fn take(tx: &mut DbTx, company: &str, code: &str, n: usize) -> Result<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = tx
        .fetch(
            "UPDATE \"NumberSequenceTable\" SET \"NextNumber\" = \"NextNumber\" + ? \
             WHERE \"DataAreaId\" = ? AND \"NumberSequenceCode\" = ? \
             RETURNING \"NextNumber\", \"Format\", \"Highest\"",
            &[int(n as i64), text(company), text(code)],
            &[ValueType::Int, ValueType::Text, ValueType::Int],
        )
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Err(setup_error(
            format!("legal entity {company} has no number sequence {code}"),
            "add it to NumberSequenceTable (and name it in ProjParameters), then run again",
        ));
    };
    let mut c = Cells::new(row);
    let next = c.int().unwrap_or(1);
    let format_text = c.text().unwrap_or_else(|| "#".into());
    let highest = c.int();
    let first = next - n as i64;
    if let Some(h) = highest
        && next - 1 > h
    {
        return Err(setup_error(
            format!("number sequence {code} of {company} is exhausted (highest number {h})"),
            "raise its Highest value or start a new sequence, then run again",
        ));
    }
    Ok((first..next).map(|k| format(&format_text, k)).collect())
}

/// Puts `number` into the run of `#` of `pattern`, zero-padded to its width (wider numbers
/// are written whole); a pattern without `#` gets the number appended.
pub fn format(pattern: &str, number: i64) -> String {
    let Some(start) = pattern.find('#') else {
        return format!("{pattern}{number}");
    };
    let width = pattern[start..].chars().take_while(|&c| c == '#').count();
    format!(
        "{}{:0width$}{}",
        &pattern[..start],
        number,
        &pattern[start + width..],
        width = width
    )
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn numbers_fill_the_hash_run() {
        assert_eq!(format("USPM-PJV-######", 42), "USPM-PJV-000042");
        assert_eq!(format("J-##", 1234), "J-1234");
        assert_eq!(format("V", 7), "V7");
        assert_eq!(format("A-###-B", 5), "A-005-B");
    }
}
