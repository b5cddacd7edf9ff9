//! The status page at `/`, for people: every map with its state, counts, lag and last
//! activity; the open record errors with their error and hint, filterable by map and kind,
//! each with a retry button; the latest runs of the accounting processes. Rendered on the
//! server (maud escapes every value) and readable without JavaScript: the filters are a GET
//! form and the retry button a POST form that comes back to the page. A few lines of script
//! refresh the live part every few seconds (`?fragment=1` serves it alone); without script, the
//! page refreshes itself. With a token set, `/login` takes the token once and keeps it in a
//! cookie (`auth.rs`).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::Admin;
use super::api::{self, ErrorQuery, Failure};
use crate::commands::errors::{self, ErrorList, Filter};
use crate::commands::journal::JobRuns;
use crate::commands::status::{MapReport, StatusReport};
use crate::engine::state::RecordErrorKind;

/// How often the page's script refreshes the live part, in milliseconds.
const REFRESH_MS: u32 = 5000;
/// How many runs of the accounting processes the page shows.
const RUNS: usize = 10;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    map: Option<String>,
    kind: Option<String>,
    /// Serve the live part alone (the script's refresh).
    fragment: Option<u8>,
    /// A record error just retried: the page says where it stands now.
    retried: Option<i64>,
}

impl PageQuery {
    fn filter(&self) -> Filter {
        ErrorQuery {
            map: self.map.clone(),
            kind: self.kind.clone(),
            all: None,
        }
        .filter()
    }

    /// The filter as a query string, to come back to the same view.
    fn query(&self) -> String {
        let f = self.filter();
        let mut parts = url::form_urlencoded::Serializer::new(String::new());
        if let Some(m) = &f.map {
            parts.append_pair("map", m);
        }
        if let Some(k) = &f.kind {
            parts.append_pair("kind", k);
        }
        parts.finish()
    }
}

/// What the page shows, read once per request.
struct View {
    status: Result<StatusReport, Failure>,
    errors: Result<ErrorList, Failure>,
    runs: Result<JobRuns, Failure>,
    retried: Option<errors::RecordError>,
}

async fn view(admin: &Admin, q: &PageQuery) -> View {
    let status = api::status_report(admin).await;
    let errors = match api::running(admin) {
        Ok(s) => errors::list_in(&s.state, &q.filter()).await.map_err(Failure),
        Err(e) => Err(e),
    };
    let retried = match (q.retried, api::running(admin)) {
        (Some(id), Ok(s)) => errors::get(&s.state, id).await.ok().map(Into::into),
        _ => None,
    };
    View {
        status,
        errors,
        runs: admin.job_runs(RUNS).await.map_err(Failure),
        retried,
    }
}

pub async fn page(State(admin): State<Arc<Admin>>, Query(q): Query<PageQuery>) -> Response {
    let v = view(&admin, &q).await;
    let live = live(&v, &q);
    let markup = if q.fragment.is_some() {
        live
    } else {
        let maps: Vec<String> = match &v.status {
            Ok(s) => s.maps.iter().map(|m| m.name.clone()).collect(),
            Err(_) => Vec::new(),
        };
        full(live, &maps, &q)
    };
    ([(header::CACHE_CONTROL, "no-store")], markup).into_response()
}

fn full(live: Markup, maps: &[String], q: &PageQuery) -> Markup {
    let f = q.filter();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "dualsync status" }
                noscript { meta http-equiv="refresh" content=(REFRESH_MS / 1000 * 3); }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "dualsync" }
                    form.filter method="get" action="/" {
                        label { "Record errors of map " select name="map" {
                            option value="" { "any" }
                            @for m in maps { option value=(m) selected[f.map.as_deref() == Some(m)] { (m) } }
                        } }
                        label { " kind " select name="kind" {
                            option value="" { "any" }
                            @for k in RecordErrorKind::ALL {
                                option value=(k.as_str()) selected[f.kind.as_deref() == Some(k.as_str())] { (k.as_str()) }
                            }
                        } }
                        " " button type="submit" { "Filter" }
                    }
                }
                main #live data-query=(q.query()) { (live) }
                script { (PreEscaped(SCRIPT.replace("REFRESH_MS", &REFRESH_MS.to_string()))) }
            }
        }
    }
}

