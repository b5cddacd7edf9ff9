//! Posted transaction relationships: the vouchers of connected actuals (cost and unbilled
//! sales), related once both have journal lines.

use super::db::{Cells, Db, opt_guid, opt_text};
use super::joblog::Job;
use crate::store::Result;
use crate::value::ValueType;

/// Relates the vouchers of connected actuals (cost and unbilled sales) once both have a line:
/// each unprocessed `ProjCDSTransactionRelationshipImport` row becomes a
/// `ProjPostedTransRelationship` naming both vouchers. A line deleted and imported again has a
/// new voucher: its relationships are brought up to date.
pub(super) async fn relate_vouchers(db: &Db, job: &mut Job) -> Result<()> {
    use ValueType::{Guid, Text};
    let pending = db
        .fetch(
            "SELECT r.\"ConnectionId\", r.\"Transaction1Id\", r.\"Transaction1Role\", r.\"Transaction2Id\", \
             r.\"Transaction2Role\", l1.\"DataAreaId\", l1.\"Voucher\", l2.\"DataAreaId\", l2.\"Voucher\" \
             FROM \"ProjCDSTransactionRelationshipImport\" r \
             JOIN \"ProjCDSIntegrationJournalLine\" l1 ON l1.\"ActualId\" = r.\"Transaction1Id\" \
             JOIN \"ProjCDSIntegrationJournalLine\" l2 ON l2.\"ActualId\" = r.\"Transaction2Id\" \
             LEFT JOIN \"ProjPostedTransRelationship\" p ON p.\"ConnectionId\" = r.\"ConnectionId\" \
             WHERE r.\"IsProcessed\" = ? OR p.\"Transaction1Voucher\" <> l1.\"Voucher\" \
                OR p.\"Transaction2Voucher\" <> l2.\"Voucher\"",
            &[super::db::boolean(false)],
            &[Guid, Guid, Text, Guid, Text, Text, Text, Text, Text],
        )
        .await?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    for row in pending {
        let mut c = Cells::new(row);
        let connection = c.guid();
        let values = [
            opt_guid(connection),
            opt_guid(c.guid()),
            opt_text(c.text().as_deref()),
            opt_guid(c.guid()),
            opt_text(c.text().as_deref()),
        ];
        let (area1, voucher1, area2, voucher2) = (c.text(), c.text(), c.text(), c.text());
        let [id, t1, role1, t2, role2] = values;
        tx.execute(
            "INSERT INTO \"ProjPostedTransRelationship\" (\"ConnectionId\", \"Transaction1Id\", \"Transaction1DataAreaId\", \
             \"Transaction1Voucher\", \"Transaction1Role\", \"Transaction2Id\", \"Transaction2DataAreaId\", \
             \"Transaction2Voucher\", \"Transaction2Role\", \"PostedDateTime\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (\"ConnectionId\") DO UPDATE SET \
             \"Transaction1DataAreaId\" = excluded.\"Transaction1DataAreaId\", \
             \"Transaction1Voucher\" = excluded.\"Transaction1Voucher\", \
             \"Transaction2DataAreaId\" = excluded.\"Transaction2DataAreaId\", \
             \"Transaction2Voucher\" = excluded.\"Transaction2Voucher\"",
            &[
                id.clone(),
                t1,
                opt_text(area1.as_deref()),
                opt_text(voucher1.as_deref()),
                role1,
                t2,
                opt_text(area2.as_deref()),
                opt_text(voucher2.as_deref()),
                role2,
                super::db::now(),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE \"ProjCDSTransactionRelationshipImport\" SET \"IsProcessed\" = ? WHERE \"ConnectionId\" = ?",
            &[super::db::boolean(true), id],
        )
        .await?;
        job.add("related_vouchers", 1);
    }
    tx.commit().await
}
