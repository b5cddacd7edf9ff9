//! Smoke test of the Dataverse-shaped test server (`tests/fixtures/dataverse/server.py`,
//! harness `tests/common/dataverse.rs`) with plain reqwest, not dualsync's stores: tokens,
//! the `$metadata` lookup shape, a SQLite data file served, Dataverse paging, change tracking
//! with bare-GUID deletions, upsert, `@odata.bind`, `$batch` with and without
//! continue-on-error, and every fault of the control endpoint.

mod common;

use std::time::{Duration, Instant};

use common::dataverse::{DataverseServer, operational_sqlite};
use reqwest::Method;
use serde_json::{Value, json};

const P1: &str = "11111111-0000-0000-0000-000000000001";
const P2: &str = "11111111-0000-0000-0000-000000000002";
const TASK: &str = "22222222-0000-0000-0000-000000000001";

/// A server over a data file with five projects and one task of project P1.
async fn seeded() -> (DataverseServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("operational.db");
    let mut sql = String::new();
    for i in 1..=5 {
        sql += &format!(
            "INSERT INTO msdyn_projects (msdyn_projectid, msdyn_company, msdyn_subject, \
             msdyn_scheduledstart) VALUES ('11111111-0000-0000-0000-00000000000{i}', 'USPM', \
             'Project {i}', '2024-0{i}-01');"
        );
    }
    sql += &format!(
        "INSERT INTO msdyn_projecttasks (msdyn_projecttaskid, msdyn_project, msdyn_company, \
         msdyn_subject, msdyn_effort) VALUES ('{TASK}', '{P1}', 'USPM', 'Design', '12.500000');"
    );
    operational_sqlite(&path, &sql).await;
    (DataverseServer::start(Some(&path), None), dir)
}

async fn status_and_json(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, body)
}

