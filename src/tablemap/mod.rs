//! The table-map language admins write: the file model, parsing with source positions,
//! validation that reports every problem at once, and the filter language.

pub mod diagnostic;
pub mod filter;
pub mod lookalike;
pub mod model;
pub mod parse;
mod parse_syntax;
pub mod valid;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, SourceFile};
pub use model::TableMap;
pub use parse::ParsedFile;
pub use valid::ValidMap;

/// The JSON Schema of the table-map format, generated from the Rust types.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TableMap)).expect("a schema is always JSON")
}

/// A problem with the command itself rather than with a map: a path that does not exist,
/// a folder without map files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such file or folder")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read it: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{path}: holds no map files (*.toml)")]
    NoMaps { path: PathBuf },
}

/// Every map file found, every problem in them, and, when there is none, the checked maps.
#[derive(Debug)]
pub struct Loaded {
    pub files: Vec<ParsedFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every map in its checked form, in file order; empty unless `diagnostics` is.
    pub valid: Vec<ValidMap>,
}

impl Loaded {
    pub fn is_valid(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Orders problems by file, line and column.
    pub fn sort_diagnostics(&mut self) {
        self.diagnostics
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }

    /// The maps that parsed, in file order.
    pub fn maps(&self) -> impl Iterator<Item = &TableMap> {
        self.files.iter().filter_map(|f| f.map.as_ref())
    }

    /// One line naming the maps and their directions, e.g. `2 maps: actuals (>, <), projects (>)`.
    pub fn summary(&self) -> String {
        let mut maps: Vec<&TableMap> = self.maps().collect();
        maps.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: Vec<String> = maps.iter().map(|m| format!("{} ({})", m.name, directions(m))).collect();
        let noun = if maps.len() == 1 { "map" } else { "maps" };
        format!("{} {noun}: {}", maps.len(), listed.join(", "))
    }
}

/// The directions a map's fields flow in, e.g. `>`, `=` or `>, <`.
pub fn directions(map: &TableMap) -> String {
    let mut dirs: Vec<&str> = Vec::new();
    for f in &map.fields {
        let d = f.direction_or(map.direction).symbol();
        if f.constant.is_none() && !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs.join(", ")
}

/// The map files a path stands for: the file itself, or the `*.toml` files of a folder.
pub fn map_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(LoadError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let unreadable = |source| LoadError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    if files.is_empty() {
        return Err(LoadError::NoMaps {
            path: path.to_path_buf(),
        });
    }
    files.sort();
    Ok(files)
}

/// Reads, parses and validates every map under `paths`, collecting all problems.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(map_files(path)?);
    }
    let sources = files
        .into_iter()
        .map(|path| {
            std::fs::read_to_string(&path)
                .map(|text| SourceFile::new(path.clone(), text))
                .map_err(|source| LoadError::Unreadable { path, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(load_sources(sources))
}

/// Parses and validates map files already in memory.
pub fn load_sources(sources: Vec<SourceFile>) -> Loaded {
    let schema = json_schema();
    let mut diagnostics = Vec::new();
    let files: Vec<ParsedFile> = sources
        .into_iter()
        .map(|s| parse::parse_file(s, &schema, &mut diagnostics))
        .collect();
    let located: Vec<validate::Located<'_>> = files
        .iter()
        .filter_map(|f| {
            Some(validate::Located {
                map: f.map.as_ref()?,
                source: &f.source,
                tree: f.tree.as_ref()?,
            })
        })
        .collect();
    let checked: Vec<Option<ValidMap>> = located
        .iter()
        .map(|m| validate::check_map(m, &mut diagnostics))
        .collect();
    let broken: Vec<String> = files
        .iter()
        .filter(|f| f.map.is_none())
        .flat_map(ParsedFile::names)
        .collect();
    validate::check_set(&located, &broken, &mut diagnostics);
    // The checked forms only of a set with no problem at all (Vector's rule: the valid type is
    // built only from an empty error list). A map is left unchecked only with a problem.
    let valid = match checked.into_iter().collect::<Option<Vec<_>>>() {
        Some(valid) if diagnostics.is_empty() => valid,
        _ => Vec::new(),
    };
    let mut loaded = Loaded {
        files,
        diagnostics,
        valid,
    };
    loaded.sort_diagnostics();
    loaded
}

/// A map written as a map file (without the comments and layout of the file it came from).
pub fn to_toml(map: &TableMap) -> Result<String, toml::ser::Error> {
    toml::to_string(map)
}

/// Checks maps held in memory (built or edited by a program rather than read from files) by
/// the same rules as map files: each is written out as TOML, named `<name>.toml`, and loaded.
/// `Ok` holds the checked maps in the order given; `Err` every problem.
pub fn check_maps(maps: &[TableMap]) -> Result<Vec<ValidMap>, Vec<Diagnostic>> {
    let mut sources = Vec::with_capacity(maps.len());
    for map in maps {
        let path = PathBuf::from(format!("<{}>.toml", map.name));
        match to_toml(map) {
            Ok(text) => sources.push(SourceFile::new(path, text)),
            Err(e) => {
                let source = SourceFile::new(path, String::new());
                let message = format!("map \"{}\" cannot be written as TOML: {e}", map.name);
                let hint = "a map built in code must be representable in a map file";
                return Err(vec![source.error(0..0, message).with_hint(hint)]);
            }
        }
    }
    let loaded = load_sources(sources);
    if loaded.is_valid() && loaded.valid.len() == maps.len() {
        Ok(loaded.valid)
    } else {
        Err(loaded.diagnostics)
    }
}
