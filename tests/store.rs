//! The SQL store against real databases: every test runs on SQLite and on PostgreSQL.
//! Scan and paging, upserts and projections, deletes, per-row results in a failing batch,
//! the change feed (order, resumption, other programs' writes), identifier injection, and
//! exact decimals.

mod common;

use std::str::FromStr;
use std::time::Duration;

use common::TestStore;
use dualsync::store::{Change, ChangeOp, Cursor, EntityDesc, ErrorKind, Key, Position, RowOutcome, Store, WriteOp};
use dualsync::tablemap::model::Side;
use dualsync::value::{Value, ValueType};
use rust_decimal::Decimal;
use uuid::Uuid;

fn guid(n: u128) -> Value {
    Value::Guid(Uuid::from_u128(n))
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::from_str(s).unwrap())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// `msdyn_actuals` restricted to a few columns (all its NOT NULL ones).
async fn actuals(t: &TestStore) -> EntityDesc {
    let full = t.store.describe("msdyn_actuals").await.unwrap();
    full.project(&[
        "msdyn_company",
        "msdyn_transactionclassification",
        "msdyn_transactiontypecode",
        "msdyn_amount",
        "msdyn_description",
    ])
    .unwrap()
}

fn actual(n: u128, amount: &str, description: &str) -> Vec<Value> {
    vec![
        guid(n),
        text("USPM"),
        Value::Int(192350000),
        Value::Int(192350000),
        dec(amount),
        text(description),
    ]
}

fn upserts(rows: impl IntoIterator<Item = Vec<Value>>) -> Vec<WriteOp> {
    rows.into_iter().map(WriteOp::Upsert).collect()
}

both!(
    describe_reads_logical_types_from_the_catalog,
    Side::Operational,
    |t: TestStore| async move {
        let d = t.store.describe("msdyn_actuals").await.unwrap();
        let col = |n: &str| d.column(n).unwrap().clone();
        assert_eq!(
            d.key_columns().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["msdyn_actualid"]
        );
        assert_eq!(col("msdyn_actualid").value_type, ValueType::Guid);
        assert_eq!(col("msdyn_amount").value_type, ValueType::Decimal);
        assert_eq!(col("msdyn_amount").decimal, Some((19, 4)));
        assert_eq!(col("msdyn_skipsync").value_type, ValueType::Bool);
        assert_eq!(col("msdyn_documentdate").value_type, ValueType::Date);
        assert_eq!(col("msdyn_startdatetime").value_type, ValueType::DateTime);
        assert_eq!(col("msdyn_transactiontypecode").value_type, ValueType::Int);
        assert!(!col("msdyn_company").nullable);
        let entities = t.store.entities().await.unwrap();
        assert!(entities.contains(&"msdyn_projecttasks".to_string()));
        assert!(
            !entities.iter().any(|e| e.starts_with('_')),
            "internal tables are not entities: {entities:?}"
        );
    }
);

both!(
    init_is_idempotent_and_refuses_the_other_side,
    Side::Operational,
    |t: TestStore| async move {
        dualsync::store::sql::init::init(&t.url, Side::Operational)
            .await
            .expect("second init is a no-op");
        let err = match dualsync::store::sql::init::init(&t.url, Side::Accounting).await {
            Ok(_) => panic!("an operational store cannot become the accounting side"),
            Err(e) => e,
        };
        assert!(err.message.contains("initialized as the operational side"), "{err}");
    }
);

both!(
    scan_pages_through_every_row_in_key_order,
    Side::Operational,
    |t: TestStore| async move {
        let desc = actuals(&t).await;
        let rows: Vec<_> = (1..=1234u128)
            .rev()
            .map(|n| actual(n * 7919 % 100_003, "1.5", "x"))
            .collect();
        let outcomes = t.store.apply(&desc, &upserts(rows.clone())).await.unwrap();
        assert!(outcomes.iter().all(|o| *o == RowOutcome::Written));

        let mut seen: Vec<Key> = Vec::new();
        let mut after: Option<Key> = None;
        loop {
            let page = t.store.scan(&desc, after.as_ref(), 100).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 100);
            after = Some(desc.key_of(page.last().unwrap()));
            seen.extend(page.iter().map(|r| desc.key_of(r)));
        }
        let mut expected: Vec<Key> = rows.iter().map(|r| desc.key_of(r)).collect();
        expected.sort_by(|a, b| a[0].compare(&b[0]).unwrap());
        assert_eq!(seen, expected, "every row once, in key order");
    }
);