/// The part the script refreshes: summary, maps, record errors, process runs.
fn live(v: &View, q: &PageQuery) -> Markup {
    html! {
        @match &v.status {
            Ok(s) => {
                p.summary {
                    @if s.healthy { span.badge.ok #health { "healthy" } } @else { span.badge.bad #health { "needs attention" } }
                    " daemon " strong { (s.daemon.state) } " — " (s.daemon.detail)
                    @if !s.map_files.valid {
                        br; span.warn { "The map files in " (s.map_files.folder) " have " (s.map_files.problems)
                            " problem(s); the daemon keeps the maps it last adopted (dualsync validate shows them)." }
                    }
                    @if let Some(c) = &s.setup_check {
                        br; span #setup class=(if c.status == "succeeded" { "ok" } else { "warn" }) {
                            @match (c.status.as_str(), c.problems.len()) {
                                ("succeeded", _) => { "Setup check: complete" }
                                ("failed", _) => { "Setup check: could not run" }
                                (_, n) => { "Setup check: " (n) " problem(s) in the accounting setup (dualsync check names them)" }
                            }
                            " (at the daemon's start, " (c.checked_at.format("%Y-%m-%d %H:%M:%S UTC")) ")."
                        }
                        @if !c.problems.is_empty() {
                            ul #setup-problems { @for p in &c.problems { li { (p) } } }
                        }
                    }
                    br; small #updated { "as of " (Utc::now().format("%Y-%m-%d %H:%M:%S UTC")) }
                }
                (maps_table(&s.maps))
            }
            Err(e) => { p.summary { span.badge.bad { "unavailable" } " " (e.body().error) } }
        }
        @if let Some(r) = &v.retried {
            p.notice #notice data-status=(r.status) {
                "Record error " (r.id) " (" (r.map) ", " (r.record) ") was retried: " strong { (r.status) }
                @if r.status != "resolved" { " — it failed again: " (r.message) }
            }
        }
        section #errors {
            @match &v.errors {
                Ok(list) => {
                    h2 { "Open record errors (" (list.errors.len()) ")" }
                    (errors_table(list, q))
                }
                Err(e) => { h2 { "Open record errors" } p.warn { (e.body().error) } }
            }
        }
        section #runs {
            h2 { "Accounting process runs" }
            @match &v.runs {
                Ok(runs) => (runs_table(runs)),
                Err(e) => { p.muted { (e.body().error) } }
            }
        }
    }
}

fn maps_table(maps: &[MapReport]) -> Markup {
    html! {
        section #maps {
            h2 { "Maps" }
            table {
                thead { tr {
                    th { "map" } th { "state" } th.n { "links" } th.n { "applied" } th.n { "skipped" }
                    th.n { "parked" } th.n { "errors" } th.n { "behind" } th.n { "oldest waiting" } th { "last applied" }
                } }
                tbody {
                    @for m in maps {
                        tr data-map=(m.name) {
                            td { (m.name) }
                            td { span class={"state " (m.state)} { (m.state) }
                                 @if let Some(msg) = &m.message { div.muted { (msg) } } }
                            td.n { (m.links) } td.n { (m.applied) } td.n { (m.skipped) } td.n { (m.parked) }
                            td.n { @if m.errors > 0 { a href={"/?map=" (m.name)} { strong.bad { (m.errors) } } } @else { "0" } }
                            td.n { (m.behind.map(|n| n.to_string()).unwrap_or_else(|| "-".into())) }
                            td.n { (m.oldest_change_age_seconds.map(age).unwrap_or_else(|| "-".into())) }
                            td { (time(m.last_applied_at)) }
                        }
                    }
                }
            }
        }
    }
}