#[tokio::test]
async fn metadata_data_file_and_paging() {
    let (dv, _dir) = seeded().await;
    // A wrong secret gets no token; the right one does.
    let refused = reqwest::Client::new()
        .post(dv.token_url())
        .form(&[("grant_type", "client_credentials"), ("client_secret", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(dv.new_token().await.starts_with("tok-"));

    let r = dv.request(Method::GET, "$metadata", &[], None).await;
    let metadata = r.text().await.unwrap();
    assert!(metadata.contains(r#"<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm""#));
    assert!(metadata.contains(r#"<EntityType Name="msdyn_projecttask">"#));
    assert!(metadata.contains(r#"<Property Name="_msdyn_project_value" Type="Edm.Guid"/>"#));
    assert!(metadata.contains(r#"<NavigationProperty Name="msdyn_project" Type="mscrm.msdyn_project">"#));
    assert!(
        metadata.contains(
            r#"<ReferentialConstraint Property="_msdyn_project_value" ReferencedProperty="msdyn_projectid"/>"#
        )
    );
    assert!(metadata.contains(r#"<NavigationPropertyBinding Path="msdyn_project" Target="msdyn_projects"/>"#));
    assert!(metadata.contains("Org.OData.Capabilities.V1.ChangeTracking"));
    let task_type = metadata
        .split(r#"<EntityType Name="msdyn_projecttask">"#)
        .nth(1)
        .unwrap();
    let task_type = task_type.split("</EntityType>").next().unwrap();
    assert!(task_type.contains(r#"<Property Name="_msdyn_parenttask_value" Type="Edm.Guid"/>"#));
    assert!(
        !task_type.contains(r#"<Property Name="msdyn_project" "#),
        "the column is no property"
    );

    // The data file is served; the lookup column appears as _x_value; decimals stay exact.
    let task = dv.get_json(&format!("msdyn_projecttasks({TASK})"), &[]).await;
    assert_eq!(task["_msdyn_project_value"], P1);
    assert_eq!(task["msdyn_effort"].to_string(), "12.5");
    assert!(task["@odata.etag"].as_str().unwrap().starts_with("W/\""));

    // maxpagesize 2: absolute nextLinks with an opaque cookie, followed to every row.
    let mut url = "msdyn_projects?$select=msdyn_subject".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = dv
            .request(Method::GET, &url, &[("Prefer", "odata.maxpagesize=2")], None)
            .await;
        assert_eq!(r.headers()["Preference-Applied"], "odata.maxpagesize=2");
        let page: Value = r.json().await.unwrap();
        pages += 1;
        for row in page["value"].as_array().unwrap() {
            seen.push(row["msdyn_projectid"].as_str().unwrap().to_string());
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&dv.api_url()), "absolute nextLink: {next}");
                assert!(next.contains("$select=msdyn_subject&$skiptoken=%3Ccookie"));
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], P1);

    // $skip is not supported.
    let r = dv.request(Method::GET, "msdyn_projects?$skip=1", &[], None).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn change_tracking_delta_and_expiry() {
    let (dv, _dir) = seeded().await;
    let track = [("Prefer", "odata.track-changes,odata.maxpagesize=3")];
    let r = dv
        .request(Method::GET, "msdyn_projects?$filter=statecode eq 0", &track, None)
        .await;
    let (status, _, body) = status_and_json(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "0x80060888");
    assert_eq!(
        body["error"]["message"],
        "The \"$filter\" query parameter isn't supported when Change Tracking is enabled."
    );

    // Pages: the deltaLink comes on the last page only and keeps $select.
    let first = dv.get_json("msdyn_projects?$select=msdyn_subject", &track).await;
    assert!(first.get("@odata.deltaLink").is_none());
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    // The cookie carries the tracking: the next page needs only the page size.
    let last = dv.get_json(&next, &[("Prefer", "odata.maxpagesize=3")]).await;
    assert_eq!(last["value"].as_array().unwrap().len(), 2);
    let delta = last["@odata.deltaLink"].as_str().unwrap().to_string();
    assert!(delta.contains("$select=msdyn_subject&$deltatoken="), "{delta}");

    // An insert, an update and a delete.
    let new_id = "11111111-0000-0000-0000-000000000009";
    let r = dv
        .patch(
            "msdyn_projects",
            new_id,
            &json!({"msdyn_company": "USPM", "msdyn_subject": "New"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = dv
        .patch("msdyn_projects", P2, &json!({"msdyn_subject": "Renamed"}))
        .await;
    assert_eq!(r.status(), 204);
    let r = dv
        .delete("msdyn_projects", "11111111-0000-0000-0000-000000000005")
        .await;
    assert_eq!(r.status(), 204);

    let changes = dv.get_json(&delta, &[]).await;
    assert!(
        changes["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#msdyn_projects(msdyn_subject)/$delta")
    );
    let rows = changes["value"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{changes}");
    assert_eq!(rows[0]["msdyn_projectid"], new_id);
    assert_eq!(rows[0]["msdyn_subject"], "New");
    assert!(rows[0].get("msdyn_company").is_none(), "$select kept");
    assert_eq!(rows[1]["msdyn_subject"], "Renamed");
    assert_eq!(rows[2]["id"], "11111111-0000-0000-0000-000000000005");
    assert_eq!(rows[2]["reason"], "deleted");
    assert!(
        rows[2]["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#msdyn_projects/$deletedEntity")
    );
    let again = changes["@odata.deltaLink"].as_str().unwrap().to_string();
    let quiet = dv.get_json(&again, &[]).await;
    assert_eq!(quiet["value"].as_array().unwrap().len(), 0);

    // Expired tokens: Dataverse's ExpiredVersionStamp.
    dv.control(json!({"expire_delta_tokens": true})).await;
    let (status, _, body) = status_and_json(dv.request(Method::GET, &again, &[], None).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "0x80044352");
}

#[tokio::test]
async fn upsert_lookups_and_preconditions() {
    let (dv, _dir) = seeded().await;
    let id = "33333333-0000-0000-0000-000000000001";
    // PATCH of a missing key creates it: 204 with OData-EntityId, no body.
    let row = json!({"msdyn_company": "USPM", "msdyn_subject": "Build",
                     "msdyn_project@odata.bind": format!("/msdyn_projects({P1})")});
    let (status, headers, body) = status_and_json(dv.patch("msdyn_projecttasks", id, &row).await).await;
    assert_eq!(status, 204);
    assert_eq!(body, Value::Null);
    assert_eq!(
        headers["OData-EntityId"],
        format!("{}/msdyn_projecttasks({id})", dv.api_url())
    );
    let stored = dv.rows("msdyn_projecttasks").await;
    let created = stored.iter().find(|r| r["msdyn_projecttaskid"] == id).unwrap();
    assert_eq!(created["_msdyn_project_value"], P1);

    // An absolute bind URL re-points the lookup; return=representation answers 200 + body.
    let bind = json!({"msdyn_project@odata.bind": format!("{}/msdyn_projects({P2})", dv.api_url())});
    let r = dv
        .request(
            Method::PATCH,
            &format!("msdyn_projecttasks({id})"),
            &[("Prefer", "return=representation")],
            Some(&bind),
        )
        .await;
    let (status, headers, body) = status_and_json(r).await;
    assert_eq!(status, 200);
    assert_eq!(body["_msdyn_project_value"], P2);
    let etag = headers["ETag"].to_str().unwrap().to_string();
    assert_eq!(body["@odata.etag"], etag);
    assert_eq!(
        body["versionnumber"].to_string(),
        etag.trim_start_matches("W/").trim_matches('"')
    );

    // _x_value is read-only; a null bind clears the lookup (as documented), and so does
    // DELETE .../x/$ref.
    let r = dv
        .patch("msdyn_projecttasks", id, &json!({"_msdyn_project_value": P1}))
        .await;
    assert_eq!(r.status(), 400);
    let r = dv
        .patch("msdyn_projecttasks", id, &json!({"msdyn_project@odata.bind": null}))
        .await;
    assert_eq!(r.status(), 204);
    let task = dv.get_json(&format!("msdyn_projecttasks({id})"), &[]).await;
    assert_eq!(task["_msdyn_project_value"], Value::Null);
    let r = dv
        .patch(
            "msdyn_projecttasks",
            id,
            &json!({"msdyn_project@odata.bind": format!("/msdyn_projects({P1})")}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = dv
        .request(
            Method::DELETE,
            &format!("msdyn_projecttasks({id})/msdyn_project/$ref"),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    let task = dv.get_json(&format!("msdyn_projecttasks({id})"), &[]).await;
    assert_eq!(task["_msdyn_project_value"], Value::Null);
    assert_ne!(task["@odata.etag"], etag, "versionnumber grows on every change");

    // Decimals keep every digit both ways (no f64 anywhere).
    let exact = r#"{"msdyn_effort": 123456789012.123456}"#;
    let r = reqwest::Client::new()
        .patch(format!("{}/msdyn_projecttasks({id})", dv.api_url()))
        .bearer_auth(dv.new_token().await)
        .header("Content-Type", "application/json")
        .body(exact)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = dv
        .request(
            Method::GET,
            &format!("msdyn_projecttasks({id})?$select=msdyn_effort"),
            &[],
            None,
        )
        .await;
    assert!(
        r.text()
            .await
            .unwrap()
            .contains(r#""msdyn_effort":123456789012.123456"#)
    );

    // If-Match: * on a missing record -> 404; If-None-Match: * on an existing one -> 412.
    let r = dv
        .request(
            Method::PATCH,
            "msdyn_projects(44444444-0000-0000-0000-000000000000)",
            &[("If-Match", "*")],
            Some(&json!({"msdyn_subject": "x"})),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = dv
        .request(
            Method::PATCH,
            &format!("msdyn_projects({P1})"),
            &[("If-None-Match", "*")],
            Some(&json!({"msdyn_subject": "x"})),
        )
        .await;
    let (status, _, body) = status_and_json(r).await;
    assert_eq!(status, 412);
    assert_eq!(
        body["error"]["message"],
        "A record with matching key values already exists."
    );

    // POST creates with 204 too; a too-long text is Dataverse's 0x80044331.
    let r = dv
        .post(
            "msdyn_projects",
            &json!({"msdyn_company": "USPM", "msdyn_subject": "Posted"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["OData-EntityId"]
            .to_str()
            .unwrap()
            .starts_with(&dv.api_url())
    );
    let long = "x".repeat(101);
    let (status, _, body) = status_and_json(
        dv.post(
            "msdyn_projects",
            &json!({"msdyn_company": "USPM", "msdyn_subject": long}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "0x80044331");
}

/// A multipart batch: a changeset of two creates (the second binds `$1`), then a create with
/// a too-long subject, then an upsert.
fn batch_body(api: &str) -> String {
    let part = |method: &str, url: &str, body: Value, id: Option<u32>| {
        let cid = id.map(|i| format!("Content-ID: {i}\r\n")).unwrap_or_default();
        format!(
            "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n{cid}\r\n\
             {method} {url} HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n{body}\r\n"
        )
    };
    let project = json!({"msdyn_company": "USPM", "msdyn_subject": "Batch"});
    let task = json!({"msdyn_company": "USPM", "msdyn_subject": "T", "msdyn_project@odata.bind": "$1"});
    let long = json!({"msdyn_company": "USPM", "msdyn_subject": "y".repeat(150)});
    let upsert = json!({"msdyn_company": "USPM", "msdyn_subject": "Upserted"});
    format!(
        "--batch_A\r\nContent-Type: multipart/mixed; boundary=changeset_B\r\n\r\n\
         --changeset_B\r\n{}--changeset_B\r\n{}--changeset_B--\r\n\
         --batch_A\r\n{}--batch_A\r\n{}--batch_A--\r\n",
        part("POST", "/api/data/v9.2/msdyn_projects", project, Some(1)),
        part("POST", "/api/data/v9.2/msdyn_projecttasks", task, Some(2)),
        part("POST", &format!("{api}/msdyn_projects"), long, None),
        part(
            "PATCH",
            "msdyn_projects(55555555-0000-0000-0000-000000000001)",
            upsert,
            None
        ),
    )
}

async fn send_batch(dv: &DataverseServer, prefer: Option<&str>) -> (u16, String) {
    let token = dv.new_token().await;
    let mut rb = reqwest::Client::new()
        .post(format!("{}/$batch", dv.api_url()))
        .bearer_auth(token)
        .header("Content-Type", "multipart/mixed; boundary=\"batch_A\"")
        .body(batch_body(&dv.api_url()));
    if let Some(p) = prefer {
        rb = rb.header("Prefer", p);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn batch_with_and_without_continue_on_error() {
    let (dv, _dir) = seeded().await;
    let (status, body) = send_batch(&dv, None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body.matches("HTTP/1.1 ").count(), 1, "only the failure: {body}");
    assert!(body.contains("0x80044331"));
    assert!(body.contains("The length of the 'msdyn_subject' attribute of the 'msdyn_project' entity"));
    let upserted = "55555555-0000-0000-0000-000000000001";
    let ids = |rows: Vec<Value>| {
        rows.iter()
            .map(|r| r["msdyn_projectid"].to_string())
            .collect::<String>()
    };
    assert!(
        !ids(dv.rows("msdyn_projects").await).contains(upserted),
        "stopped at the failure"
    );
    assert_eq!(
        dv.rows("msdyn_projecttasks").await.len(),
        2,
        "the changeset before it committed"
    );

    let (status, body) = send_batch(&dv, Some("odata.continue-on-error")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("boundary=changesetresponse_"));
    assert_eq!(body.matches("HTTP/1.1 204 No Content").count(), 3, "{body}");
    assert_eq!(body.matches("HTTP/1.1 400 Bad Request").count(), 1, "{body}");
    assert!(ids(dv.rows("msdyn_projects").await).contains(upserted));
    let stats = dv.stats().await;
    assert_eq!(
        stats["batch_parts"], 7,
        "3 parts run in the first batch, 4 in the second"
    );

    // A failing changeset rolls back as a whole.
    let before = dv.rows("msdyn_projects").await.len();
    let bad = "--batch_A\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\n\
        Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n\
        POST msdyn_projects HTTP/1.1\r\nContent-Type: application/json\r\n\r\n\
        {\"msdyn_company\":\"USPM\"}\r\n--cs\r\nContent-Type: application/http\r\n\r\n\
        PATCH msdyn_projects(11111111-0000-0000-0000-000000000001) HTTP/1.1\r\n\
        Content-Type: application/json\r\n\r\n{\"_msdyn_x_value\":1}\r\n--cs--\r\n--batch_A--\r\n";
    let r = reqwest::Client::new()
        .post(format!("{}/$batch", dv.api_url()))
        .bearer_auth(dv.new_token().await)
        .header("Content-Type", "multipart/mixed; boundary=batch_A")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(dv.rows("msdyn_projects").await.len(), before, "rolled back");
}

#[tokio::test]
async fn faults_of_the_control_endpoint() {
    let dv = DataverseServer::start(None, None);
    let client = reqwest::Client::new();
    let token = dv.new_token().await;
    let get = |token: &str| {
        client
            .get(format!("{}/msdyn_actuals", dv.api_url()))
            .bearer_auth(token.to_string())
            .send()
    };
    assert_eq!(get(&token).await.unwrap().status(), 200);
    // No token at all -> 401 with error JSON.
    let r = client
        .get(format!("{}/msdyn_actuals", dv.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    dv.control(json!({"throttle": 2, "retry_after": 3})).await;
    for _ in 0..2 {
        let r = get(&token).await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["Retry-After"], "3");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "0x80072322");
    }
    assert_eq!(get(&token).await.unwrap().status(), 200);

    dv.control(json!({"unavailable": 1})).await;
    let r = get(&token).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["Retry-After"], "1");

    dv.control(json!({"revoke": true})).await;
    let r = get(&token).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["code"].as_str().unwrap().starts_with("0x"));
    let token = dv.new_token().await;
    assert_eq!(get(&token).await.unwrap().status(), 200);

    dv.control(json!({"drop": 1})).await;
    assert!(get(&token).await.is_err(), "the connection is closed without an answer");
    assert_eq!(get(&token).await.unwrap().status(), 200);

    dv.control(json!({"slow": 1, "slow_ms": 400})).await;
    let started = Instant::now();
    assert_eq!(get(&token).await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    let stats = dv.stats().await;
    let requests = stats["requests"].as_array().unwrap();
    let statuses: Vec<String> = requests.iter().map(|r| r["status"].to_string()).collect();
    assert_eq!(
        statuses,
        [
            "200",
            "401",
            "429",
            "429",
            "200",
            "503",
            "401",
            "200",
            "\"dropped\"",
            "200",
            "200"
        ]
    );
    assert_eq!(requests[0]["path"], "/msdyn_actuals");
    assert!(requests[1]["at"].as_f64().unwrap() >= requests[0]["at"].as_f64().unwrap());
    assert_eq!(stats["max_in_flight"], 1);

    dv.control(json!({"reset": true})).await;
    assert_eq!(dv.stats().await["total"], 0);
}
