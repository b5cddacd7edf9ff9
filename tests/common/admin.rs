//! What the admin listener's tests share: a daemon (`dualsync run`, a separate process) on
//! seeded stores with the admin listener on a free loopback port and a token; one actual
//! edited on the operational side; and a refusal the accounting store makes of every actual
//! written to its staging table (a trigger, as a closed period or a customization would),
//! which the engine records as a `refused` record error.

use std::time::Duration;

use chrono::NaiveDate;
use dualsync::accounting::db::{Cells, Db, date, guid};
use dualsync::demo::{SeedOptions, load};
use dualsync::store::sql::{SqlStore, init::init};
use dualsync::tablemap::model::Side;
use dualsync::value::ValueType;
use uuid::Uuid;

use super::{Daemon, DaemonStores};

/// What the accounting store says when it refuses an actual.
pub const REFUSAL: &str = "the period of this actual is closed (test)";

/// A running daemon with its admin listener.
pub struct AdminDaemon {
    pub stores: DaemonStores,
    pub daemon: Daemon,
    pub config: std::path::PathBuf,
    pub operational: SqlStore,
    pub accounting: SqlStore,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub token: String,
}

impl AdminDaemon {
    /// Seeds `actuals` demo actuals on `backend`, starts the daemon with `[admin]` on a free
    /// port, the token `token` in a file, and `extra` configuration; waits until every map runs.
    pub async fn start(backend: &str, name: &str, actuals: u64, token: &str, extra: &str) -> AdminDaemon {
        let stores = DaemonStores::new(backend, name).await;
        let opts = SeedOptions { actuals, seed: 11 };
        let operational = init(&stores.operational, Side::Operational).await.unwrap();
        let accounting = init(&stores.accounting, Side::Accounting).await.unwrap();
        load::seed(&operational, Side::Operational, &opts).await.unwrap();
        load::seed(&accounting, Side::Accounting, &opts).await.unwrap();
        let token_file = stores.log_path().with_file_name("admin-token");
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        let port = super::metrics::free_port();
        let config = stores.write_config(
            false,
            &format!(
                "[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken_file = \"{}\"\n{extra}",
                token_file.display()
            ),
        );
        let mut daemon = Daemon::start(&config, &stores.log_path());
        daemon.wait_all_running(Duration::from_secs(120)).await;
        AdminDaemon {
            stores,
            daemon,
            config,
            operational,
            accounting,
            base: format!("http://127.0.0.1:{port}"),
            token: token.into(),
        }
    }

    /// Makes the accounting store refuse (`on`) or take again (`!on`) every actual written to
    /// its staging table: SQLite `RAISE(ABORT)` (SQLITE_CONSTRAINT_TRIGGER), PostgreSQL an
    /// exception with SQLSTATE 23514 (check_violation). Both are errors of the row, not of
    /// the store.
    pub async fn refuse_actuals(&self, on: bool) {
        let db = Db::new(&self.accounting);
        let sql: Vec<String> = match (self.stores.backend, on) {
            ("sqlite", true) => ["INSERT", "UPDATE"]
                .iter()
                .map(|e| {
                    format!(
                        "CREATE TRIGGER refuse_{e} BEFORE {e} ON \"ProjCDSActualsImport\" \
                         BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                    )
                })
                .collect(),
            ("sqlite", false) => vec!["DROP TRIGGER refuse_INSERT".into(), "DROP TRIGGER refuse_UPDATE".into()],
            (_, true) => vec![
                format!(
                    "CREATE FUNCTION refuse_actual() RETURNS trigger LANGUAGE plpgsql AS \
                     $f$ BEGIN RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'check_violation'; END $f$"
                ),
                "CREATE TRIGGER refuse_actual BEFORE INSERT OR UPDATE ON \"ProjCDSActualsImport\" \
                 FOR EACH ROW EXECUTE FUNCTION refuse_actual()"
                    .into(),
            ],
            (_, false) => vec![
                "DROP TRIGGER refuse_actual ON \"ProjCDSActualsImport\"".into(),
                "DROP FUNCTION refuse_actual()".into(),
            ],
        };
        for s in sql {
            db.execute(&s, &[]).await.unwrap();
        }
    }

    /// Gives one actual (the lowest id) the document date `day`; its id.
    pub async fn edit_one_actual(&self, day: NaiveDate) -> Uuid {
        let db = Db::new(&self.operational);
        let first = db
            .fetch(
                "SELECT msdyn_actualid FROM msdyn_actuals ORDER BY msdyn_actualid LIMIT 1",
                &[],
                &[ValueType::Guid],
            )
            .await
            .unwrap();
        let id = Cells::new(first.into_iter().next().unwrap()).guid().unwrap();
        db.execute(
            "UPDATE msdyn_actuals SET msdyn_documentdate = ? WHERE msdyn_actualid = ?",
            &[date(day), guid(id)],
        )
        .await
        .unwrap();
        id
    }

    /// The document date of actual `id` in the accounting store's staging table.
    pub async fn staged_date(&self, id: Uuid) -> Option<NaiveDate> {
        let rows = Db::new(&self.accounting)
            .fetch(
                "SELECT \"DocumentDate\" FROM \"ProjCDSActualsImport\" WHERE \"ActualId\" = ?",
                &[guid(id)],
                &[ValueType::Date],
            )
            .await
            .unwrap();
        rows.into_iter().next().and_then(|r| Cells::new(r).date())
    }
}