both!(
    a_scan_of_records_with_a_value_set_leaves_the_others_out,
    Side::Operational,
    |t: TestStore| async move {
        let desc = actuals(&t).await;
        let full = t.store.describe("msdyn_actuals").await.unwrap();
        let with_voucher = full
            .project(&[
                "msdyn_company",
                "msdyn_transactionclassification",
                "msdyn_transactiontypecode",
                "msdyn_amount",
                "msdyn_description",
                "msdyn_vouchernumber",
            ])
            .unwrap();
        // 300 actuals; every seventh has a voucher.
        let rows: Vec<_> = (1..=300u128)
            .map(|n| {
                let mut r = actual(n, "1", "x");
                r.push(if n % 7 == 0 {
                    text(&format!("V{n}"))
                } else {
                    Value::Null
                });
                r
            })
            .collect();
        t.store.apply(&with_voucher, &upserts(rows)).await.unwrap();
        let mut seen = Vec::new();
        let mut after: Option<Key> = None;
        loop {
            let page = t
                .store
                .read_page_set(&with_voucher, after.as_ref(), 10, &["msdyn_vouchernumber"])
                .await
                .unwrap();
            let Some(next) = page.next else { break };
            assert!(page.rows.len() <= 10);
            seen.extend(
                page.rows
                    .iter()
                    .map(|r| r[with_voucher.index_of("msdyn_vouchernumber").unwrap()].clone()),
            );
            after = Some(next);
        }
        let want: Vec<Value> = (1..=300u128)
            .filter(|n| n % 7 == 0)
            .map(|n| text(&format!("V{n}")))
            .collect();
        assert_eq!(seen, want, "only the records with a voucher, in key order");
        // Without columns it is the plain scan.
        let page = t.store.read_page_set(&desc, None, 1000, &[]).await.unwrap();
        assert_eq!(page.rows.len(), 300);
    }
);

both!(
    composite_keys_page_and_get,
    Side::Accounting,
    |t: TestStore| async move {
        let full = t.store.describe("ProjCDSActualsImport").await.unwrap();
        let desc = full.project(&["Amount"]).unwrap();
        assert_eq!(desc.key.len(), 2);
        let mut rows = Vec::new();
        for company in ["DEMF", "USPM"] {
            for n in 1..=30u128 {
                rows.push(vec![text(company), guid(n), dec("10")]);
            }
        }
        t.store.apply(&desc, &upserts(rows.clone())).await.unwrap();
        let mut all = Vec::new();
        let mut after = None;
        while let page @ [_, ..] = &t.store.scan(&desc, after.as_ref(), 7).await.unwrap()[..] {
            after = Some(desc.key_of(page.last().unwrap()));
            all.extend(page.iter().cloned());
        }
        assert_eq!(all, rows, "ordered by (ProjectDataAreaId, ActualId)");
        let got = t
            .store
            .get(&desc, &[vec![text("USPM"), guid(3)], vec![text("USPM"), guid(999)]])
            .await
            .unwrap();
        assert_eq!(
            got,
            vec![vec![text("USPM"), guid(3), dec("10.0000")]],
            "missing keys are left out"
        );
    }
);

both!(
    upserts_update_only_the_projected_columns,
    Side::Operational,
    |t: TestStore| async move {
        let desc = actuals(&t).await;
        t.store
            .apply(&desc, &upserts([actual(1, "12.5", "first"), actual(2, "7", "second")]))
            .await
            .unwrap();
        let amount_only = desc.project(&["msdyn_amount"]).unwrap();
        t.store
            .apply(&amount_only, &[WriteOp::Upsert(vec![guid(1), dec("99.99")])])
            .await
            .unwrap();
        let mut got = t.store.get(&desc, &[vec![guid(1)], vec![guid(2)]]).await.unwrap();
        got.sort_by(|a, b| a[0].compare(&b[0]).unwrap());
        assert_eq!(got[0][4], dec("99.99"));
        assert_eq!(got[0][5], text("first"), "a column outside the projection is untouched");
        assert_eq!(got[1][4], dec("7"));
    }
);

