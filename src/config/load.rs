//! Reading the configuration: the TOML file, then `DUALSYNC_...` environment variables on top
//! (lists as comma-separated values: `DUALSYNC_COMPANIES=USPM,DEMF`). A mistake is blamed on
//! its source: the file, or the one environment variable that causes it. Relative paths (the
//! maps folder, SQLite files, secret files) written in the file are relative to the file's
//! folder; those given in the environment are relative to the working directory. Secrets can
//! be read from files (`url_file`, `password_file`), as container platforms mount them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::Config;

/// The top-level keys of the configuration: only variables naming one of them are read, so
/// `DUALSYNC_TEST_PG_URL` and the like, which belong to other tools, are left alone.
const KEYS: [&str; 14] = [
    "operational",
    "accounting",
    "state",
    "maps",
    "companies",
    "demo",
    "sync",
    "retry",
    "alerts",
    "log",
    "processes",
    "admin",
    "reconcile",
    "ha",
];

/// The keys whose values are lists.
const LIST_KEYS: [&str; 1] = ["companies"];

/// The `DUALSYNC_...` variables among `vars` that name a configuration key.
pub fn dualsync_env(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.into_iter()
        .filter(|(k, _)| {
            key_of(k).is_some_and(|key| {
                KEYS.iter()
                    .any(|top| key == *top || key.starts_with(&format!("{top}.")))
            })
        })
        .collect()
}

/// The configuration key a variable sets: `DUALSYNC_SYNC__BATCH_SIZE` → `sync.batch_size`.
fn key_of(var: &str) -> Option<String> {
    let rest = var.strip_prefix("DUALSYNC_")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The variable of `env` that sets `key`, if one does.
fn var_of<'a>(env: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    env.keys()
        .find(|v| key_of(v).as_deref() == Some(key))
        .map(String::as_str)
}

fn build(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Config, String> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
    }
    let mut environment = config::Environment::with_prefix("DUALSYNC")
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .source(Some(env.clone().into_iter().collect()));
    for key in LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    builder = builder.add_source(environment);
    let raw = builder.build().map_err(|e| e.to_string())?;
    raw.try_deserialize().map_err(|e| e.to_string())
}

/// Reads `file` (it must exist when given) with `env` (the `DUALSYNC_` variables) on top,
/// resolves relative paths, reads secret files and checks the values.
pub fn load_with(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Config, String> {
    if let Some(path) = file
        && !path.exists()
    {
        return Err(format!("{}: no such configuration file", path.display()));
    }
    let place = file.map_or_else(|| "the configuration".to_string(), |p| p.display().to_string());
    // The file alone first, so that its own mistakes are blamed on it.
    build(file, &BTreeMap::new()).map_err(|e| format!("{place}: {e}"))?;
    let mut config = match build(file, env) {
        Ok(c) => c,
        Err(e) => return Err(blame_environment(file, env, e)),
    };
    let base = match file.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::canonicalize(dir).map_err(|e| format!("{}: cannot resolve its folder: {e}", place))?
        }
        _ => PathBuf::from("."),
    };
    resolve_paths(&mut config, &base, env);
    read_secrets(&mut config).map_err(|e| attribute(&place, env, e))?;
    config.operational.companies = config.companies.clone();
    config.accounting.companies = config.companies.clone();
    config.validate().map_err(|problems| {
        let shown: Vec<String> = problems.into_iter().map(|e| attribute(&place, env, e)).collect();
        shown.join("\n")
    })?;
    Ok(config)
}

/// The error of a configuration that the environment made invalid, naming the variable.
fn blame_environment(file: Option<&Path>, env: &BTreeMap<String, String>, e: String) -> String {
    for (var, value) in env {
        let one: BTreeMap<String, String> = [(var.clone(), value.clone())].into();
        if let Err(alone) = build(file, &one) {
            return format!("the environment variable {var}: {alone}");
        }
    }
    format!("the DUALSYNC_ environment variables: {e}")
}

