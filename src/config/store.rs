//! The configuration of one side's store: which kind it is (a SQL database, the Dataverse Web
//! API, or finance-and-operations OData), where it is, how dualsync signs in to it (OAuth client credentials, the secret from
//! a file or an environment variable, never from the file itself) and how hard it may press an
//! HTTP service. `check` names every key that cannot work.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What kind of system a store is.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// SQLite or PostgreSQL, told apart by the URL (`sqlite://…`, `postgres://…`).
    #[default]
    Sql,
    /// The Dataverse Web API (`https://<org>.crm.dynamics.com/api/data/v9.2`).
    Dataverse,
    /// Finance-and-operations OData data entities (`https://<env>.operations.dynamics.com/data`).
    Finops,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sql => "sql",
            StoreKind::Dataverse => "dataverse",
            StoreKind::Finops => "finops",
        }
    }

    /// Whether the store is reached over HTTP (and then needs `auth`).
    pub fn is_http(self) -> bool {
        matches!(self, StoreKind::Dataverse | StoreKind::Finops)
    }

    /// The service's largest page and largest `$batch` (Dataverse: 5,000 and 1,000 requests;
    /// finance and operations: 10,000 and 5,000 operations).
    pub fn http_maxima(self) -> (usize, usize) {
        match self {
            StoreKind::Finops => (10_000, 5_000),
            _ => (5_000, 1_000),
        }
    }

    /// What the URL of this kind looks like, for messages.
    fn url_example(self) -> &'static str {
        match self {
            StoreKind::Finops => "https://<env>.operations.dynamics.com/data",
            _ => "https://<org>.crm.dynamics.com/api/data/v9.2",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub kind: StoreKind,
    pub url: String,
    /// A file holding the URL (a container secret); read at start, in place of `url`.
    pub url_file: Option<PathBuf>,
    /// A file holding the password, put into `url` (a PostgreSQL URL without one).
    pub password_file: Option<PathBuf>,
    /// Writes per second this store may receive (0 = unlimited).
    pub max_writes_per_second: u32,
    /// How dualsync signs in to an HTTP store.
    pub auth: Option<AuthConfig>,
    /// Limits and sizes of an HTTP store.
    pub http: HttpConfig,
    /// Entity sets, change detection and deletion sweeps of a finance-and-operations store.
    pub finops: FinopsConfig,
    /// The companies in scope (the top-level `companies`, copied here when the configuration
    /// is loaded): a finance-and-operations store reads only theirs.
    #[serde(skip)]
    pub companies: Vec<String>,
}

/// How a finance-and-operations store finds its entity sets and their changes. OData data
/// entities have no change tracking: changes are found by polling a modified-timestamp column
/// (a watermark that looks back `overlap_seconds`, so a change committed late is still seen),
/// deletions by a periodic sweep of the keys dualsync has synced.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FinopsConfig {
    /// The column that says when a record last changed, for entities that do not name one.
    pub modified_column: String,
    /// How far back each poll looks behind the newest change it has seen: longer than the
    /// longest transaction that writes the mapped entities.
    pub overlap_seconds: u64,
    /// How often the records a map has synced from this store are checked for deletions
    /// (0 = never).
    pub sweep_seconds: u64,
    /// Per map entity (the name the table maps use): its entity set and columns, where the
    /// defaults do not fit.
    pub entities: std::collections::BTreeMap<String, FinopsEntity>,
}

/// One data entity, as the maps name it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FinopsEntity {
    /// The public collection name (entity set); default: the set of that name, else the set
    /// of the entity type of that name in the `$metadata`.
    pub set: Option<String>,
    /// The modified-timestamp column (default: `modified_column`).
    pub modified: Option<String>,
    /// The company column (default: the key column named `dataAreaId` or ending in it).
    pub company: Option<String>,
}

impl Default for FinopsConfig {
    fn default() -> Self {
        FinopsConfig {
            modified_column: "ModifiedDateTime".into(),
            overlap_seconds: 300,
            sweep_seconds: 300,
            entities: Default::default(),
        }
    }
}

/// OAuth 2.0 client credentials (an app registered in Microsoft Entra ID).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The Entra ID tenant (its id or domain): the token endpoint is then
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub tenant: Option<String>,
    /// Another token endpoint (in place of `tenant`).
    pub token_url: Option<String>,
    pub client_id: String,
    /// A file holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// The name of an environment variable holding the client secret (in place of the file).
    pub client_secret_env: Option<String>,
    /// Default: the store URL's origin with `/.default` (`https://<org>.crm.dynamics.com/.default`).
    pub scope: Option<String>,
}