both!(
    deletes_report_whether_the_row_existed,
    Side::Operational,
    |t: TestStore| async move {
        let desc = actuals(&t).await;
        t.store
            .apply(&desc, &upserts([actual(1, "1", "a"), actual(2, "2", "b")]))
            .await
            .unwrap();
        let out = t
            .store
            .apply(
                &desc,
                &[WriteOp::Delete(vec![guid(1)]), WriteOp::Delete(vec![guid(42)])],
            )
            .await
            .unwrap();
        assert_eq!(
            out,
            vec![
                RowOutcome::Deleted { existed: true },
                RowOutcome::Deleted { existed: false }
            ]
        );
        let left = t.store.scan(&desc, None, 10).await.unwrap();
        assert_eq!(left.len(), 1);
        // Ops apply in order: an upsert then a delete of the same key leaves nothing.
        t.store
            .apply(
                &desc,
                &[WriteOp::Upsert(actual(3, "3", "c")), WriteOp::Delete(vec![guid(3)])],
            )
            .await
            .unwrap();
        assert!(t.store.get(&desc, &[vec![guid(3)]]).await.unwrap().is_empty());
    }
);

both!(
    a_failing_batch_reports_each_row_and_keeps_the_good_ones,
    Side::Operational,
    |t: TestStore| async move {
        // Tasks need their project (a foreign key the database enforces).
        let projects = t
            .store
            .describe("msdyn_projects")
            .await
            .unwrap()
            .project(&["msdyn_company", "msdyn_subject"])
            .unwrap();
        t.store
            .apply(&projects, &[WriteOp::Upsert(vec![guid(100), text("USPM"), text("P")])])
            .await
            .unwrap();
        let tasks = t
            .store
            .describe("msdyn_projecttasks")
            .await
            .unwrap()
            .project(&["msdyn_project", "msdyn_company", "msdyn_subject"])
            .unwrap();
        let task = |n: u128, project: u128| vec![guid(n), guid(project), text("USPM"), text("t")];
        let ops = upserts([
            task(1, 100),
            task(2, 555),                                     // no such project: the database refuses it
            vec![guid(3), guid(100), Value::Null, text("t")], // msdyn_company is NOT NULL
            task(4, 100),
        ]);
        let out = t.store.apply(&tasks, &ops).await.unwrap();
        assert_eq!(out[0], RowOutcome::Written);
        assert!(
            matches!(&out[1], RowOutcome::Rejected { message } if message.to_lowercase().contains("foreign key")),
            "{:?}",
            out[1]
        );
        assert!(
            matches!(&out[2], RowOutcome::Rejected { message } if message.contains("msdyn_company")),
            "{:?}",
            out[2]
        );
        assert_eq!(out[3], RowOutcome::Written);
        let stored = t.store.scan(&tasks, None, 10).await.unwrap();
        assert_eq!(
            stored.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            vec![guid(1), guid(4)]
        );

        // A decimal that does not fit is refused, never rounded.
        let desc = actuals(&t).await;
        let out = t
            .store
            .apply(
                &desc,
                &upserts([actual(7, "0.00001", "too precise"), actual(8, "1", "ok")]),
            )
            .await
            .unwrap();
        assert!(
            matches!(&out[0], RowOutcome::Rejected { message } if message.contains("allows 4")),
            "{:?}",
            out[0]
        );
        assert_eq!(out[1], RowOutcome::Written);
    }
);

