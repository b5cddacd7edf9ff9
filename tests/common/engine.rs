//! The engine over seeded stores, for tests: demo data on both sides with change capture, the
//! shipped maps (optionally edited by the test), a state store, and an engine over them.

use std::path::Path;
use std::sync::Arc;

use super::TestStore;
use dualsync::demo::{SeedOptions, load};
use dualsync::engine::Engine;
use dualsync::engine::state::StateStore;
use dualsync::store::Store;
use dualsync::tablemap::{self, TableMap, model::Side};

pub async fn count(store: &dyn Store, entity: &str) -> u64 {
    let desc = store.describe(entity).await.unwrap().project(&[]).unwrap();
    let mut n = 0;
    let mut after = None;
    loop {
        let page = store.scan(&desc, after.as_ref(), 5000).await.unwrap();
        let Some(last) = page.last() else { return n };
        after = Some(desc.key_of(last));
        n += page.len() as u64;
    }
}

/// Seeded stores with capture, and an engine over them.
pub struct Setup {
    pub op: TestStore,
    pub acct: TestStore,
    pub _state_dir: tempfile::TempDir,
    /// The state store's URL (a file in `_state_dir`, or a PostgreSQL database of its own).
    pub state_url: String,
    pub engine: Engine,
    pub op_store: Arc<dualsync::store::sql::SqlStore>,
    pub acct_store: Arc<dualsync::store::sql::SqlStore>,
    pub opts: SeedOptions,
}

pub async fn setup(backend: &str, name: &str, edit: impl FnOnce(&mut Vec<TableMap>)) -> Setup {
    let op = TestStore::new(backend, &format!("{name}_{backend}_op"), Side::Operational).await;
    let acct = TestStore::new(backend, &format!("{name}_{backend}_acct"), Side::Accounting).await;
    let state_dir = tempfile::tempdir().unwrap();
    let state_url = match backend {
        "sqlite" => format!("sqlite://{}", state_dir.path().join("state.db").display()),
        _ => super::fresh_pg_database(&format!("{name}_state")).await,
    };
    let opts = SeedOptions { actuals: 300, seed: 3 };
    load::seed(&op.store, Side::Operational, &opts).await.unwrap();
    load::seed(&acct.store, Side::Accounting, &opts).await.unwrap();

    let loaded = tablemap::load(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")]).unwrap();
    let mut maps: Vec<_> = loaded.maps().cloned().collect();
    edit(&mut maps);
    for (side, store) in [(Side::Operational, &op.store), (Side::Accounting, &acct.store)] {
        let entities: Vec<&str> = maps
            .iter()
            .map(|m| {
                if side == Side::Operational {
                    m.operational.entity.as_str()
                } else {
                    m.accounting.entity.as_str()
                }
            })
            .collect();
        store.install_capture(&entities).await.unwrap();
    }
    let op_store = Arc::new(dualsync::store::sql::SqlStore::open(&op.url).await.unwrap());
    let acct_store = Arc::new(dualsync::store::sql::SqlStore::open(&acct.url).await.unwrap());
    let state = StateStore::open(&state_url).await.unwrap();
    let state_url = state_url.to_string();
    let companies = vec!["USPM".to_string(), "DEMF".to_string()];
    let valid = tablemap::check_maps(&maps).expect("the edited maps are valid");
    let engine = Engine::new(op_store.clone(), acct_store.clone(), state, &valid, companies);
    Setup {
        op,
        acct,
        _state_dir: state_dir,
        state_url,
        engine,
        op_store,
        acct_store,
        opts,
    }
}

/// Live-syncs every map both ways until both feeds are drained.
pub async fn quiesce(engine: &Engine) {
    loop {
        let mut n = 0;
        for map in &engine.maps {
            for side in [Side::Operational, Side::Accounting] {
                n += engine.live_step(map, side).await.unwrap();
            }
        }
        if n == 0 {
            return;
        }
    }
}
