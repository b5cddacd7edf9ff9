//! The deployment files in `deploy/` are checked with the tools that read them: the systemd
//! unit with `systemd-analyze verify` (its `ExecStart` pointed at the binary under test, since
//! verify checks that the command exists; any warning fails the test); the Prometheus alert
//! rules with `promtool check rules`, and the metrics they use against the documented ones.

mod common;

use std::process::Command;

use common::metrics::{promtool, said};

#[test]
fn the_systemd_unit_verifies() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/dualsync.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/dualsync run"), "{unit}");
    assert!(
        unit.contains("Type=notify"),
        "the daemon tells systemd when it is ready"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dualsync.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/dualsync", env!("CARGO_BIN_EXE_dualsync")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (from the systemd package) runs");
    let said = said(&out);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}

#[test]
fn the_alert_rules_pass_promtool() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus-alerts.yml");
    let Some((ok, said)) = promtool(&["check", "rules", path], "") else {
        return;
    };
    assert!(ok && said.contains("SUCCESS"), "promtool check rules:\n{said}");
    // Every metric the rules use is one dualsync exports (docs/operations.md lists them).
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus-alerts.yml")).unwrap();
    let documented = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("dualsync_") {
            assert!(
                documented.contains(&format!("`{word}`")),
                "{word} is not a documented metric"
            );
        }
    }
}
