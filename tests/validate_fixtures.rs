//! The validator against malformed maps: every fixture under `tests/fixtures/invalid/` names,
//! in trailing `# expect: LINE:COL: MESSAGE` comments, exactly the problems it must produce.
//! Also: every shipped map validates, and `validate`/`schema` behave as documented.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use dualsync::tablemap;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

/// The map files of a fixture: the file itself, or the files of a fixture folder.
fn fixture_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    }
}

type Problem = (String, usize, usize, String);

fn expected(path: &Path) -> BTreeSet<Problem> {
    let mut out = BTreeSet::new();
    for file in fixture_files(path) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("# expect: ") else {
                continue;
            };
            let mut parts = rest.splitn(3, ':');
            let l = parts.next().unwrap().trim().parse().unwrap();
            let c = parts.next().unwrap().trim().parse().unwrap();
            let msg = parts.next().unwrap().trim().to_string();
            out.insert((name_of(&file), l, c, msg));
        }
    }
    out
}

fn name_of(file: &Path) -> String {
    file.strip_prefix(fixtures_dir()).unwrap().display().to_string()
}

#[test]
fn every_malformed_fixture_fails_with_its_exact_problems() {
    let root = fixtures_dir();
    let prefix = format!("{}/", root.display());
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    fixtures.sort();
    assert!(fixtures.len() >= 25, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let want = expected(fixture);
        assert!(!want.is_empty(), "{} has no `# expect:` line", fixture.display());
        let loaded = tablemap::load(std::slice::from_ref(fixture)).unwrap();
        assert!(!loaded.is_valid(), "{} should be invalid", fixture.display());
        assert!(
            loaded.valid.is_empty(),
            "{}: no checked map from a set with problems",
            fixture.display()
        );
        let got: BTreeSet<Problem> = loaded
            .diagnostics
            .iter()
            .map(|d| (name_of(&d.file), d.line, d.column, d.message.replace(&prefix, "")))
            .collect();
        for d in &loaded.diagnostics {
            assert!(d.hint.is_some(), "{}: no hint for {}", d.location(), d.message);
            let shown = d.to_string();
            assert!(shown.contains(&d.source_line) && shown.contains('^'), "{shown}");
        }
        if got != want {
            failures.push(format!("{}:\n  expected {want:#?}\n  got {got:#?}", fixture.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_shipped_map_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    let loaded = tablemap::load(&[dir]).unwrap();
    let shown: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(loaded.is_valid(), "{}", shown.join("\n\n"));
    let names: BTreeSet<&str> = loaded.maps().map(|m| m.name.as_str()).collect();
    let checked: BTreeSet<&str> = loaded.valid.iter().map(|v| v.map().name.as_str()).collect();
    assert_eq!(checked, names, "every valid map comes out in its checked form");
    let want: BTreeSet<&str> = [
        "actuals",
        "contract-line-milestones",
        "contract-lines",
        "expense-categories",
        "expense-estimates",
        "funding-sources",
        "hour-estimates",
        "material-estimates",
        "project-contracts",
        "project-expenses",
        "project-invoice-proposals",
        "project-tasks",
        "project-vendor-invoice-lines",
        "project-vendor-invoices",
        "projects",
        "resource-roles",
        "transaction-categories",
        "transaction-connections",
    ]
    .into();
    assert_eq!(names, want);
}

fn dualsync(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn validate_exit_codes_and_summary() {
    let ok = dualsync(&["validate", "table-maps"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.starts_with("valid: 18 maps: actuals ("), "{out}");
    assert!(out.contains("hour-estimates (="), "{out}");

    let bad = dualsync(&["validate", "tests/fixtures/invalid/11-column-written-twice.toml"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains(
            "11-column-written-twice.toml:26:14: error: accounting column `ProjectName` is written by fields #2 and #3"
        ),
        "{err}"
    );
    assert!(
        err.contains("26 | accounting = \"ProjectName\"\n   |              ^^^^^^^^^^^^^"),
        "{err}"
    );

    let usage = dualsync(&["validate", "no/such/folder"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("no/such/folder: no such file or folder"));
}

#[test]
fn schema_is_valid_json_schema_that_accepts_shipped_maps_and_rejects_bad_ones() {
    let out = dualsync(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    assert!(jsonschema::meta::is_valid(&schema), "not a valid JSON Schema");
    let validator = jsonschema::validator_for(&schema).unwrap();
    let as_json = |path: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap();
        toml::from_str(&text).unwrap()
    };
    let maps = Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps");
    for entry in std::fs::read_dir(maps).unwrap() {
        let path = entry.unwrap().path();
        let doc = as_json(&path);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    let bad = as_json(&fixtures_dir().join("02-unknown-top-key.toml"));
    assert!(!validator.is_valid(&bad));
}
