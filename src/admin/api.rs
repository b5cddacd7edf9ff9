//! The admin REST API under `/api`: the admin commands over HTTP, in the same JSON shapes as
//! `--output json` (the report types of `commands`), described by the OpenAPI document at
//! `/api/openapi.json` that `utoipa` generates from these handlers. Reads use the daemon's own
//! stores; changes go through the same functions as the CLI (pause and resume write the map's
//! state, which the daemon sees at its next round; a retry syncs the records at once); an
//! initial sync and a reload are asked of the daemon's loop and answered 202.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::{Admin, Sources};
use crate::commands::errors::{self, ErrorList, Filter, RecordError, RetryReport};
use crate::commands::journal::JobRuns;
use crate::commands::maps::MapChange;
use crate::commands::status::{MapReport, StatusReport};
use crate::error::{Error, Kind};

/// The API's answer to a request it could not serve: what went wrong and what to do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// usage, maps, not-found, busy, store or failed.
    pub kind: String,
    pub error: String,
    pub hint: Option<String>,
}

/// An `Error` as the API answers it: its kind gives the HTTP status.
pub struct Failure(pub Error);

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure(e)
    }
}

impl Failure {
    fn status(&self) -> (StatusCode, &'static str) {
        match self.0.kind {
            Kind::Usage => (StatusCode::BAD_REQUEST, "usage"),
            Kind::Maps => (StatusCode::UNPROCESSABLE_ENTITY, "maps"),
            Kind::NotFound => (StatusCode::NOT_FOUND, "not-found"),
            Kind::Busy => (StatusCode::CONFLICT, "busy"),
            Kind::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store"),
            Kind::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
        }
    }

    pub fn body(&self) -> ApiError {
        ApiError {
            kind: self.status().1.into(),
            error: self.0.message().to_string(),
            hint: self.0.hint().map(str::to_string),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status().0, Json(self.body())).into_response()
    }
}

type Answer<T> = Result<Json<T>, Failure>;

/// The running engine's parts, or 503 while the daemon starts.
pub(super) fn running(admin: &Admin) -> Result<Sources, Failure> {
    admin.sources().ok_or_else(|| {
        Failure(
            Error::new(
                Kind::Store(crate::store::ErrorKind::Transient),
                "the daemon is starting",
            )
            .with_hint("try again once /health/ready answers 200"),
        )
    })
}

pub(super) async fn status_report(admin: &Admin) -> Result<StatusReport, Failure> {
    let s = running(admin)?;
    Ok(crate::commands::status::status_of_daemon(&admin.config, &s.state, s.operational, s.accounting).await?)
}

/// Every map's state, counts and lag; the daemon; the change logs.
#[utoipa::path(get, path = "/api/status", tag = "status",
    responses((status = 200, body = StatusReport), (status = 503, body = ApiError)))]
pub async fn status(State(admin): State<Arc<Admin>>) -> Answer<StatusReport> {
    Ok(Json(status_report(&admin).await?))
}

/// Every map with its state, counts and lag (the maps of `/api/status`).
#[utoipa::path(get, path = "/api/maps", tag = "maps",
    responses((status = 200, body = Vec<MapReport>), (status = 503, body = ApiError)))]
pub async fn maps(State(admin): State<Arc<Admin>>) -> Answer<Vec<MapReport>> {
    Ok(Json(status_report(&admin).await?.maps))
}

/// One map's state, counts and lag.
#[utoipa::path(get, path = "/api/maps/{name}", tag = "maps",
    params(("name" = String, Path, description = "The map's name")),
    responses((status = 200, body = MapReport), (status = 404, body = ApiError)))]
pub async fn map(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Answer<MapReport> {
    let report = status_report(&admin).await?;
    let names: Vec<&str> = report.maps.iter().map(|m| m.name.as_str()).collect();
    let error = crate::error::no_such_map(&name, &names);
    report
        .maps
        .into_iter()
        .find(|m| m.name == name)
        .map(Json)
        .ok_or(Failure(error))
}

/// Pauses a map: its changes wait in the change log until it is resumed.
#[utoipa::path(post, path = "/api/maps/{name}/pause", tag = "maps",
    params(("name" = String, Path, description = "The map's name")),
    responses((status = 200, body = MapChange), (status = 404, body = ApiError)))]
pub async fn pause(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Answer<MapChange> {
    Ok(Json(
        crate::commands::maps::set_paused(&admin.config, &name, true).await?,
    ))
}

/// Resumes a paused map: the waiting changes are caught up in order.
#[utoipa::path(post, path = "/api/maps/{name}/resume", tag = "maps",
    params(("name" = String, Path, description = "The map's name")),
    responses((status = 200, body = MapChange), (status = 404, body = ApiError)))]
pub async fn resume(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Answer<MapChange> {
    Ok(Json(
        crate::commands::maps::set_paused(&admin.config, &name, false).await?,
    ))
}

/// What the daemon was asked to do; it does it in its loop (follow it in `/api/status`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub accepted: bool,
    pub message: String,
}

/// Runs the initial sync of a map again (records already in sync count as unchanged): the
/// daemon ends its live round, syncs the map, and goes on with live sync.
#[utoipa::path(post, path = "/api/maps/{name}/initial-sync", tag = "maps",
    params(("name" = String, Path, description = "The map's name")),
    responses((status = 202, body = Accepted), (status = 404, body = ApiError)))]
