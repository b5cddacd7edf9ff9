//! The engine's state store against real databases: every test runs on SQLite (a temporary
//! file) and on PostgreSQL (a database of its own, `dualsync_state_<test>`, on the server named
//! by `DUALSYNC_TEST_PG_URL`). Opening and migrating, canonical key texts, links both ways with
//! fan-out parts, the atomic batch commit of links and cursor, cursors, checkpoints, dead
//! letters, parked and skipped records, map states and the job log.

use std::str::FromStr;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use dualsync::engine::state::FeedMark;
use dualsync::engine::state::*;
use dualsync::store::{ErrorKind, Position};
use dualsync::value::{Value, ValueType};
use rust_decimal::Decimal;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A place for one test's state store; a SQLite file lives as long as this value.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A SQLite file in a folder that does not exist yet (`open` creates it).
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("state").join("state.db").display());
        TestDb { url, _dir: Some(dir) }
    }

    /// The URL of a PostgreSQL database for this test, dropped if a previous run left it
    /// (`open` creates it).
    async fn postgres(test: &str) -> TestDb {
        let base = std::env::var("DUALSYNC_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
        let options = PgConnectOptions::from_str(&base).expect("DUALSYNC_TEST_PG_URL is a PostgreSQL URL");
        let mut admin = options.connect().await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {base}: {e}\n\
                 Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                 or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres`), \
                 or point DUALSYNC_TEST_PG_URL at a server where this user may create databases."
            )
        });
        let db = format!("dualsync_state_{test}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop the test database");
        let (prefix, _) = base.rsplit_once('/').expect("DUALSYNC_TEST_PG_URL names a database");
        TestDb {
            url: format!("{prefix}/{db}"),
            _dir: None,
        }
    }
}

/// Runs an async test body against a fresh state store on SQLite and on PostgreSQL:
/// `both!(name, |s: StateStore, url: String| async move { ... });`
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDb::sqlite();
                let store = StateStore::open(&db.url)
                    .await
                    .expect("open the SQLite state store");
                ($body)(store, db.url.clone()).await;
                drop(db);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = TestDb::postgres(stringify!($name)).await;
                let store = StateStore::open(&db.url)
                    .await
                    .expect("open the PostgreSQL state store");
                ($body)(store, db.url.clone()).await;
                drop(db);
            }
        }
    };
}

fn link(map: &str, op: &str, part: &str, acct: &str) -> Link {
    Link {
        map: map.into(),
        operational_key: op.into(),
        part: part.into(),
        accounting_key: acct.into(),
        company: (!part.is_empty()).then(|| part.to_string()),
        hash_to_accounting: Some(format!("h-{op}-{part}")),
        hash_to_operational: None,
        agreed: Some(format!("{{\"accounting\":{{\"Hours\":\"{op}\"}}}}")),
    }
}

fn keys(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::from_str(s).unwrap())
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, h, m, 0).unwrap()
}

fn letter(map: &str, side: &str, key: &str, message: &str, when: DateTime<Utc>) -> NewDeadLetter {
    NewDeadLetter {
        map: map.into(),
        side: side.parse().unwrap(),
        record_key: key.into(),
        payload: Some(format!("{{\"key\":{key}}}")),
        error_kind: dualsync::engine::state::RecordErrorKind::Rejected,
        message: message.into(),
        hint: Some("fix the record".into()),
        at: when,
    }
}

fn parked(map: &str, key: &str, parent_map: &str, parent: &str, when: DateTime<Utc>) -> Parked {
    Parked {
        map: map.into(),
        side: dualsync::tablemap::model::Side::Operational,
        record_key: key.into(),
        waiting_for_map: parent_map.into(),
        waiting_for_key: parent.into(),
        parked_at: when,
        reason: Some(format!("parent {parent} has no link yet")),
    }
}

// ---- key texts (no database) ----

#[test]
fn key_texts_have_one_canonical_form() {
    let upper = Uuid::parse_str("3F2504E0-4F89-11D3-9A0C-0305E82C3301").unwrap();
    assert_eq!(
        key_text(&[Value::Guid(upper)]),
        r#"["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]"#
    );
    assert_eq!(key_text(&[dec("2.50")]), key_text(&[dec("2.5")]));
    assert_eq!(key_text(&[dec("2.50")]), "[2.5]");
    assert_eq!(key_text(&[dec("5.000")]), key_text(&[Value::Int(5)]));
    assert_eq!(key_text(&[dec("-0.00")]), "[0]");
    assert_eq!(key_text(&[dec("0.0000001")]), "[0.0000001]");
    let date = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    assert_eq!(key_text(&[Value::Date(date)]), r#"["2024-02-29"]"#);
    let local = DateTime::parse_from_rfc3339("2024-01-31T11:30:00+02:00").unwrap();
    assert_eq!(
        key_text(&[Value::DateTime(local.with_timezone(&Utc))]),
        r#"["2024-01-31T09:30:00Z"]"#
    );
    let micros = DateTime::parse_from_rfc3339("2024-01-31T09:30:00.123456Z").unwrap();
    assert_eq!(
        key_text(&[Value::DateTime(micros.with_timezone(&Utc))]),
        r#"["2024-01-31T09:30:00.123456Z"]"#
    );
    assert_eq!(
        key_text(&[
            Value::Text("USPM".into()),
            Value::Int(-7),
            Value::Bool(true),
            Value::Null
        ]),
        r#"["USPM",-7,true,null]"#
    );
    assert_eq!(key_text(&[Value::Text("a\"b\\c\nd é".into())]), r#"["a\"b\\c\nd é"]"#);
    assert_eq!(key_text(&[]), "[]");
}

#[test]
fn key_texts_round_trip() {
    let cases: Vec<(Vec<Value>, Vec<ValueType>)> = vec![
        (
            vec![Value::Int(i64::MIN), Value::Int(i64::MAX)],
            vec![ValueType::Int, ValueType::Int],
        ),
        (
            vec![
                dec("79228162514264337593543950335"),
                dec("-0.0000000000000000000000000001"),
            ],
            vec![ValueType::Decimal, ValueType::Decimal],
        ),
        (
            vec![Value::Text("ÅÄÖ, \"quoted\" [bracketed]".into()), Value::Null],
            vec![ValueType::Text, ValueType::Guid],
        ),
        (
            vec![
                Value::Guid(Uuid::from_u128(0xdead_beef)),
                Value::Date(chrono::NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
                Value::DateTime(Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap() + Duration::nanoseconds(1)),
                Value::Bool(false),
            ],
            vec![ValueType::Guid, ValueType::Date, ValueType::DateTime, ValueType::Bool],
        ),
    ];
    for (key, types) in cases {
        let text = key_text(&key);
        assert_eq!(parse_key_text(&text, &types), Some(key.clone()), "{text}");
    }
    // Decimals come back equal in value, in their normalized form.
    assert_eq!(
        parse_key_text(&key_text(&[dec("1.500")]), &[ValueType::Decimal]),
        Some(vec![dec("1.5")])
    );
}

#[test]
fn key_texts_that_do_not_fit_their_types_are_refused() {
    assert_eq!(parse_key_text("[1]", &[ValueType::Int, ValueType::Int]), None);
    assert_eq!(parse_key_text("[\"1\"]", &[ValueType::Int]), None);
    assert_eq!(parse_key_text("[1.5]", &[ValueType::Int]), None);
    assert_eq!(parse_key_text("[\"not a guid\"]", &[ValueType::Guid]), None);
    assert_eq!(parse_key_text("[\"2024-02-30\"]", &[ValueType::Date]), None);
    assert_eq!(parse_key_text("[1]", &[ValueType::Text]), None);
    assert_eq!(parse_key_text("1", &[ValueType::Int]), None);
    assert_eq!(parse_key_text("[1,]", &[ValueType::Int]), None);
    // Other spellings of the same JSON are read too.
    assert_eq!(
        parse_key_text(" [ 1.50e1 , \"x\" ] ", &[ValueType::Decimal, ValueType::Text]),
        Some(vec![dec("15"), Value::Text("x".into())])
    );
}

#[test]
fn state_enums_round_trip_through_text() {
    for s in MapState::ALL {
        assert_eq!(s.as_str().parse::<MapState>(), Ok(*s));
    }
    assert_eq!("initial-sync".parse::<MapState>(), Ok(MapState::InitialSync));
    let err = "started".parse::<MapState>().unwrap_err();
    assert!(err.contains("stopped, initial-sync, running, paused, failed"), "{err}");
    for s in DeadLetterStatus::ALL {
        assert_eq!(s.to_string().parse::<DeadLetterStatus>(), Ok(*s));
    }
    for s in JobStatus::ALL {
        assert_eq!(s.to_string().parse::<JobStatus>(), Ok(*s));
    }
    for s in CheckpointStatus::ALL {
        assert_eq!(s.to_string().parse::<CheckpointStatus>(), Ok(*s));
    }
}

// ---- against the databases ----

both!(open_is_idempotent, |s: StateStore, url: String| async move {
    s.upsert_links(&[link("projects", "[1]", "", "[\"P-1\"]")])
        .await
        .unwrap();
    s.set_cursor("projects", "operational", "e", &pos(0, 4)).await.unwrap();
    s.close().await;
    for _ in 0..2 {
        let again = StateStore::open(&url).await.expect("open again");
        assert_eq!(again.count_links("projects").await.unwrap(), 1);
        assert_eq!(
            again.get_cursor("projects", "operational", "e").await.unwrap(),
            Some(pos(0, 4))
        );
        again.close().await;
    }
});

both!(
    shares_a_database_with_a_reference_store,
    |s: StateStore, url: String| async move {
        // The state schema is tracked in its own migrations table, so a reference store's
        // migrations in the same database do not clash with it, in either order.
        s.set_cursor("projects", "operational", "e", &pos(0, 2)).await.unwrap();
        s.close().await;
        let reference = dualsync::store::sql::init::init(&url, dualsync::tablemap::model::Side::Operational)
            .await
            .expect("a reference store in the state store's database");
        reference.close().await;
        let again = StateStore::open(&url)
            .await
            .expect("the state store opens next to a reference store");
        assert_eq!(
            again.get_cursor("projects", "operational", "e").await.unwrap(),
            Some(pos(0, 2))
        );
        again.close().await;
    }
);

both!(keys_survive_the_store, |s: StateStore, _url: String| async move {
    let op = vec![
        Value::Guid(Uuid::from_u128(42)),
        Value::Text("Zürich \"HQ\"".into()),
        dec("10.10"),
    ];
    let types = [ValueType::Guid, ValueType::Text, ValueType::Decimal];
    let acct = vec![Value::Text("USPM".into()), Value::Text("PRJ-0001".into())];
    let (op_text, acct_text) = (key_text(&op), key_text(&acct));
    s.upsert_links(&[link("projects", &op_text, "", &acct_text)])
        .await
        .unwrap();
    let found = s
        .links_by_accounting("projects", std::slice::from_ref(&acct_text))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        parse_key_text(&found[0].operational_key, &types),
        Some(vec![op[0].clone(), op[1].clone(), dec("10.1")])
    );
    // The same key read another way (another scale) finds the same link.
    let same = key_text(&[op[0].clone(), op[1].clone(), dec("10.100")]);
    assert_eq!(s.links_by_operational("projects", &[same]).await.unwrap(), found);
});

both!(
    links_both_ways_with_fan_out_parts,
    |s: StateStore, _url: String| async move {
        assert_eq!(s.count_links("contracts").await.unwrap(), 0);
        s.upsert_links(&[
            link("contracts", "[1]", "USPM", "[\"USPM\",\"C-1\"]"),
            link("contracts", "[1]", "DEMF", "[\"DEMF\",\"C-1\"]"),
            link("contracts", "[2]", "USPM", "[\"USPM\",\"C-2\"]"),
            link("customers", "[1]", "", "[\"K-1\"]"),
        ])
        .await
        .unwrap();
        assert_eq!(s.count_links("contracts").await.unwrap(), 3);
        assert_eq!(s.count_links("customers").await.unwrap(), 1);

        let by_op = s
            .links_by_operational("contracts", &keys(&["[1]", "[3]"]))
            .await
            .unwrap();
        assert_eq!(
            by_op,
            vec![
                link("contracts", "[1]", "DEMF", "[\"DEMF\",\"C-1\"]"),
                link("contracts", "[1]", "USPM", "[\"USPM\",\"C-1\"]"),
            ]
        );
        let by_acct = s
            .links_by_accounting("contracts", &keys(&["[\"USPM\",\"C-2\"]", "[\"DEMF\",\"C-1\"]"]))
            .await
            .unwrap();
        assert_eq!(
            by_acct
                .iter()
                .map(|l| (l.operational_key.as_str(), l.part.as_str()))
                .collect::<Vec<_>>(),
            [("[1]", "DEMF"), ("[2]", "USPM")]
        );
        // Lookups stay within their map.
        assert!(
            s.links_by_operational("customers", &keys(&["[2]"]))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(s.links_by_operational("contracts", &[]).await.unwrap().is_empty());

        // An upsert replaces the whole row: new hashes, a hash cleared.
        let mut changed = link("contracts", "[1]", "USPM", "[\"USPM\",\"C-1\"]");
        changed.hash_to_accounting = None;
        changed.hash_to_operational = Some("from-acct".into());
        s.upsert_links(std::slice::from_ref(&changed)).await.unwrap();
        let got = s.links_by_operational("contracts", &keys(&["[1]"])).await.unwrap();
        assert_eq!(got[1], changed);
        assert_eq!(s.count_links("contracts").await.unwrap(), 3);

        // One part, then every part of a record.
        assert!(s.delete_link("contracts", "[1]", "DEMF").await.unwrap());
        assert!(!s.delete_link("contracts", "[1]", "DEMF").await.unwrap());
        s.upsert_links(&[link("contracts", "[1]", "DEMF", "[\"DEMF\",\"C-1\"]")])
            .await
            .unwrap();
        assert_eq!(s.delete_links("contracts", "[1]").await.unwrap(), 2);
        assert_eq!(s.delete_links("contracts", "[1]").await.unwrap(), 0);
        assert_eq!(s.count_links("contracts").await.unwrap(), 1);
        assert_eq!(s.count_links("customers").await.unwrap(), 1);
    }
);

both!(
    upserts_are_batched_and_the_last_duplicate_wins,
    |s: StateStore, _url: String| async move {
        let mut many: Vec<Link> = (0..1234)
            .map(|i| link("actuals", &format!("[{i}]"), "", &format!("[\"A-{i}\"]")))
            .collect();
        many.push(link("actuals", "[7]", "", "[\"A-7-again\"]"));
        s.upsert_links(&many).await.unwrap();
        assert_eq!(s.count_links("actuals").await.unwrap(), 1234);
        let wanted: Vec<String> = (0..1234).map(|i| format!("[{i}]")).collect();
        let found = s.links_by_operational("actuals", &wanted).await.unwrap();
        assert_eq!(found.len(), 1234);
        let seven = s.links_by_operational("actuals", &keys(&["[7]"])).await.unwrap();
        assert_eq!(seven[0].accounting_key, "[\"A-7-again\"]");
        let by_acct: Vec<String> = (0..1234).map(|i| format!("[\"A-{i}\"]")).collect();
        assert_eq!(s.links_by_accounting("actuals", &by_acct).await.unwrap().len(), 1233);
    }
);

both!(
    commit_batch_is_all_or_nothing,
    |s: StateStore, _url: String| async move {
        let before = pos(1, 5);
        s.commit_batch(
            &[link("projects", "[1]", "", "[\"P-1\"]")],
            &[],
            Some(&mark("projects", "operational", &before)),
        )
        .await
        .unwrap();

        // A batch whose last link is refused (a map name over 200 characters) stores nothing:
        // the delete, the good link and the cursor are all rolled back.
        let too_long = "m".repeat(201);
        let err = s
            .commit_batch(
                &[
                    link("projects", "[2]", "", "[\"P-2\"]"),
                    link(&too_long, "[3]", "", "[\"P-3\"]"),
                ],
                &[("projects".to_string(), "[1]".to_string())],
                Some(&mark("projects", "operational", &pos(1, 9))),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected, "{err}");
        assert_eq!(
            s.get_cursor("projects", "operational", "e").await.unwrap(),
            Some(before)
        );
        assert_eq!(
            s.links_by_operational("projects", &keys(&["[1]"])).await.unwrap().len(),
            1
        );
        assert!(
            s.links_by_operational("projects", &keys(&["[2]"]))
                .await
                .unwrap()
                .is_empty()
        );

        // A refused cursor (written last) takes the batch's links with it.
        let err = s
            .commit_batch(
                &[link("projects", "[2]", "", "[\"P-2\"]")],
                &[],
                Some(&mark(&too_long, "operational", &Position::default())),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected, "{err}");
        assert!(
            s.links_by_operational("projects", &keys(&["[2]"]))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.count_links("projects").await.unwrap(), 1);

        // The same batch, corrected, stores all of it.
        s.commit_batch(
            &[link("projects", "[2]", "", "[\"P-2\"]")],
            &[("projects".to_string(), "[1]".to_string())],
            Some(&mark("projects", "operational", &pos(1, 9))),
        )
        .await
        .unwrap();
        assert_eq!(
            s.get_cursor("projects", "operational", "e").await.unwrap(),
            Some(pos(1, 9))
        );
        assert!(
            s.links_by_operational("projects", &keys(&["[1]"]))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.links_by_operational("projects", &keys(&["[2]"])).await.unwrap().len(),
            1
        );

        // A batch with no cursor, or nothing at all, is fine.
        s.commit_batch(&[link("projects", "[3]", "", "[\"P-3\"]")], &[], None)
            .await
            .unwrap();
        s.commit_batch(&[], &[], None).await.unwrap();
        assert_eq!(s.count_links("projects").await.unwrap(), 2);
    }
);

both!(concurrent_commits_all_land, |s: StateStore, _url: String| async move {
    let mut tasks = Vec::new();
    for t in 0..8i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..10i64 {
                let links: Vec<Link> = (0..5)
                    .map(|i| link("work", &format!("[{t},{b},{i}]"), "", &format!("[\"W-{t}-{b}-{i}\"]")))
                    .collect();
                let side = format!("side-{t}");
                s.commit_batch(&links, &[], Some(&mark("work", &side, &pos(0, b))))
                    .await
                    .expect("a concurrent commit");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(s.count_links("work").await.unwrap(), 8 * 10 * 5);
    for t in 0..8 {
        let side = format!("side-{t}");
        assert_eq!(s.get_cursor("work", &side, "e").await.unwrap(), Some(pos(0, 9)));
    }
});

both!(cursors_per_map_and_side, |s: StateStore, _url: String| async move {
    assert_eq!(s.get_cursor("projects", "operational", "e").await.unwrap(), None);
    let a = pos(7_000_000_000, i64::MAX);
    s.set_cursor("projects", "operational", "e", &a).await.unwrap();
    s.set_cursor("projects", "accounting", "e", &pos(0, 3)).await.unwrap();
    s.set_cursor("tasks", "operational", "e", &pos(0, 1)).await.unwrap();
    assert_eq!(s.get_cursor("projects", "operational", "e").await.unwrap(), Some(a));
    assert_eq!(
        s.get_cursor("projects", "accounting", "e").await.unwrap(),
        Some(pos(0, 3))
    );
    // Moving on, and back (an operator may rewind a map).
    s.set_cursor("projects", "accounting", "e", &pos(0, 10)).await.unwrap();
    assert_eq!(
        s.get_cursor("projects", "accounting", "e").await.unwrap(),
        Some(pos(0, 10))
    );
    s.set_cursor("projects", "accounting", "e", &Position::default())
        .await
        .unwrap();
    assert_eq!(
        s.get_cursor("projects", "accounting", "e").await.unwrap(),
        Some(Position::default())
    );
    assert_eq!(
        s.get_cursor("tasks", "operational", "e").await.unwrap(),
        Some(pos(0, 1))
    );
    assert_eq!(s.get_cursor("tasks", "accounting", "e").await.unwrap(), None);
    // A position saved for another entity (the map's entity was changed) is none.
    assert_eq!(s.get_cursor("tasks", "operational", "other").await.unwrap(), None);
});

both!(
    checkpoints_save_resume_and_clear,
    |s: StateStore, _url: String| async move {
        assert_eq!(s.get_checkpoint("projects").await.unwrap(), None);
        let mut cp = Checkpoint::start("projects", "operational", Some(pos(0, 120)), Some(pos(987_654, 3)));
        assert_eq!(cp.status, CheckpointStatus::Running);
        s.save_checkpoint(&cp).await.unwrap();
        assert_eq!(s.get_checkpoint("projects").await.unwrap(), Some(cp.clone()));

        cp.last_key = Some(key_text(&[Value::Int(500)]));
        cp.counts = SyncCounts {
            read: 500,
            written: 480,
            unchanged: 10,
            skipped: 5,
            parked: 3,
            failed: 2,
        };
        s.save_checkpoint(&cp).await.unwrap();
        assert_eq!(s.get_checkpoint("projects").await.unwrap(), Some(cp.clone()));

        cp.status = CheckpointStatus::Done;
        cp.finished_at = Some(Utc::now().trunc_subsecs(6));
        cp.head_accounting = None;
        s.save_checkpoint(&cp).await.unwrap();
        let got = s.get_checkpoint("projects").await.unwrap().unwrap();
        assert_eq!(got, cp);
        assert_eq!(got.status, CheckpointStatus::Done);

        // Another map's checkpoint is its own.
        s.save_checkpoint(&Checkpoint::start("tasks", "accounting", None, None))
            .await
            .unwrap();
        assert!(s.clear_checkpoint("projects").await.unwrap());
        assert!(!s.clear_checkpoint("projects").await.unwrap());
        assert_eq!(s.get_checkpoint("projects").await.unwrap(), None);
        assert_eq!(s.get_checkpoint("tasks").await.unwrap().unwrap().side, "accounting");
    }
);

both!(
    dead_letters_dedup_list_and_count,
    |s: StateStore, _url: String| async move {
        let first = s
            .add_dead_letter(&letter("actuals", "operational", "[1]", "amount too large", at(9, 0)))
            .await
            .unwrap();
        let again = s
            .add_dead_letter(&letter(
                "actuals",
                "operational",
                "[1]",
                "amount still too large",
                at(9, 30),
            ))
            .await
            .unwrap();
        assert_eq!(first, again, "a second failure updates the open letter");
        let dl = s.get_dead_letter(first).await.unwrap().unwrap();
        assert_eq!(dl.attempts, 2);
        assert_eq!(dl.first_seen, at(9, 0));
        assert_eq!(dl.last_seen, at(9, 30));
        assert_eq!(dl.message, "amount still too large");
        assert_eq!(dl.status, DeadLetterStatus::Open);
        assert_eq!(dl.payload.as_deref(), Some("{\"key\":[1]}"));
        assert_eq!(dl.hint.as_deref(), Some("fix the record"));

        // Another side or record is another letter.
        let other_side = s
            .add_dead_letter(&letter("actuals", "accounting", "[1]", "locked", at(10, 0)))
            .await
            .unwrap();
        let other_map = s
            .add_dead_letter(&letter("projects", "operational", "[9]", "no customer", at(10, 5)))
            .await
            .unwrap();
        assert_ne!(other_side, first);
        assert_ne!(other_map, other_side);

        assert_eq!(s.list_dead_letters(None, None).await.unwrap().len(), 3);
        let actuals = s.list_dead_letters(Some("actuals"), None).await.unwrap();
        assert_eq!(actuals.iter().map(|d| d.id).collect::<Vec<_>>(), [first, other_side]);
        assert_eq!(s.count_open_dead_letters(Some("actuals")).await.unwrap(), 2);
        assert_eq!(s.count_open_dead_letters(None).await.unwrap(), 3);

        // Retrying, then failing again: still the same letter, open again.
        s.set_dead_letter_status(first, DeadLetterStatus::Retrying)
            .await
            .unwrap();
        assert_eq!(
            s.list_dead_letters(Some("actuals"), Some(DeadLetterStatus::Retrying))
                .await
                .unwrap()
                .len(),
            1
        );
        let third = s
            .add_dead_letter(&letter("actuals", "operational", "[1]", "once more", at(11, 0)))
            .await
            .unwrap();
        assert_eq!(third, first);
        let dl = s.get_dead_letter(first).await.unwrap().unwrap();
        assert_eq!((dl.attempts, dl.status), (3, DeadLetterStatus::Open));

        // The record syncs fine: its letter is resolved, and a later failure opens a new one.
        assert_eq!(
            s.resolve_dead_letters_for("actuals", "operational", &["[1]".to_string()])
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.resolve_dead_letters_for("actuals", "operational", &["[1]".to_string()])
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            s.get_dead_letter(first).await.unwrap().unwrap().status,
            DeadLetterStatus::Resolved
        );
        assert_eq!(s.count_open_dead_letters(Some("actuals")).await.unwrap(), 1);
        let fresh = s
            .add_dead_letter(&letter("actuals", "operational", "[1]", "broken again", at(12, 0)))
            .await
            .unwrap();
        assert_ne!(fresh, first);
        assert_eq!(s.get_dead_letter(fresh).await.unwrap().unwrap().attempts, 1);
        assert_eq!(
            s.list_dead_letters(Some("actuals"), Some(DeadLetterStatus::Resolved))
                .await
                .unwrap()
                .len(),
            1
        );

        // Reopening the resolved letter would make two unresolved letters for one record.
        let err = s
            .set_dead_letter_status(first, DeadLetterStatus::Open)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected, "{err}");
        let err = s
            .set_dead_letter_status(999_999, DeadLetterStatus::Resolved)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
        assert_eq!(s.get_dead_letter(999_999).await.unwrap(), None);

        // Failures within a window, by last failure time, resolved or not (actuals: 10:00,
        // 11:00 resolved, 12:00; projects: 10:05).
        assert_eq!(s.count_recent_dead_letters(None, at(10, 0)).await.unwrap(), 4);
        assert_eq!(s.count_recent_dead_letters(None, at(10, 1)).await.unwrap(), 3);
        assert_eq!(
            s.count_recent_dead_letters(Some("actuals"), at(10, 1)).await.unwrap(),
            2
        );
        assert_eq!(
            s.count_recent_dead_letters(Some("actuals"), at(11, 30)).await.unwrap(),
            1
        );
        assert_eq!(
            s.count_recent_dead_letters(Some("actuals"), at(12, 1)).await.unwrap(),
            0
        );
    }
);

both!(
    parked_records_wait_for_their_parent,
    |s: StateStore, _url: String| async move {
        s.park(&parked("tasks", "[1]", "projects", "[\"P-1\"]", at(8, 0)))
            .await
            .unwrap();
        s.park(&parked("tasks", "[2]", "projects", "[\"P-1\"]", at(8, 10)))
            .await
            .unwrap();
        s.park(&parked("actuals", "[5]", "projects", "[\"P-1\"]", at(8, 20)))
            .await
            .unwrap();
        s.park(&parked("tasks", "[3]", "projects", "[\"P-2\"]", at(9, 0)))
            .await
            .unwrap();
        // Parking again is idempotent and keeps the first time.
        s.park(&parked("tasks", "[1]", "projects", "[\"P-1\"]", at(9, 30)))
            .await
            .unwrap();
        assert_eq!(s.count_parked("tasks").await.unwrap(), 3);
        assert_eq!(s.count_parked("actuals").await.unwrap(), 1);

        let old = s.parked_older_than(at(8, 15)).await.unwrap();
        assert_eq!(
            old.iter().map(|p| p.record_key.as_str()).collect::<Vec<_>>(),
            ["[1]", "[2]"]
        );
        assert_eq!(old[0].parked_at, at(8, 0));
        assert_eq!(old[0], parked("tasks", "[1]", "projects", "[\"P-1\"]", at(8, 0)));

        let woken = s.take_parked_waiting_for("projects", "[\"P-1\"]").await.unwrap();
        assert_eq!(
            woken
                .iter()
                .map(|p| (p.map.as_str(), p.record_key.as_str()))
                .collect::<Vec<_>>(),
            [("tasks", "[1]"), ("tasks", "[2]"), ("actuals", "[5]")]
        );
        assert!(
            s.take_parked_waiting_for("projects", "[\"P-1\"]")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.count_parked("tasks").await.unwrap(), 1);
        assert_eq!(s.count_parked("actuals").await.unwrap(), 0);

        // Waiting for another parent now.
        s.park(&parked("tasks", "[3]", "projects", "[\"P-3\"]", at(9, 45)))
            .await
            .unwrap();
        assert!(
            s.take_parked_waiting_for("projects", "[\"P-2\"]")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.parked_older_than(at(23, 0)).await.unwrap()[0].waiting_for_key,
            "[\"P-3\"]"
        );
        assert!(s.unpark("tasks", "operational", "[3]").await.unwrap());
        assert!(!s.unpark("tasks", "operational", "[3]").await.unwrap());
        assert_eq!(s.count_parked("tasks").await.unwrap(), 0);
    }
);

both!(skips_are_counted_by_rule, |s: StateStore, _url: String| async move {
    assert!(s.count_skipped_by_rule("actuals").await.unwrap().is_empty());
    s.record_skip("actuals", "operational", "[1]", "zero-amount")
        .await
        .unwrap();
    s.record_skip("actuals", "operational", "[2]", "zero-amount")
        .await
        .unwrap();
    s.record_skip("actuals", "operational", "[3]", "internal-project")
        .await
        .unwrap();
    s.record_skip("actuals", "accounting", "[1]", "zero-amount")
        .await
        .unwrap();
    s.record_skip("projects", "operational", "[1]", "template")
        .await
        .unwrap();
    // A record skipped again by another rule counts once, under the new rule.
    s.record_skip("actuals", "operational", "[2]", "internal-project")
        .await
        .unwrap();
    assert_eq!(
        s.count_skipped_by_rule("actuals").await.unwrap(),
        vec![("internal-project".to_string(), 2), ("zero-amount".to_string(), 2)]
    );
    let three = ["[3]".to_string()];
    assert_eq!(s.clear_skips("actuals", "operational", &three).await.unwrap(), 1);
    assert_eq!(s.clear_skips("actuals", "operational", &three).await.unwrap(), 0);
    assert_eq!(
        s.count_skipped_by_rule("actuals").await.unwrap(),
        vec![("internal-project".to_string(), 1), ("zero-amount".to_string(), 2)]
    );
    assert_eq!(
        s.count_skipped_by_rule("projects").await.unwrap(),
        vec![("template".to_string(), 1)]
    );
});

both!(map_states_and_counters, |s: StateStore, _url: String| async move {
    assert_eq!(s.get_map_state("projects").await.unwrap(), None);
    assert!(s.list_map_states().await.unwrap().is_empty());

    let t0 = Utc::now().trunc_subsecs(6);
    s.set_map_checksum("projects", "sha256:abc", None).await.unwrap();
    let st = s.get_map_state("projects").await.unwrap().unwrap();
    assert_eq!(
        (st.state, st.checksum.as_deref(), st.applied),
        (MapState::Stopped, Some("sha256:abc"), 0)
    );
    assert!(st.updated_at >= t0 - Duration::seconds(5));

    s.set_map_state("projects", MapState::InitialSync, None).await.unwrap();
    s.set_map_state("projects", MapState::Running, Some("caught up"))
        .await
        .unwrap();
    s.record_applied("projects", 10, at(9, 0)).await.unwrap();
    s.record_applied("projects", 5, at(9, 5)).await.unwrap();
    s.set_cursor("projects", "operational", "e", &pos(0, 15)).await.unwrap();
    s.set_cursor("projects", "accounting", "e", &pos(2, 1)).await.unwrap();
    let st = s.get_map_state("projects").await.unwrap().unwrap();
    assert_eq!(st.state, MapState::Running);
    assert_eq!(st.message.as_deref(), Some("caught up"));
    assert_eq!(
        st.checksum.as_deref(),
        Some("sha256:abc"),
        "a state change keeps the checksum"
    );
    assert_eq!((st.applied, st.last_applied_at), (15, Some(at(9, 5))));
    assert_eq!(st.cursors.get("operational"), Some(&pos(0, 15)));
    assert_eq!(st.cursors.get("accounting"), Some(&pos(2, 1)));

    s.set_map_state(
        "actuals",
        MapState::Failed,
        Some("the accounting store refused the schema"),
    )
    .await
    .unwrap();
    s.record_applied("tasks", 1, at(7, 0)).await.unwrap();
    s.set_map_state("projects", MapState::Paused, None).await.unwrap();
    let all = s.list_map_states().await.unwrap();
    assert_eq!(
        all.iter().map(|m| (m.map.as_str(), m.state)).collect::<Vec<_>>(),
        [
            ("actuals", MapState::Failed),
            ("projects", MapState::Paused),
            ("tasks", MapState::Running)
        ]
    );
    assert_eq!(all[1].message, None);
    assert_eq!(all[1].applied, 15);
    assert_eq!(all[1].cursors.len(), 2);
    assert!(all[0].cursors.is_empty());
});

both!(job_log_runs, |s: StateStore, _url: String| async move {
    assert!(s.list_jobs(10).await.unwrap().is_empty());
    let import = s.start_job("journal-import").await.unwrap();
    let post = s.start_job("journal-post").await.unwrap();
    assert_ne!(import, post);
    let running = s.get_job(import).await.unwrap().unwrap();
    assert_eq!(
        (running.status, running.finished_at, running.counts.clone()),
        (JobStatus::Running, None, None)
    );

    let counts = serde_json::json!({"imported": 12, "rejected": 1});
    let errors = serde_json::json!([{"line": 3, "message": "unknown project"}]);
    s.finish_job(import, &counts, &errors, JobStatus::Partial)
        .await
        .unwrap();
    let done = s.get_job(import).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Partial);
    assert_eq!(done.counts, Some(counts));
    assert_eq!(done.errors, Some(errors));
    assert!(done.finished_at.unwrap() >= done.started_at);

    let jobs = s.list_jobs(10).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        [post, import],
        "newest first"
    );
    assert_eq!(s.list_jobs(1).await.unwrap()[0].name, "journal-post");

    let err = s
        .finish_job(
            999_999,
            &serde_json::json!({}),
            &serde_json::json!([]),
            JobStatus::Failed,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(s.get_job(999_999).await.unwrap(), None);
});

both!(
    a_stored_side_that_is_no_side_is_an_error,
    |s: StateStore, url: String| async move {
        let id = s
            .add_dead_letter(&letter("actuals", "operational", "[1]", "bad", at(9, 0)))
            .await
            .unwrap();
        // Another program writes a side that is neither: reading it fails, naming the text,
        // instead of taking it for the operational side.
        let sql = "UPDATE dead_letters SET side = 'sideways'";
        if url.starts_with("sqlite") {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        let err = s.get_dead_letter(id).await.unwrap_err();
        assert!(err.message.contains("unknown side \"sideways\""), "{err}");
    }
);

/// The position of a SQL store's change log at (epoch, seq).
fn pos(epoch: i64, seq: i64) -> Position {
    dualsync::store::Cursor { epoch, seq }.into()
}

/// Where `map` has read entity `e` on `side` to.
fn mark<'a>(map: &'a str, side: &'a str, position: &'a Position) -> FeedMark<'a> {
    FeedMark {
        map,
        side,
        entity: "e",
        position,
    }
}

both!(
    positions_saved_before_issue_13_are_kept,
    |s: StateStore, url: String| async move {
        // Turn the store back into its 0003 shape, with a cursor and a running checkpoint.
        let undo = [
            "DROP TABLE feed_positions",
            "CREATE TABLE cursors (map TEXT NOT NULL, side TEXT NOT NULL, epoch BIGINT NOT NULL, \
             seq BIGINT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (map, side))",
            "ALTER TABLE checkpoints DROP COLUMN head_operational",
            "ALTER TABLE checkpoints DROP COLUMN head_accounting",
            "ALTER TABLE checkpoints ADD COLUMN head_operational_epoch BIGINT",
            "ALTER TABLE checkpoints ADD COLUMN head_operational_seq BIGINT",
            "ALTER TABLE checkpoints ADD COLUMN head_accounting_epoch BIGINT",
            "ALTER TABLE checkpoints ADD COLUMN head_accounting_seq BIGINT",
            "DELETE FROM _dualsync_state_migrations WHERE version = 4",
            "INSERT INTO cursors VALUES ('actuals', 'operational', 812, 77, '2026-12-01T00:00:00.000000Z')",
            "INSERT INTO checkpoints (map, status, side, started_at, head_operational_epoch, \
             head_operational_seq) VALUES ('projects', 'running', 'operational', '2026-12-01T00:00:00.000000Z', 0, 9)",
        ];
        s.close().await;
        if url.starts_with("sqlite") {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            for q in undo {
                sqlx::query(q).execute(&pool).await.unwrap();
            }
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            for q in undo {
                let q = q.replace("updated_at TEXT", "updated_at TIMESTAMPTZ");
                sqlx::query(sqlx::AssertSqlSafe(q)).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        let s = StateStore::open(&url).await.unwrap();
        // The saved cursor is the map's position, whatever its entity (none was saved).
        assert_eq!(
            s.get_cursor("actuals", "operational", "msdyn_actuals").await.unwrap(),
            Some(pos(812, 77))
        );
        let cp = s.get_checkpoint("projects").await.unwrap().unwrap();
        assert_eq!(cp.head_operational, Some(pos(0, 9)));
        assert_eq!(cp.head_accounting, None);
        let mut needed = s.needed_positions("operational").await.unwrap();
        needed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        assert_eq!(needed, vec![pos(0, 9), pos(812, 77)]);
    }
);
