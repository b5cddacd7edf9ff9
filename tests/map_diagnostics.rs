//! What `dualsync validate` says about the mistakes admins make most, word for word: one typo
//! in one map is one problem (maps that require or look it up are not reported too), a cycle
//! names every edge where it is written, a duplicate key names its first definition, a
//! look-alike Unicode character is named, a top-level key written after `[[fields]]` is
//! explained, and `"<>"` as a direction points to `"="`.

use std::path::{Path, PathBuf};
use std::process::Command;

use dualsync::tablemap;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/invalid")
        .join(name)
}

/// Every problem `validate` finds under `path`, rendered as shown to admins, with the
/// fixture folder left out of file names.
fn problems(path: &Path) -> Vec<String> {
    let loaded = tablemap::load(&[path.to_path_buf()]).unwrap();
    let prefix = format!(
        "{}/invalid/",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").display()
    );
    loaded
        .diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, ""))
        .collect()
}

fn only(path: &Path) -> String {
    let all = problems(path);
    assert_eq!(all.len(), 1, "exactly one problem expected:\n{}", all.join("\n\n"));
    all.into_iter().next().unwrap()
}

#[test]
fn a_broken_map_does_not_make_its_dependents_report_an_unknown_map() {
    // The broken map's name is known from its parsed `name`...
    assert_eq!(
        only(&fixture("48-required-map-broken")),
        "48-required-map-broken/projects.toml:3:13: error: `direction` cannot be \"->\"\n  |\n3 | direction = \"->\"\n  \
         |             ^^^^\n  = hint: did you mean \">\" (operational to accounting)? the directions are \">\" \
         operational to accounting, \"<\" accounting to operational and \"=\" both ways"
    );
    // ... or, when the file is not even TOML, from its `name = "..."` line read leniently.
    let shown = only(&fixture("49-required-map-lookalike-name"));
    assert!(
        shown.starts_with("49-required-map-lookalike-name/broken.toml:1:4: error: TOML syntax"),
        "{shown}"
    );
}

#[test]
fn one_lookalike_letter_in_a_shipped_map_is_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("table-maps")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    // Eight maps require or look up `projects`; its `name` key gets a Cyrillic `а`.
    let file = dir.path().join("projects.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("\nname = ", "\nn\u{0430}me = ", 1)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["validate", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(err.matches(": error: ").count(), 1, "{err}");
    assert!(
        err.contains(
            "projects.toml:21:2: error: TOML syntax: invalid unquoted key, expected letters, numbers, `-`, `_`: \
             `\u{0430}` is U+0430 CYRILLIC SMALL LETTER A, not the ASCII letter `a`"
        ),
        "{err}"
    );
    assert!(err.contains("= hint: retype it in plain ASCII: `name`"), "{err}");
    assert!(stdout.contains("invalid: 1 problem in 1 file"), "{stdout}");
}

#[test]
fn a_cycle_names_every_edge_with_its_place() {
    assert_eq!(
        only(&fixture("43-requires-cycle")),
        "43-requires-cycle/c.toml:3:13: error: maps depend on each other in a cycle: a -> b -> c -> a\n  |\n\
         3 | requires = [\"a\"]\n  |             ^^^\n  \
         = note: 43-requires-cycle/a.toml:3:13: \"a\" requires \"b\"\n  \
         = note: 43-requires-cycle/b.toml:3:13: \"b\" requires \"c\"\n  \
         = note: 43-requires-cycle/c.toml:3:13: \"c\" requires \"a\"\n  \
         = hint: one of these maps must not require (or look up) the other; break the cycle"
    );
}