fn errors_table(list: &ErrorList, q: &PageQuery) -> Markup {
    let back = q.query();
    html! {
        @if list.errors.is_empty() {
            p.muted { "None: every record that failed has been synced or resolved." }
        } @else {
            table {
                thead { tr {
                    th.n { "id" } th { "map" } th { "record" } th { "kind" } th { "error and what to do" }
                    th.n { "attempts" } th { "last failed" } th {}
                } }
                tbody {
                    @for e in &list.errors {
                        tr.error data-id=(e.id) {
                            td.n { (e.id) }
                            td { (e.map) div.muted { "read from " (e.side) } }
                            td { code { (e.record) } }
                            td { span.kind { (e.kind) } }
                            td { (e.message) @if let Some(h) = &e.hint { div.hint { "hint: " (h) } } }
                            td.n { (e.attempts) }
                            td { (time(Some(e.last_seen))) }
                            td {
                                form method="post" action={"/errors/" (e.id) "/retry" @if !back.is_empty() { "?" (back) }} {
                                    button.retry type="submit" { "Retry" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn runs_table(runs: &JobRuns) -> Markup {
    html! {
        @if runs.runs.is_empty() {
            p.muted { "No runs yet." }
        } @else {
            table {
                thead { tr { th.n { "job" } th { "process" } th { "company" } th { "started" } th { "status" } th { "counts" } th { "errors" } } }
                tbody {
                    @for r in &runs.runs {
                        tr {
                            td.n { (r.id) } td { (r.process) } td { (r.company.as_deref().unwrap_or("all")) }
                            td { (time(r.started)) }
                            td { span class={"run " (r.status)} { (r.status) } @if let Some(m) = &r.message { div.muted { (m) } } }
                            td { (counts(&r.counts)) }
                            td { @for e in r.errors.iter().take(3) { div { (e) } }
                                 @if r.errors.len() > 3 { div.muted { "and " (r.errors.len() - 3) " more (dualsync journal log)" } } }
                        }
                    }
                }
            }
        }
    }
}

/// A run's non-zero counts, "imported 12, lines 40"; "nothing to do" when all are zero.
fn counts(c: &serde_json::Value) -> String {
    let Some(c) = c.as_object() else {
        return String::new();
    };
    let done: Vec<String> = c
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect();
    if done.is_empty() {
        "nothing to do".into()
    } else {
        done.join(", ")
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

fn age(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s => format!("{:.1} h", s / 3600.0),
    }
}

/// The retry button: syncs the record again, then back to the page, which says how it went.
pub async fn retry(State(admin): State<Arc<Admin>>, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> Response {
    match errors::retry(&admin.config, Some(id), &Filter::default()).await {
        Ok(_) => {
            let back = q.query();
            let sep = if back.is_empty() { "" } else { "&" };
            Redirect::to(&format!("/?{back}{sep}retried={id}")).into_response()
        }
        Err(e) => {
            let f = Failure(e);
            let body = f.body();
            let markup = html! {
                (DOCTYPE)
                html lang="en" { head { meta charset="utf-8"; title { "retry failed" } style { (PreEscaped(STYLE)) } }
                body { h1 { "Retrying record error " (id) " failed" }
                    p.warn { (body.error) } @if let Some(h) = &body.hint { p.hint { "hint: " (h) } }
                    p { a href="/" { "Back to the status page" } } } }
            };
            let code = f.into_response().status();
            (code, markup).into_response()
        }
    }
}

pub async fn login_form() -> Markup {
    login_page(None)
}

fn login_page(problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" { head { meta charset="utf-8"; title { "dualsync: sign in" } style { (PreEscaped(STYLE)) } }
        body { h1 { "dualsync" }
            @if let Some(p) = problem { p.warn { (p) } }
            form method="post" action="/login" {
                label { "Admin token (the content of admin.token_file) " input type="password" name="token" autocomplete="current-password"; }
                " " button type="submit" { "Sign in" }
            } } }
    }
}

#[derive(Debug, Deserialize)]
pub struct Login {
    token: String,
}

/// Takes the token once and keeps it in an HttpOnly, SameSite=Strict cookie.
pub async fn login(State(admin): State<Arc<Admin>>, headers: HeaderMap, Form(form): Form<Login>) -> Response {
    if !super::auth::accepts(&admin, &form.token) {
        return (StatusCode::UNAUTHORIZED, login_page(Some("That is not the token."))).into_response();
    }
    // Secure when a TLS proxy says the browser came over HTTPS.
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict{}",
        super::auth::COOKIE,
        form.token.trim(),
        if secure { "; Secure" } else { "" }
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #fafbfc; }
header { display: flex; gap: 2rem; align-items: baseline; flex-wrap: wrap; }
h1 { margin: 0; font-size: 1.5rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; } .n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #6b7280; font-size: .9em; } .hint { color: #374151; font-size: .9em; margin-top: .2rem; }
.warn { color: #9a3412; } .bad { color: #b91c1c; }
.badge { padding: .1rem .5rem; border-radius: .8rem; color: #fff; font-weight: 600; }
.badge.ok { background: #15803d; } .badge.bad { background: #b91c1c; color: #fff; }
.state, .run, .kind { padding: 0 .4rem; border-radius: .3rem; background: #e5e7eb; }
.state.running, .run.Succeeded { background: #dcfce7; } .state.paused, .run.Warning { background: #fef3c7; }
.state.failed, .run.Failed { background: #fee2e2; } .state.initial-sync, .run.Running { background: #dbeafe; }
.notice { background: #eef2ff; padding: .5rem; border-left: 4px solid #4f46e5; }
button { cursor: pointer; }
"#;

/// Refreshes the live part in place (not while a filter is being chosen).
const SCRIPT: &str = r#"
(function () {
  const live = document.getElementById('live');
  setInterval(async function () {
    if (document.activeElement && document.activeElement.closest('form')) return;
    const q = live.dataset.query;
    try {
      const r = await fetch('/?fragment=1' + (q ? '&' + q : ''), { credentials: 'same-origin' });
      if (r.ok) live.innerHTML = await r.text();
    } catch (e) { /* the daemon may be restarting; the next refresh tries again */ }
  }, REFRESH_MS);
})();
"#;