both!(
    exact_decimals_round_trip,
    Side::Operational,
    |t: TestStore| async move {
        let ddl = match t.backend {
            "sqlite" => {
                "CREATE TABLE money (id INTEGER PRIMARY KEY, a DECIMAL_TEXT(28,10), b DECIMAL_TEXT(28,28), c DECIMAL_TEXT(28,0))"
            }
            _ => "CREATE TABLE money (id BIGINT PRIMARY KEY, a NUMERIC(28,10), b NUMERIC(28,28), c NUMERIC(28,0))",
        };
        t.store.execute_script(ddl).await.unwrap();
        let desc = t.store.describe("money").await.unwrap();
        let sum = Decimal::from_str("0.1").unwrap() + Decimal::from_str("0.2").unwrap();
        let cases: Vec<[&str; 3]> = vec![
            ["0.3", "0.1234567890123456789012345678", "9999999999999999999999999999"],
            [
                "-123456789012345678.0123456789",
                "-0.0000000000000000000000000001",
                "-1",
            ],
            ["0", "0", "0"],
        ];
        let mut ops = vec![WriteOp::Upsert(vec![
            Value::Int(0),
            Value::Decimal(sum),
            Value::Null,
            Value::Null,
        ])];
        for (i, c) in cases.iter().enumerate() {
            ops.push(WriteOp::Upsert(vec![
                Value::Int(i as i64 + 1),
                dec(c[0]),
                dec(c[1]),
                dec(c[2]),
            ]));
        }
        assert!(
            t.store
                .apply(&desc, &ops)
                .await
                .unwrap()
                .iter()
                .all(|o| *o == RowOutcome::Written)
        );
        let rows = t.store.scan(&desc, None, 10).await.unwrap();
        assert_eq!(rows[0][1], dec("0.3"), "0.1 + 0.2 = 0.3 exactly");
        for (i, c) in cases.iter().enumerate() {
            for (j, want) in c.iter().enumerate() {
                let Value::Decimal(got) = &rows[i + 1][j + 1] else {
                    panic!("not a decimal: {:?}", rows[i + 1])
                };
                assert_eq!(*got, Decimal::from_str(want).unwrap(), "row {i} column {j}");
            }
        }
        if t.backend == "sqlite" {
            // Stored as canonical text at the column's scale, never as a floating-point number.
            let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
            let stored: String = sqlx::query_scalar("SELECT typeof(a) || ' ' || a FROM money WHERE id = 0")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(stored, "text 0.3000000000");
        }
    }
);

both!(
    change_feed_is_ordered_and_resumable,
    Side::Operational,
    |t: TestStore| async move {
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        let start = t.store.head("msdyn_actuals").await.unwrap();
        let read = |from: Position, limit: usize| {
            let store = &t.store;
            async move { store.changes("msdyn_actuals", &from, limit).await.unwrap().changes }
        };
        let at = |c: &Change| c.position.clone().expect("a SQL store gives each entry a position");
        let desc = actuals(&t).await;
        t.store
            .apply(&desc, &upserts([actual(1, "1", "a"), actual(2, "2", "b")]))
            .await
            .unwrap();
        t.store.apply(&desc, &upserts([actual(1, "5", "a2")])).await.unwrap();
        t.store.apply(&desc, &[WriteOp::Delete(vec![guid(2)])]).await.unwrap();

        let all = read(start, 100).await;
        let summary: Vec<(ChangeOp, Value)> = all.iter().map(|c| (c.op, c.key[0].clone())).collect();
        assert_eq!(
            summary,
            vec![
                (ChangeOp::Insert, guid(1)),
                (ChangeOp::Insert, guid(2)),
                (ChangeOp::Update, guid(1)),
                (ChangeOp::Delete, guid(2))
            ]
        );
        let cursor = |c: &Change| Cursor::of(&at(c)).unwrap();
        assert!(
            all.windows(2).all(|w| cursor(&w[0]) < cursor(&w[1])),
            "strictly increasing cursors"
        );
        assert!(all.iter().all(|c| c.entity == "msdyn_actuals"));
        // Resuming from any entry returns exactly the entries after it, page by page; a full
        // page goes on after its last entry.
        let page = t.store.changes("msdyn_actuals", &at(&all[1]), 1).await.unwrap();
        assert_eq!(page.changes, vec![all[2].clone()]);
        assert_eq!(page.next, at(&all[2]));
        let rest = t.store.changes("msdyn_actuals", &page.next, 100).await.unwrap();
        assert_eq!(rest.changes, vec![all[3].clone()]);
        assert_eq!(rest.next, at(&all[3]));
        assert_eq!(t.store.head("msdyn_actuals").await.unwrap(), at(&all[3]));
        // A position survives being written down and read back.
        let saved = Position::new(at(&all[3]).to_string());
        let end = t.store.changes("msdyn_actuals", &saved, 100).await.unwrap();
        assert!(end.changes.is_empty());
        assert_eq!(end.next, saved, "nothing new: the position stays");
    }
);