/// How hard dualsync may press an HTTP store (Dataverse's documented per-user limits by
/// default), and how it pages, batches and polls.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Requests per `window_seconds` (Dataverse: 6,000 per 300 s).
    pub requests: u32,
    pub window_seconds: u64,
    /// Requests in flight at once (Dataverse: 52).
    pub concurrent: usize,
    /// Attempts of one request before its failure counts.
    pub attempts: usize,
    /// How long one request may take.
    pub timeout_seconds: u64,
    /// Records per page read (default and most: Dataverse 5,000, finance and operations
    /// 10,000).
    pub page_size: Option<usize>,
    /// Requests per `$batch` (default and most: Dataverse 1,000, finance and operations 5,000).
    pub batch_requests: Option<usize>,
    /// How often an entity's change feed (its delta link) is asked for news when it had none.
    pub poll_seconds: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            requests: 6_000,
            window_seconds: 300,
            concurrent: 52,
            attempts: 8,
            timeout_seconds: 120,
            page_size: None,
            batch_requests: None,
            poll_seconds: 5,
        }
    }
}

impl HttpConfig {
    pub fn poll(&self) -> Duration {
        Duration::from_secs(self.poll_seconds)
    }

    /// Records per page for a store of `kind`.
    pub fn page(&self, kind: StoreKind) -> usize {
        self.page_size.unwrap_or(kind.http_maxima().0).max(1)
    }

    /// Writes per `$batch` for a store of `kind`.
    pub fn batch(&self, kind: StoreKind) -> usize {
        self.batch_requests.unwrap_or(kind.http_maxima().1).max(1)
    }
}

impl AuthConfig {
    /// The token endpoint: `token_url`, or Entra ID's for `tenant`.
    pub fn token_url(&self) -> Option<String> {
        match (&self.token_url, &self.tenant) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(tenant)) => Some(format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")),
            (None, None) => None,
        }
    }

    /// The scope asked for: `scope`, or the origin of `store_url` with `/.default`.
    pub fn scope_for(&self, store_url: &str) -> String {
        if let Some(s) = &self.scope {
            return s.clone();
        }
        match url::Url::parse(store_url) {
            Ok(u) => format!("{}/.default", u.origin().ascii_serialization()),
            Err(_) => String::new(),
        }
    }

    /// The client secret, from its file or environment variable (`env` looks variables up).
    pub fn client_secret(&self, key: &str, env: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        match (&self.client_secret_file, &self.client_secret_env) {
            (Some(path), _) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .map_err(|e| format!("`{key}.auth.client_secret_file`: cannot read {}: {e}", path.display())),
            (None, Some(var)) => env(var).map(|s| s.trim().to_string()).ok_or_else(|| {
                format!("`{key}.auth.client_secret_env` names the environment variable {var}, which is not set")
            }),
            (None, None) => Err(format!(
                "`{key}.auth` needs `client_secret_file` (a file holding the secret) or `client_secret_env` \
                 (the name of an environment variable holding it)"
            )),
        }
    }
}

/// Whether `host` is this machine (plain `http://` is accepted only there, for tests).
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The problems of the store configuration under `key` (`operational`, `accounting`).
pub fn check(key: &str, c: &StoreConfig) -> Vec<String> {
    let mut problems = Vec::new();
    match c.kind {
        StoreKind::Sql => {
            if crate::store::sql::dialect_of(&c.url).is_err() {
                problems.push(format!(
                    "`{key}.url` = \"{}\" is not a store URL; use sqlite://path/file.db or postgres://user@host:5432/db \
                     (or set `{key}.kind` to \"dataverse\" or \"finops\" for a Web API)",
                    crate::store::sql::redact(&c.url)
                ));
            }
            if c.auth.is_some() {
                problems.push(format!(
                    "`{key}.auth` is for an HTTP store; a SQL store takes its user and password in `{key}.url` \
                     (or `{key}.password_file`)"
                ));
            }
        }
        kind => check_http(key, kind, c, &mut problems),
    }
    problems
}

