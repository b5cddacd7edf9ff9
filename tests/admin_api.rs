//! The admin REST API (issue 16) against `dualsync run` as a separate process, on SQLite and
//! PostgreSQL. Every answer is checked against its schema in the OpenAPI document the daemon
//! serves (`/api/openapi.json`, validated with `jsonschema`), and every field it carries is
//! one the document declares. `dualsync --output json` answers in the same shapes. Then each
//! admin action over HTTP: status and maps (a map that does not exist is a 404 naming the ones
//! that do); pause and resume; an initial sync and a reload, which the daemon's log shows it
//! ran; the dead-letter list with a record the accounting store refused (filters by map and
//! kind, a bad kind a 400), one record error in full, a retry that fails again while the store
//! still refuses and one that resolves it once it takes the record; the accounting process
//! runs. Without the token every route but the health checks is a 401, and a POST another
//! site's page makes a browser send is a 403.

mod common;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::admin::{AdminDaemon, REFUSAL};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "api-test-token-0123456789";

/// The API as the test calls it, and the OpenAPI document it checks the answers against.
struct Api {
    http: reqwest::Client,
    base: String,
    doc: Value,
}

impl Api {
    async fn new(base: &str) -> Api {
        let http = reqwest::Client::new();
        let r = http
            .get(format!("{base}/api/openapi.json"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let doc: Value = r.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
        Api {
            http,
            base: base.into(),
            doc,
        }
    }

    /// `method path` with the token; the status and the JSON body.
    async fn call(&self, method: Method, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// `method path` answered `status` with a body of the schema `schema` (a component name,
    /// or `[Name]` for a list of them); the body.
    async fn expect(&self, method: Method, path: &str, status: u16, schema: &str) -> Value {
        let (got, body) = self.call(method.clone(), path).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {body}");
        self.conforms(schema, &body, &format!("{method} {path}"));
        body
    }

    /// `body` is valid against the schema and has no field the document does not declare.
    fn conforms(&self, schema: &str, body: &Value, what: &str) {
        let target = match schema.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(item) => json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}),
            None => json!({"$ref": format!("#/components/schemas/{schema}")}),
        };
        let mut root = target.clone();
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
        let problems: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "{what} does not match {schema}: {problems:?}\n{body:#}"
        );
        let mut undeclared = Vec::new();
        self.declared(&target, body, "", &mut undeclared);
        assert!(
            undeclared.is_empty(),
            "{what}: fields the document does not declare: {undeclared:?}"
        );
    }

    /// Collects the object fields of `body` that `schema` does not declare, at any depth.
    fn declared(&self, schema: &Value, body: &Value, at: &str, undeclared: &mut Vec<String>) {
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/components/schemas/");
            return self.declared(&self.doc["components"]["schemas"][name], body, at, undeclared);
        }
        for branches in ["oneOf", "anyOf", "allOf"] {
            if let Some(list) = schema[branches].as_array() {
                for b in list.iter().filter(|b| b["type"] != "null") {
                    self.declared(b, body, at, undeclared);
                }
                return;
            }
        }
        match body {
            Value::Object(fields) if schema.get("properties").is_some() => {
                for (k, v) in fields {
                    match schema["properties"].get(k) {
                        Some(s) => self.declared(s, v, &format!("{at}/{k}"), undeclared),
                        None => undeclared.push(format!("{at}/{k}")),
                    }
                }
            }
            Value::Array(items) if schema.get("items").is_some() => {
                for (i, v) in items.iter().enumerate() {
                    self.declared(&schema["items"], v, &format!("{at}/{i}"), undeclared);
                }
            }
            _ => {}
        }
    }
}

/// The names of an object's fields, with their nested fields, as `a`, `a/b`, ... (arrays by
/// their first element).
fn shape(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(fields) => {
            for (k, v) in fields {
                let path = format!("{at}/{k}");
                out.push(path.clone());
                shape(v, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                shape(first, &format!("{at}/[]"), out);
            }
        }
        _ => {}
    }
    out.sort();
    out.dedup();
}

fn shape_of(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    shape(v, "", &mut out);
    out
}