both!(
    changing_a_key_is_a_delete_and_an_insert_of_the_new_key,
    Side::Operational,
    |t: TestStore| async move {
        t.store.install_capture(&["msdyn_actuals"]).await.unwrap();
        let desc = actuals(&t).await;
        t.store.apply(&desc, &upserts([actual(1, "1", "a")])).await.unwrap();
        let from = t.store.head("msdyn_actuals").await.unwrap();
        t.run_client(&format!(
            "UPDATE msdyn_actuals SET msdyn_actualid = '{}' WHERE msdyn_actualid = '{}'",
            Uuid::from_u128(9),
            Uuid::from_u128(1)
        ));
        let changes = t.store.changes("msdyn_actuals", &from, 10).await.unwrap().changes;
        let summary: Vec<(ChangeOp, Value)> = changes.iter().map(|c| (c.op, c.key[0].clone())).collect();
        assert_eq!(summary, vec![(ChangeOp::Delete, guid(1)), (ChangeOp::Update, guid(9))]);
    }
);

both!(
    changes_made_by_another_program_are_captured,
    Side::Operational,
    |t: TestStore| async move {
        t.store
            .install_capture(&["msdyn_actuals", "msdyn_projects"])
            .await
            .unwrap();
        // Installing twice is harmless (and is how capture is upgraded).
        t.store
            .install_capture(&["msdyn_actuals", "msdyn_projects"])
            .await
            .unwrap();
        let from = t.store.head("msdyn_projects").await.unwrap();
        let mut wake = t.store.watch();
        wake.borrow_and_update();
        let id = Uuid::from_u128(77);
        t.run_client(&format!(
        "INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company, msdyn_subject) VALUES ('{id}', 'DEMF', 'by client');
         UPDATE msdyn_projects SET msdyn_subject = 'renamed' WHERE msdyn_projectid = '{id}';
         DELETE FROM msdyn_projects WHERE msdyn_projectid = '{id}';"
    ));
        tokio::time::timeout(Duration::from_secs(30), wake.changed())
            .await
            .expect("the watcher wakes readers after another program's commit")
            .unwrap();
        let changes = t.store.changes("msdyn_projects", &from, 10).await.unwrap().changes;
        let summary: Vec<(&str, ChangeOp, Value)> = changes
            .iter()
            .map(|c| (c.entity.as_str(), c.op, c.key[0].clone()))
            .collect();
        let g = Value::Guid(id);
        assert_eq!(
            summary,
            vec![
                ("msdyn_projects", ChangeOp::Insert, g.clone()),
                ("msdyn_projects", ChangeOp::Update, g.clone()),
                ("msdyn_projects", ChangeOp::Delete, g)
            ]
        );
    }
);

