//! The deployment files in `deploy/` are checked with the tools that read them: the systemd
//! unit with `systemd-analyze verify` (its `ExecStart` pointed at the binary under test, since
//! verify checks that the command exists); any warning fails the test.

use std::process::Command;

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
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}