/// The problems of an HTTP store's configuration (Dataverse, finance and operations).
fn check_http(key: &str, kind: StoreKind, c: &StoreConfig, problems: &mut Vec<String>) {
    let url = crate::store::sql::redact(&c.url);
    let example = kind.url_example();
    match url::Url::parse(&c.url) {
        Ok(u) => match (u.scheme(), u.host()) {
            ("https", Some(_)) => {}
            ("http", Some(h)) if is_loopback(&h) => {}
            ("http", Some(_)) => problems.push(format!(
                "`{key}.url` = \"{url}\" is plain http; the service is reached over https (http only on this \
                 machine, for tests)"
            )),
            _ => problems.push(format!("`{key}.url` = \"{url}\" is not a service root; use {example}")),
        },
        Err(_) => problems.push(format!("`{key}.url` = \"{url}\" is not a URL; use {example}")),
    }
    if c.password_file.is_some() {
        problems.push(format!(
            "`{key}.password_file` is for a PostgreSQL store; a Web API signs in with `{key}.auth`"
        ));
    }
    match &c.auth {
        None => problems.push(format!(
            "`{key}.auth` is missing: the service needs `tenant` (or `token_url`), `client_id` and \
             `client_secret_file` (or `client_secret_env`) of an app registered in Entra ID"
        )),
        Some(a) => {
            if a.token_url().is_none() {
                problems.push(format!(
                    "`{key}.auth` needs `tenant` (the Entra ID tenant) or `token_url`"
                ));
            }
            if a.client_id.trim().is_empty() {
                problems.push(format!(
                    "`{key}.auth.client_id` is missing: the application (client) id of the app registration"
                ));
            }
            if let Some(path) = &a.client_secret_file
                && let Err(e) = std::fs::File::open(path)
            {
                problems.push(format!(
                    "`{key}.auth.client_secret_file`: cannot read {}: {e}",
                    path.display()
                ));
            }
            if a.client_secret_file.is_none() && a.client_secret_env.is_none() {
                problems.push(format!(
                    "`{key}.auth` needs `client_secret_file` or `client_secret_env`; the secret itself never \
                     goes into the configuration file"
                ));
            }
        }
    }
    let h = &c.http;
    if h.requests == 0 || h.window_seconds == 0 || h.concurrent == 0 || h.attempts == 0 {
        problems.push(format!(
            "`{key}.http`: `requests`, `window_seconds`, `concurrent` and `attempts` must be at least 1"
        ));
    }
    let (most_page, most_batch) = kind.http_maxima();
    if let Some(n) = h.page_size.filter(|n| *n == 0 || *n > most_page) {
        problems.push(format!(
            "`{key}.http.page_size` = {n} must be between 1 and {most_page} (the service's largest page)"
        ));
    }
    if let Some(n) = h.batch_requests.filter(|n| *n == 0 || *n > most_batch) {
        problems.push(format!(
            "`{key}.http.batch_requests` = {n} must be between 1 and {most_batch} (the service's largest $batch)"
        ));
    }
    let f = &c.finops;
    if kind == StoreKind::Finops {
        if f.modified_column.trim().is_empty() {
            problems.push(format!(
                "`{key}.finops.modified_column` is empty: name the column that says when a record changed"
            ));
        }
        if f.overlap_seconds == 0 {
            problems.push(format!(
                "`{key}.finops.overlap_seconds` must be at least 1: a change committed late would be missed"
            ));
        }
    } else if *f != FinopsConfig::default() {
        problems.push(format!(
            "`{key}.finops` is for a finance-and-operations store (`{key}.kind = \"finops\"`)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_with;
    use std::collections::BTreeMap;

    /// The configuration `toml` (with a secret file beside it) and its folder, kept while used.
    fn load(toml: &str, env: &[(&str, &str)]) -> Result<(crate::config::Config, tempfile::TempDir), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, toml).unwrap();
        std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
        let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let c = load_with(Some(&path), &env)?;
        c.validate().map_err(|p| p.join("\n"))?;
        Ok((c, dir))
    }

    const DATAVERSE: &str = "demo = false\n[operational]\nkind = \"dataverse\"\n\
        url = \"https://contoso.crm.dynamics.com/api/data/v9.2\"\n[operational.auth]\n\
        tenant = \"contoso.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n\
        client_secret_file = \"secret\"\n";

    #[test]
    fn a_dataverse_store_with_entra_defaults() {
        let (c, _dir) = load(DATAVERSE, &[]).unwrap();
        let auth = c.operational.auth.as_ref().unwrap();
        assert_eq!(
            auth.token_url().unwrap(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            auth.scope_for(&c.operational.url),
            "https://contoso.crm.dynamics.com/.default"
        );
        // The secret file is relative to the configuration file, and read trimmed.
        assert_eq!(auth.client_secret("operational", |_| None).unwrap(), "s3cret");
        assert_eq!(c.operational.http, HttpConfig::default());
        // From the environment, by the name of a variable.
        let (c, _dir) = load(
            &DATAVERSE.replace(
                "client_secret_file = \"secret\"\n",
                "client_secret_env = \"DV_SECRET\"\n",
            ),
            &[],
        )
        .unwrap();
        let auth = c.operational.auth.unwrap();
        assert_eq!(
            auth.client_secret("operational", |v| (v == "DV_SECRET").then(|| "x".to_string())),
            Ok("x".to_string())
        );
        let err = auth.client_secret("operational", |_| None).unwrap_err();
        assert!(err.contains("DV_SECRET") && err.contains("not set"), "{err}");
    }

    #[test]
    fn what_cannot_work_is_named() {
        let err = load(&DATAVERSE.replace("https://contoso", "http://contoso"), &[]).unwrap_err();
        assert!(err.contains("`operational.url`") && err.contains("plain http"), "{err}");
        // http on this machine is fine (tests).
        load(
            &DATAVERSE.replace("https://contoso.crm.dynamics.com", "http://127.0.0.1:8080"),
            &[],
        )
        .unwrap();
        let no_auth = DATAVERSE.split("[operational.auth]").next().unwrap().to_string();
        let err = load(&no_auth, &[]).unwrap_err();
        assert!(err.contains("`operational.auth` is missing"), "{err}");
        let err = load(
            &DATAVERSE
                .replace("tenant = \"contoso.onmicrosoft.com\"\n", "")
                .replace("client_secret_file = \"secret\"\n", ""),
            &[],
        )
        .unwrap_err();
        assert!(err.contains("`tenant`") && err.contains("client_secret_env"), "{err}");
        let err = load(&format!("{DATAVERSE}[operational.http]\npage_size = 6000\n"), &[]).unwrap_err();
        assert!(err.contains("page_size"), "{err}");
        let err = load(&DATAVERSE.replace("demo = false", "demo = true"), &[]).unwrap_err();
        assert!(err.contains("`demo`"), "{err}");
        // The environment sets the nested keys too.
        let (c, _dir) = load(DATAVERSE, &[("DUALSYNC_OPERATIONAL__HTTP__POLL_SECONDS", "2")]).unwrap();
        assert_eq!(c.operational.http.poll_seconds, 2);
        // A SQL store takes no auth.
        let err = load(
            "[operational]\nurl = \"sqlite://x.db\"\n[operational.auth]\nclient_id = \"a\"\n",
            &[],
        )
        .unwrap_err();
        assert!(err.contains("`operational.auth` is for an HTTP store"), "{err}");
    }

    const FINOPS: &str = "demo = false\ncompanies = [\"USPM\"]\n[accounting]\nkind = \"finops\"\n\
        url = \"https://contoso.operations.dynamics.com/data\"\n[accounting.auth]\n\
        tenant = \"contoso.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n\
        client_secret_file = \"secret\"\n";

    #[test]
    fn a_finops_store_with_its_entities() {
        let (c, _dir) = load(
            &format!(
                "{FINOPS}[accounting.finops]\noverlap_seconds = 60\n\
                 [accounting.finops.entities.ProjCDSActualsImport]\nset = \"ProjectActuals\"\n"
            ),
            &[],
        )
        .unwrap();
        let a = &c.accounting;
        assert_eq!(a.kind, StoreKind::Finops);
        assert_eq!(a.companies, vec!["USPM".to_string()]);
        assert_eq!((a.http.page(a.kind), a.http.batch(a.kind)), (10_000, 5_000));
        assert_eq!(a.finops.overlap_seconds, 60);
        assert_eq!(a.finops.modified_column, "ModifiedDateTime");
        let (name, entity) = a.finops.entities.iter().next().unwrap();
        assert!(name.eq_ignore_ascii_case("ProjCDSActualsImport"), "{name}");
        assert_eq!(entity.set.as_deref(), Some("ProjectActuals"));
        // The service's own maxima bound the sizes.
        let err = load(&format!("{FINOPS}[accounting.http]\nbatch_requests = 5001\n"), &[]).unwrap_err();
        assert!(err.contains("between 1 and 5000"), "{err}");
        load(&format!("{FINOPS}[accounting.http]\npage_size = 10000\n"), &[]).unwrap();
        let err = load(&format!("{FINOPS}[accounting.finops]\noverlap_seconds = 0\n"), &[]).unwrap_err();
        assert!(err.contains("overlap_seconds"), "{err}");
        // The F&O settings belong to a finops store only; finance and operations is no operational side.
        let err = load(&format!("{DATAVERSE}[operational.finops]\nsweep_seconds = 5\n"), &[]).unwrap_err();
        assert!(
            err.contains("`operational.finops` is for a finance-and-operations store"),
            "{err}"
        );
        let err = load(
            &FINOPS
                .replace("[accounting]", "[operational]")
                .replace("[accounting.auth]", "[operational.auth]"),
            &[],
        )
        .unwrap_err();
        assert!(err.contains("finance and operations is the accounting side"), "{err}");
    }
}