pub async fn initial_sync(
    State(admin): State<Arc<Admin>>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Accepted>), Failure> {
    let s = running(&admin)?;
    if !s.maps.iter().any(|(n, ..)| n == &name) {
        let mut names: Vec<&str> = s.maps.iter().map(|(n, ..)| n.as_str()).collect();
        names.sort();
        return Err(Failure(crate::error::no_such_map(&name, &names)));
    }
    s.state
        .clear_checkpoint(&name)
        .await
        .map_err(|e| Error::store("state store", e))?;
    ask(&s, "initial sync requested by the admin API").await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted: true,
            message: format!("the initial sync of {name} starts after the current live batch"),
        }),
    ))
}

/// Reloads the map files, as SIGHUP does: a valid edit is adopted, an invalid one is refused
/// with every problem in the log and the running maps go on.
#[utoipa::path(post, path = "/api/reload", tag = "maps",
    responses((status = 202, body = Accepted), (status = 503, body = ApiError)))]
pub async fn reload(State(admin): State<Arc<Admin>>) -> Result<(StatusCode, Json<Accepted>), Failure> {
    let s = running(&admin)?;
    ask(&s, "reload requested by the admin API").await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            accepted: true,
            message: "the map files are reloaded after the current live batch".into(),
        }),
    ))
}

/// Asks the daemon's loop to end its live round for `why` (a reload, which also runs the
/// initial syncs that are due). A reload already asked for serves this request too.
async fn ask(s: &Sources, why: &'static str) -> Result<(), Failure> {
    match s.control.try_send(why) {
        Ok(()) | Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => Ok(()),
        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => Err(Failure(
            Error::failed("the daemon is stopping").with_hint("start it again, then repeat the request"),
        )),
    }
}

/// Which record errors to list or retry.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErrorQuery {
    /// Only this map's.
    pub map: Option<String>,
    /// Only this kind: rejected, refused, missing-parent, duplicate-key, unreadable,
    /// bad-change, company-changed.
    pub kind: Option<String>,
    /// Resolved ones too (listing only).
    pub all: Option<bool>,
}

impl ErrorQuery {
    pub fn filter(&self) -> Filter {
        let blank = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        Filter {
            map: blank(&self.map),
            kind: blank(&self.kind),
            all: self.all.unwrap_or(false),
        }
    }
}

/// The dead-letter list: records that failed permanently, with the error and a hint.
#[utoipa::path(get, path = "/api/errors", tag = "errors", params(ErrorQuery),
    responses((status = 200, body = ErrorList), (status = 400, body = ApiError)))]
pub async fn error_list(State(admin): State<Arc<Admin>>, Query(q): Query<ErrorQuery>) -> Answer<ErrorList> {
    let s = running(&admin)?;
    Ok(Json(errors::list_in(&s.state, &q.filter()).await?))
}

/// One record error in full, with the record as read.
#[utoipa::path(get, path = "/api/errors/{id}", tag = "errors",
    params(("id" = i64, Path, description = "The record error's id")),
    responses((status = 200, body = RecordError), (status = 404, body = ApiError)))]
pub async fn error_show(State(admin): State<Arc<Admin>>, Path(id): Path<i64>) -> Answer<RecordError> {
    let s = running(&admin)?;
    Ok(Json(errors::get(&s.state, id).await?.into()))
}

/// Syncs the record of one error again: resolved when it now syncs, open with one more
/// attempt when it fails again.
#[utoipa::path(post, path = "/api/errors/{id}/retry", tag = "errors",
    params(("id" = i64, Path, description = "The record error's id")),
    responses((status = 200, body = RetryReport), (status = 404, body = ApiError)))]
pub async fn error_retry(State(admin): State<Arc<Admin>>, Path(id): Path<i64>) -> Answer<RetryReport> {
    Ok(Json(errors::retry(&admin.config, Some(id), &Filter::default()).await?))
}

/// Syncs the records of every open error again (of one map or kind, when given).
#[utoipa::path(post, path = "/api/errors/retry", tag = "errors", params(ErrorQuery),
    responses((status = 200, body = RetryReport), (status = 400, body = ApiError)))]
pub async fn error_retry_all(State(admin): State<Arc<Admin>>, Query(q): Query<ErrorQuery>) -> Answer<RetryReport> {
    Ok(Json(errors::retry(&admin.config, None, &q.filter()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// How many runs (default 20).
    pub limit: Option<usize>,
}

/// The latest runs of the accounting processes (import, post, forecasts) from the accounting
/// store's job log; 400 when the accounting store is an HTTP store (its processes are the
/// accounting system's own).
#[utoipa::path(get, path = "/api/journal/runs", tag = "journal", params(RunsQuery),
    responses((status = 200, body = JobRuns), (status = 400, body = ApiError)))]
pub async fn journal_runs(State(admin): State<Arc<Admin>>, Query(q): Query<RunsQuery>) -> Answer<JobRuns> {
    Ok(Json(admin.job_runs(q.limit.unwrap_or(20).min(500)).await?))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dualsync admin API",
        description = "The admin commands of a running dualsync daemon. Bearer token required \
                       when `admin.token_file` is set; the same JSON shapes as the CLI's `--output json`."
    ),
    paths(status, maps, map, pause, resume, initial_sync, reload, error_list, error_show,
          error_retry, error_retry_all, journal_runs),
    modifiers(&BearerToken),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of this API.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    Json(doc)
}