#[test]
fn a_cycle_through_a_lookup_names_the_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixture("43-requires-cycle/a.toml")).unwrap();
    std::fs::write(dir.path().join("a.toml"), &base).unwrap();
    let b = base
        .replace("name = \"a\"", "name = \"b\"")
        .replace("requires = [\"b\"]\n", "")
        + "\n[[fields]]\noperational = \"msdyn_parent\"\naccounting = \"ParentId\"\ntype = \"guid\"\nlookup = \"a\"\n";
    std::fs::write(dir.path().join("b.toml"), b).unwrap();
    let shown = only(dir.path());
    let prefix = format!("{}/", dir.path().display());
    let shown = shown.replace(&prefix, "");
    assert!(
        shown.starts_with("b.toml:28:10: error: maps depend on each other in a cycle: a -> b -> a"),
        "{shown}"
    );
    assert!(shown.contains("= note: a.toml:3:13: \"a\" requires \"b\"\n"), "{shown}");
    assert!(
        shown.contains("= note: b.toml:28:10: \"b\" looks up \"a\"\n"),
        "{shown}"
    );
}

#[test]
fn a_duplicate_key_names_the_key_and_its_first_definition() {
    let shown = only(&fixture("44-duplicate-key.toml"));
    assert_eq!(
        shown,
        "44-duplicate-key.toml:3:1: error: TOML syntax: duplicate key `name`: first defined at \
         44-duplicate-key.toml:1:1\n  |\n3 | name = \"projects-again\"\n  | ^^^^\n  \
         = hint: a key is set once per table; keep one of the two"
    );
}

#[test]
fn a_duplicate_table_is_one_problem_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixture("43-requires-cycle/a.toml")).unwrap();
    let file = dir.path().join("a.toml");
    std::fs::write(&file, base + "\n[operational]\nentity = \"msdyn_projects\"\n").unwrap();
    let shown = only(&file);
    assert!(
        shown.contains("a.toml:25:2: error: TOML syntax: duplicate table `[operational]`: first defined at "),
        "{shown}"
    );
    assert!(shown.contains("a.toml:5:2\n"), "{shown}");
    assert!(shown.ends_with("= hint: merge the two `[operational]` tables into one; a table is written once"));
}

#[test]
fn a_lookalike_character_in_a_key_is_named() {
    let shown = only(&fixture("45-lookalike-key.toml"));
    assert!(
        shown.starts_with(
            "45-lookalike-key.toml:1:4: error: TOML syntax: invalid unquoted key, expected letters, numbers, `-`, \
             `_`: `\u{0435}` is U+0435 CYRILLIC SMALL LETTER IE, not the ASCII letter `e`\n"
        ),
        "{shown}"
    );
    assert!(shown.ends_with("= hint: retype it in plain ASCII: `name`"), "{shown}");

    // Quoted, the key parses and is unknown; the required key it stands for is not also "missing".
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixture("43-requires-cycle/a.toml")).unwrap();
    let file = dir.path().join("a.toml");
    std::fs::write(&file, base.replace("name = \"a\"", "\"nam\u{0435}\" = \"a\"")).unwrap();
    let shown = only(&file);
    assert!(
        shown.contains(
            "a.toml:1:1: error: unknown key `nam\u{0435}` in the top level: `\u{0435}` is U+0435 CYRILLIC SMALL \
             LETTER IE, not the ASCII letter `e`"
        ),
        "{shown}"
    );
    assert!(
        shown.ends_with("= hint: retype the key in plain ASCII: `name`"),
        "{shown}"
    );
}

#[test]
fn a_top_level_key_after_the_fields_is_explained() {
    let shown = only(&fixture("46-top-level-key-after-fields.toml"));
    assert_eq!(
        shown,
        "46-top-level-key-after-fields.toml:24:1: error: unknown key `requires` in fields #2\n   |\n\
         24 | requires = [\"project-contracts\"]\n   | ^^^^^^^^\n   \
         = hint: `requires` is a top-level key, but TOML puts every key after the `[[fields]]` line (line 20) \
         into that table; move `requires` above the first `[...]` line of the file"
    );
}

#[test]
fn both_ways_written_as_angle_brackets_suggests_equals() {
    let shown = only(&fixture("47-direction-both-ways.toml"));
    assert!(shown.starts_with("47-direction-both-ways.toml:3:13: error: `direction` cannot be \"<>\"\n"));
    assert!(
        shown.ends_with(
            "= hint: did you mean \"=\" (both ways)? the directions are \">\" operational to accounting, \"<\" \
             accounting to operational and \"=\" both ways"
        ),
        "{shown}"
    );
}
