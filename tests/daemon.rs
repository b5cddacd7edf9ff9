//! `dualsync run` as an operator starts it: from an empty folder with a configuration on
//! SQLite files, it creates the stores, seeds the demo data, syncs every map, reports every
//! map running in `dualsync status`, and exits 0 on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_daemon_starts_syncs_reports_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let maps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let config = dir.path().join("dualsync.toml");
    let url = |name: &str| format!("sqlite://{}", dir.path().join("data").join(name).display());
    std::fs::write(
        &config,
        format!(
            "maps = \"{}\"\ncompanies = [\"USPM\", \"DEMF\"]\ndemo = true\n\
             [operational]\nurl = \"{}\"\n[accounting]\nurl = \"{}\"\n[state]\nurl = \"{}\"\n[log]\nformat = \"json\"\n",
            maps.display(),
            url("operational.db"),
            url("accounting.db"),
            url("state.db")
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_dualsync");
    let mut daemon = Command::new(bin)
        .args(["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        std::thread::sleep(Duration::from_millis(500));
        let out = Command::new(bin)
            .args(["status", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = text.lines().skip(1).filter(|l| !l.starts_with(' ')).collect();
        if lines.len() == 13 && lines.iter().all(|l| l.split_whitespace().nth(1) == Some("running")) {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "maps not all running:\n{text}"
        );
        assert!(daemon.try_wait().unwrap().is_none(), "the daemon exited early");
    };
    let links = |map: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(&format!("{map} "))).unwrap();
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    assert_eq!(
        links("actuals"),
        9700,
        "10,000 demo actuals, 300 skipped by rule\n{status}"
    );
    assert_eq!(links("resource-roles"), 10, "5 roles in 2 companies\n{status}");
    assert_eq!(links("transaction-categories"), 24, "6 categories x 4 types\n{status}");
    assert_eq!(
        links("project-tasks"),
        264,
        "every parked task synced once its parent was\n{status}"
    );

    unsafe {
        // SIGTERM: finish the batch, save cursors, exit 0.
        assert_eq!(libc_kill(daemon.id() as i32, 15), 0);
    }
    let code = daemon.wait().unwrap();
    assert_eq!(code.code(), Some(0));
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
