//! `dualsync bench` end to end at a tiny size, so the benchmark keeps working (it is run by hand
//! at a million actuals; docs/performance.md): on SQLite and PostgreSQL in one run, it writes a
//! JSON report in which the raw copy and dualsync staged the same actuals at both row counts,
//! reconcile then found them in sync, every live change arrived, and the markdown table names both backends. Nothing here asserts
//! a time or a rate.

use std::process::Command;

#[test]
fn the_benchmark_runs_and_reports_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let pg = std::env::var("DUALSYNC_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let out = dir.path().join("results");
    let out_arg = out.display().to_string();
    let maps = concat!(env!("CARGO_MANIFEST_DIR"), "/table-maps");
    let run = Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args([
            "bench",
            "--rows",
            "437",
            "--small-rows",
            "111",
            "--live-seconds",
            "2",
            "--step-seconds",
            "0",
            "--rate",
            "200",
            "--burst",
            "300",
        ])
        .args(["--backend", "sqlite", "--backend", "postgres", "--pg-url", &pg])
        // A relative work folder, as the default `bench/work` is: the SQLite paths written into
        // the children's configuration must not be taken relative to that folder again.
        .args(["--work-dir", "work", "--out", &out_arg, "--maps", maps])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "dualsync bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("| sqlite |") && stdout.contains("| postgres |"),
        "{stdout}"
    );

    let json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a JSON report");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let backends = report["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 2);
    for b in backends {
        let name = &b["backend"];
        let sizes = b["sizes"].as_array().unwrap();
        assert_eq!(
            sizes
                .iter()
                .map(|s| s["actuals_seeded"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            vec![111, 437],
            "{name}"
        );
        for s in sizes {
            let (raw, synced) = (
                s["raw"]["rows"].as_u64().unwrap(),
                s["dualsync"]["rows"].as_u64().unwrap(),
            );
            assert_eq!(raw, synced, "{name}: the raw copy and dualsync staged the same actuals");
            // Skip Sync leaves out a few percent of the seeded actuals, never most of them.
            assert!(raw > s["actuals_seeded"].as_u64().unwrap() * 9 / 10, "{name}: {raw}");
            assert!(
                s["peak_rss_mib"].as_f64().unwrap() > 1.0,
                "{name}: memory read from the child"
            );
            // Reconcile ran after the initial sync and found the stores in sync (it fails the
            // run otherwise), over the staged actuals.
            assert_eq!(s["reconcile"]["rows"], synced, "{name}");
            assert!(s["reconcile_peak_rss_mib"].as_f64().unwrap() > 1.0, "{name}");
        }
        let live = &b["live"];
        let fixed = &live["fixed"];
        assert!(fixed["changes"].as_u64().unwrap() > 0, "{name}: {live}");
        assert_eq!(fixed["arrived"], fixed["changes"], "{name}: every live change arrived");
        assert_eq!(live["lost"], 0, "{name}");
        let burst = &live["burst"];
        assert_eq!(burst["rows"], 300, "{name}: {burst}");
        assert_eq!(burst["arrived"], 300, "{name}: every actual of the burst arrived");
        assert!(burst["drain_rate"].as_f64().unwrap() > 0.0, "{name}: {burst}");
    }
    assert!(
        report["backends"][1]["server"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL")
    );
}