/// `dualsync --output json ARGS` against the daemon's configuration: the JSON it printed.
fn cli_json(d: &AdminDaemon, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = common::dualsync(&all, &d.config);
    assert_eq!(code, Some(0), "dualsync {args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("dualsync {args:?} printed no JSON ({e}): {out}"))
}

/// Waits until the daemon's log has a line with every one of `parts` after byte `from`.
async fn logged(d: &AdminDaemon, from: usize, parts: &[&str]) {
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(d.stores.log_path()).unwrap_or_default();
        if log[from.min(log.len())..]
            .lines()
            .any(|l| parts.iter().all(|p| l.contains(p)))
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon's log has no line with {parts:?} after 60 s:\n{}",
            d.daemon.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn log_len(d: &AdminDaemon) -> usize {
    std::fs::metadata(d.stores.log_path())
        .map(|m| m.len() as usize)
        .unwrap_or(0)
}

/// Waits for the map's state to be `state` in `/api/maps/{map}`.
async fn map_state(api: &Api, map: &str, state: &str) -> Value {
    let started = Instant::now();
    loop {
        let m = api
            .expect(Method::GET, &format!("/api/maps/{map}"), 200, "MapReport")
            .await;
        if m["state"] == state {
            return m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{map} is not {state} after 60 s: {m}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_admin_api_serves_the_admin_commands(backend: &str) {
    let mut d = AdminDaemon::start(
        backend,
        "admin_api",
        30,
        TOKEN,
        "[processes]\nenabled = true\nforecasts_seconds = 1\nimport_seconds = 0\npost_seconds = 0\n",
    )
    .await;
    let api = Api::new(&d.base).await;
    let paths = api.doc["paths"].as_object().unwrap();
    for p in [
        "/api/status",
        "/api/maps/{name}/pause",
        "/api/errors/{id}/retry",
        "/api/journal/runs",
    ] {
        assert!(paths.contains_key(p), "the document describes {p}");
    }

    // Status: every map running; the CLI's JSON has the same shape and says the same.
    let status = api.expect(Method::GET, "/api/status", 200, "StatusReport").await;
    assert_eq!(status["healthy"], true, "{status:#}");
    assert_eq!(status["daemon"]["state"], "running");
    let cli = cli_json(&d, &["status"]);
    api.conforms("StatusReport", &cli, "dualsync --output json status");
    assert_eq!(
        shape_of(&cli),
        shape_of(&status),
        "the CLI and the API answer in one shape"
    );
    let brief = |s: &Value| -> Vec<(Value, Value, Value)> {
        s["maps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["name"].clone(), m["state"].clone(), m["links"].clone()))
            .collect()
    };
    assert_eq!(brief(&cli), brief(&status));
    let maps = api.expect(Method::GET, "/api/maps", 200, "[MapReport]").await;
    assert_eq!(brief(&json!({ "maps": maps })), brief(&status));
    let actuals = api.expect(Method::GET, "/api/maps/actuals", 200, "MapReport").await;
    assert_eq!(actuals["state"], "running");
    assert!(actuals["links"].as_u64().unwrap() > 0, "{actuals}");
    let missing = api.expect(Method::GET, "/api/maps/no-such-map", 404, "ApiError").await;
    assert_eq!(missing["kind"], "not-found");
    assert!(missing["error"].as_str().unwrap().contains("no-such-map"), "{missing}");
    assert!(
        missing["error"].as_str().unwrap().contains("actuals"),
        "names the maps: {missing}"
    );
    let near = api.expect(Method::GET, "/api/maps/actual", 404, "ApiError").await;
    assert!(
        near["error"].as_str().unwrap().contains("did you mean \"actuals\""),
        "{near}"
    );

    // Pause and resume.
    let paused = api
        .expect(Method::POST, "/api/maps/actuals/pause", 200, "MapChange")
        .await;
    assert_eq!(paused["map"], "actuals");
    map_state(&api, "actuals", "paused").await;
    let cli = cli_json(&d, &["status"]);
    let state_in_cli = cli["maps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "actuals")
        .unwrap()["state"]
        .clone();
    assert_eq!(state_in_cli, "paused");
    api.expect(Method::POST, "/api/maps/actuals/resume", 200, "MapChange")
        .await;
    map_state(&api, "actuals", "running").await;
    api.expect(Method::POST, "/api/maps/no-such-map/pause", 404, "ApiError")
        .await;

    // An initial sync of one map and a reload, asked of the daemon and done in its loop.
    let from = log_len(&d);
    let accepted = api
        .expect(Method::POST, "/api/maps/projects/initial-sync", 202, "Accepted")
        .await;
    assert_eq!(accepted["accepted"], true);
    logged(&d, from, &["initial sync started", "projects"]).await;
    map_state(&api, "projects", "running").await;
    api.expect(Method::POST, "/api/maps/no-such-map/initial-sync", 404, "ApiError")
        .await;
    let from = log_len(&d);
    api.expect(Method::POST, "/api/reload", 202, "Accepted").await;
    logged(&d, from, &["reloading the map files", "admin API"]).await;

    // A record the accounting store refuses is a record error.
    let none = api.expect(Method::GET, "/api/errors", 200, "ErrorList").await;
    assert_eq!(none["errors"], json!([]));
    d.refuse_actuals(true).await;
    let day = NaiveDate::from_ymd_opt(2001, 2, 3).unwrap();
    let edited = d.edit_one_actual(day).await;
    let started = Instant::now();
    let list = loop {
        let list = api
            .expect(Method::GET, "/api/errors?map=actuals", 200, "ErrorList")
            .await;
        if !list["errors"].as_array().unwrap().is_empty() {
            break list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no record error after 60 s:\n{}",
            d.daemon.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let errors = list["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{list:#}");
    let e = &errors[0];
    assert_eq!(e["kind"], "refused");
    assert_eq!(e["status"], "open");
    assert!(e["message"].as_str().unwrap().contains(REFUSAL), "{e}");
    assert!(e["record"].as_str().unwrap().contains(&edited.to_string()), "{e}");
    let id = e["id"].as_i64().unwrap();
    assert_eq!(cli_json(&d, &["errors", "list"]), list, "the CLI lists the same");
    let kind = api
        .expect(Method::GET, "/api/errors?kind=refused", 200, "ErrorList")
        .await;
    assert_eq!(kind, list);
    let other = api
        .expect(Method::GET, "/api/errors?kind=rejected", 200, "ErrorList")
        .await;
    assert_eq!(other["errors"], json!([]));
    let other = api
        .expect(Method::GET, "/api/errors?map=projects", 200, "ErrorList")
        .await;
    assert_eq!(other["errors"], json!([]));
    let bad = api.expect(Method::GET, "/api/errors?kind=bogus", 400, "ApiError").await;
    assert_eq!(bad["kind"], "usage");
    let one = api
        .expect(Method::GET, &format!("/api/errors/{id}"), 200, "RecordError")
        .await;
    assert_eq!(one["id"], id);
    assert!(one["payload"].is_object(), "the record as read: {one}");
    assert_eq!(cli_json(&d, &["errors", "show", &id.to_string()]), one);
    api.expect(Method::GET, "/api/errors/999999", 404, "ApiError").await;

    // A retry while the store still refuses: open, one more attempt.
    let again = api
        .expect(Method::POST, &format!("/api/errors/{id}/retry"), 200, "RetryReport")
        .await;
    assert_eq!(again["retried"][0]["status"], "open", "{again}");
    assert!(again["retried"][0]["message"].as_str().unwrap().contains(REFUSAL));
    assert_eq!(again["still_open"], 1);
    let one = api
        .expect(Method::GET, &format!("/api/errors/{id}"), 200, "RecordError")
        .await;
    assert_eq!(one["attempts"], 2);
    // The store takes it again: the retry of the map's errors resolves it.
    d.refuse_actuals(false).await;
    let done = api
        .expect(Method::POST, "/api/errors/retry?map=actuals", 200, "RetryReport")
        .await;
    assert_eq!(done["retried"][0]["id"], id);
    assert_eq!(done["retried"][0]["status"], "resolved", "{done}");
    assert_eq!(done["still_open"], 0);
    assert_eq!(d.staged_date(edited).await, Some(day));
    let all = api.expect(Method::GET, "/api/errors?all=true", 200, "ErrorList").await;
    assert_eq!(all["errors"][0]["status"], "resolved");
    let nothing = api.expect(Method::POST, "/api/errors/retry", 200, "RetryReport").await;
    assert_eq!(nothing["retried"], json!([]));

    // The accounting process runs (forecasts, every second).
    let runs = api
        .expect(Method::GET, "/api/journal/runs?limit=5", 200, "JobRuns")
        .await;
    let runs = runs["runs"].as_array().unwrap();
    assert!(!runs.is_empty() && runs.len() <= 5, "{runs:?}");
    assert!(runs.iter().any(|r| r["process"] == "Forecasts"), "{runs:?}");
    let cli = cli_json(&d, &["journal", "log"]);
    api.conforms("JobRuns", &cli, "dualsync --output json journal log");

    // The token guards every route but the health checks; other sites' pages cannot POST.
    let http = reqwest::Client::new();
    for (method, path) in [
        (Method::GET, "/api/status"),
        (Method::GET, "/api/openapi.json"),
        (Method::GET, "/api/errors"),
        (Method::POST, "/api/maps/actuals/pause"),
        (Method::POST, "/api/reload"),
    ] {
        let r = http
            .request(method.clone(), format!("{}{path}", d.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without the token");
        let r = http
            .request(method.clone(), format!("{}{path}", d.base))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} with a wrong token");
    }
    let live = http.get(format!("{}/health/live", d.base)).send().await.unwrap();
    assert_eq!(live.status(), 200);
    for (header, value) in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")] {
        let r = http
            .post(format!("{}/api/maps/actuals/pause", d.base))
            .bearer_auth(TOKEN)
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "a POST with {header}: {value}");
    }
    let same = http
        .post(format!("{}/api/maps/actuals/resume", d.base))
        .bearer_auth(TOKEN)
        .header("origin", d.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200, "a POST from the status page's own origin");
    map_state(&api, "actuals", "running").await;

    d.daemon.terminate(Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_serves_the_admin_commands_on_sqlite() {
    the_admin_api_serves_the_admin_commands("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_serves_the_admin_commands_on_postgres() {
    the_admin_api_serves_the_admin_commands("postgres").await;
}