/// Says where a checked value came from: the variable that set the key named in `message`
/// (as `` `key` ``), or else the file.
fn attribute(place: &str, env: &BTreeMap<String, String>, message: String) -> String {
    for var in env.keys() {
        if let Some(key) = key_of(var)
            && (message.contains(&format!("`{key}`")) || message.contains(&format!("`{key}_file`")))
        {
            return format!("the environment variable {var}: {message}");
        }
    }
    format!("{place}: {message}")
}

/// Relative paths from the file become relative to its folder; those from the environment
/// stay relative to the working directory.
fn resolve_paths(config: &mut Config, base: &Path, env: &BTreeMap<String, String>) {
    let from_file = |key: &str| var_of(env, key).is_none();
    if from_file("maps") && config.maps.is_relative() {
        config.maps = normalize(&base.join(&config.maps));
    }
    for (prefix, store) in [
        ("operational", &mut config.operational.url),
        ("accounting", &mut config.accounting.url),
        ("state", &mut config.state.url),
    ] {
        if from_file(&format!("{prefix}.url")) {
            *store = resolve_sqlite_url(store, base);
        }
    }
    if let Some(path) = config.admin.token_file.as_mut()
        && path.is_relative()
        && from_file("admin.token_file")
    {
        *path = normalize(&base.join(&*path));
    }
    for (prefix, store) in [
        ("operational", &mut config.operational),
        ("accounting", &mut config.accounting),
    ] {
        if let Some(path) = store.auth.as_mut().and_then(|a| a.client_secret_file.as_mut())
            && path.is_relative()
            && from_file(&format!("{prefix}.auth.client_secret_file"))
        {
            *path = normalize(&base.join(&*path));
        }
    }
    for (prefix, url_file, password_file) in [
        (
            "operational",
            &mut config.operational.url_file,
            &mut config.operational.password_file,
        ),
        (
            "accounting",
            &mut config.accounting.url_file,
            &mut config.accounting.password_file,
        ),
        ("state", &mut config.state.url_file, &mut config.state.password_file),
    ] {
        for (name, path) in [("url_file", url_file), ("password_file", password_file)] {
            if let Some(p) = path
                && p.is_relative()
                && from_file(&format!("{prefix}.{name}"))
            {
                *p = normalize(&base.join(&*p));
            }
        }
    }
}

/// A `sqlite://` URL with a relative path, made absolute against `base`; other URLs as given.
pub fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(':') || path.starts_with("file:") || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let absolute = normalize(&base.join(path));
    match query {
        Some(q) => format!("sqlite://{}?{q}", absolute.display()),
        None => format!("sqlite://{}", absolute.display()),
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads `url_file` and `password_file` of each store into its URL.
fn read_secrets(config: &mut Config) -> Result<(), String> {
    for (prefix, url, url_file, password_file) in [
        (
            "operational",
            &mut config.operational.url,
            &config.operational.url_file,
            &config.operational.password_file,
        ),
        (
            "accounting",
            &mut config.accounting.url,
            &config.accounting.url_file,
            &config.accounting.password_file,
        ),
        (
            "state",
            &mut config.state.url,
            &config.state.url_file,
            &config.state.password_file,
        ),
    ] {
        let read = |name: &str, path: &Path| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("`{prefix}.{name}`: cannot read {}: {e}", path.display()))
        };
        if let Some(path) = url_file {
            *url = read("url_file", path)?;
        }
        if let Some(path) = password_file {
            let password = read("password_file", path)?;
            let mut parsed = url::Url::parse(url).map_err(|_| {
                format!("`{prefix}.password_file` needs a `{prefix}.url` of the form postgres://user@host/db")
            })?;
            if parsed.scheme() == "sqlite" || parsed.set_password(Some(&password)).is_err() {
                return Err(format!(
                    "`{prefix}.password_file` applies to a PostgreSQL URL only (postgres://user@host/db)"
                ));
            }
            *url = parsed.to_string();
        }
    }
    Ok(())
}