both!(
    each_entity_has_a_feed_of_its_own,
    Side::Operational,
    |t: TestStore| async move {
        t.store
            .install_capture(&["msdyn_actuals", "msdyn_projects"])
            .await
            .unwrap();
        let start = t.store.head("msdyn_actuals").await.unwrap();
        let desc = actuals(&t).await;
        t.store.apply(&desc, &upserts([actual(1, "1", "a")])).await.unwrap();
        let id = Uuid::from_u128(78);
        t.run_client(&format!(
            "INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company, msdyn_subject) VALUES ('{id}', 'DEMF', 'p')"
        ));
        t.store.apply(&desc, &upserts([actual(2, "2", "b")])).await.unwrap();

        // A reader of actuals gets only the actuals, in order.
        let actuals_feed = t.store.changes("msdyn_actuals", &start, 100).await.unwrap();
        let keys: Vec<Value> = actuals_feed.changes.iter().map(|c| c.key[0].clone()).collect();
        assert_eq!(keys, vec![guid(1), guid(2)]);
        assert!(actuals_feed.changes.iter().all(|c| c.entity == "msdyn_actuals"));
        // A reader of projects gets only the project.
        let projects = t.store.changes("msdyn_projects", &start, 100).await.unwrap();
        assert_eq!(projects.changes.len(), 1);
        assert_eq!(projects.changes[0].key, vec![Value::Guid(id)]);
        // A reader of a quiet entity moves on past the others' changes, so its position never
        // holds the log back, and it reads nothing twice.
        let quiet = t.store.changes("msdyn_projects", &projects.next, 100).await.unwrap();
        assert!(quiet.changes.is_empty());
        assert_eq!(quiet.next, actuals_feed.next, "both at the head");
        assert!(Cursor::of(&projects.next).unwrap() > Cursor::of(&start).unwrap());
        // A position that is not one of this store is refused, with a hint.
        let err = t
            .store
            .changes(
                "msdyn_actuals",
                &Position::new("https://org/api/data/v9.2/x?$deltatoken=1"),
                10,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(err.hint.is_some());
    }
);

both!(
    identifiers_are_checked_against_the_catalog,
    Side::Operational,
    |t: TestStore| async move {
        for bad in [
            "msdyn_actuals; DROP TABLE msdyn_projects",
            "msdyn_actuals\" --",
            "msdyn_actual",
        ] {
            let err = t.store.describe(bad).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::NotFound, "{bad}: {err}");
        }
        assert!(
            t.store
                .describe("msdyn_actual")
                .await
                .unwrap_err()
                .to_string()
                .contains("did you mean `msdyn_actuals`?")
        );
        let desc = actuals(&t).await;
        let err = desc.project(&["msdyn_amount\" = 0; --"]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        // A forged description never reaches SQL.
        let mut forged = desc.clone();
        forged.columns[5].name = "msdyn_description\"; DROP TABLE msdyn_projects; --".into();
        let err = t.store.scan(&forged, None, 10).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
        let mut forged = desc.clone();
        forged.name = "msdyn_projects".into();
        assert!(
            t.store.apply(&forged, &[]).await.is_err(),
            "columns must belong to the named entity"
        );
        // Values are bound, never spliced: quotes are just text.
        let evil = "'); DROP TABLE msdyn_projects; --";
        t.store.apply(&desc, &upserts([actual(5, "1", evil)])).await.unwrap();
        assert_eq!(t.store.get(&desc, &[vec![guid(5)]]).await.unwrap()[0][5], text(evil));
        assert!(t.store.describe("msdyn_projects").await.is_ok());
    }
);

#[tokio::test]
async fn unreachable_stores_are_refused_with_a_clear_message() {
    let err = match dualsync::store::sql::SqlStore::open("postgres://postgres:secret@127.0.0.1:1/nope").await {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e,
    };
    let shown = err.to_string();
    assert!(
        shown.contains("cannot open the store at postgres://postgres:***@127.0.0.1:1/nope"),
        "{shown}"
    );
    assert!(!shown.contains("secret"), "passwords never appear in messages: {shown}");
    assert!(shown.contains("hint"), "{shown}");

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let err = match dualsync::store::sql::SqlStore::open(&url).await {
        Ok(_) => panic!("opening does not create"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("dualsync store init"), "{err}");
}

/// PostgreSQL only: an entry of a transaction that commits late is never skipped, because the
/// feed stops at the oldest running transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_never_skips_a_late_commit() {
    let t = TestStore::postgres("late_commit", Side::Operational).await;
    t.store.install_capture(&["msdyn_projects"]).await.unwrap();
    let start = t.store.head("msdyn_projects").await.unwrap();
    let pool = sqlx::PgPool::connect(&t.url).await.unwrap();
    let mut early = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company) VALUES ($1, 'USPM')")
        .bind(Uuid::from_u128(1))
        .execute(&mut *early)
        .await
        .unwrap();
    // A later transaction commits first.
    sqlx::query("INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company) VALUES ($1, 'USPM')")
        .bind(Uuid::from_u128(2))
        .execute(&pool)
        .await
        .unwrap();
    let visible = t.store.changes("msdyn_projects", &start, 100).await.unwrap();
    assert!(
        visible.changes.is_empty(),
        "nothing past a running transaction is handed out: {visible:?}"
    );
    assert_eq!(visible.next, start, "nor does the position move past it");
    early.commit().await.unwrap();
    let all = t.store.changes("msdyn_projects", &start, 100).await.unwrap().changes;
    let keys: Vec<Value> = all.iter().map(|c| c.key[0].clone()).collect();
    assert_eq!(keys, vec![guid(1), guid(2)], "both, the early transaction first");
}
