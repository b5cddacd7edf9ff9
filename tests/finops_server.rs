//! Tests of the finance-and-operations-shaped test server itself
//! (`tests/fixtures/finops/server.py`, harness `tests/common/finops.rs`) with plain reqwest,
//! not dualsync's stores: `$metadata` generated from the reference accounting schema,
//! cross-company reads, composite keys, enum literals, `$skip` paging, F&O's write rules and
//! errors, `$batch` changesets, the 5,000-operation limit, both kinds of 429, late commits
//! (backdate), the journal across a restart, and reads of 10,000+ rows.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::finops::{FinopsOptions, FinopsServer, accounting_sqlite};
use reqwest::Method;
use serde_json::{Value, json};

const ACTUALS: &str = "ProjCDSActualsImports";
const CATEGORIES: &str = "ProjCDSCategoryEntities";
const C1: &str = "cccccccc-0000-0000-0000-000000000001";
const C2: &str = "cccccccc-0000-0000-0000-000000000002";
const ENUM: &str = "Microsoft.Dynamics.DataEntities.ProjTransType";

/// The ActualId of seeded actual `i` (1..=15 in USPM, 16..=25 in DEMF).
fn actual(i: u32) -> String {
    format!("aaaaaaaa-0000-0000-0000-{i:012}")
}

/// The key segment of an actual.
fn actual_key(company: &str, i: u32) -> String {
    format!("{ACTUALS}(ProjectDataAreaId='{company}',ActualId={})", actual(i))
}

/// Two companies (USPM first), 25 actuals (15 USPM, 10 DEMF; Amount = i.25), three shared
/// categories (C1 Hour and Fee, C2 Expense) and a company-specific project category.
fn seed_sql() -> String {
    let mut sql = String::from(
        "INSERT INTO CompanyInfo (DataAreaId, Name, AccountingCurrency) VALUES \
         ('USPM', 'Contoso US', 'USD'), ('DEMF', 'Contoso DE', 'EUR');",
    );
    for i in 1..=25 {
        let company = if i <= 15 { "USPM" } else { "DEMF" };
        sql += &format!(
            "INSERT INTO ProjCDSActualsImport (ProjectDataAreaId, ActualId, TransType, Amount, \
             Quantity, Description, IsProcessed) VALUES ('{company}', '{}', 'Hour', '{i}.25', \
             '1.500000', 'Actual {i}', 0);",
            actual(i)
        );
    }
    sql += &format!(
        "INSERT INTO ProjCDSCategoryEntity (CategoryId, TransactionType, CategoryName) VALUES \
         ('{C1}', 'Hour', 'Time'), ('{C1}', 'Fee', 'Fees'), ('{C2}', 'Expense', 'Travel');\
         INSERT INTO ProjCategory (DataAreaId, CategoryId, Name, SharedCategoryId, TransactionType) \
         VALUES ('USPM', 'Travel', 'Travel', '{C2}', 'Expense');"
    );
    sql
}

async fn seeded(options: FinopsOptions) -> (FinopsServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("accounting.db");
    accounting_sqlite(&path, &seed_sql()).await;
    (FinopsServer::start(Some(&path), options), dir)
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

fn rows(page: &Value) -> &Vec<Value> {
    page["value"].as_array().expect("a value array")
}

/// `$filter=<text>` with the text percent-encoded.
fn filter(text: &str) -> String {
    format!("$filter={}", text.replace(' ', "%20").replace('\'', "%27"))
}

#[tokio::test]
async fn metadata_tokens_and_cross_company() {
    let (fo, _dir) = seeded(FinopsOptions::default()).await;
    let refused = reqwest::Client::new()
        .post(fo.token_url())
        .form(&[("grant_type", "client_credentials"), ("client_secret", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let anonymous = reqwest::Client::new()
        .get(format!("{}/{ACTUALS}", fo.data_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let metadata = fo.get("$metadata").await.text().await.unwrap();
    for wanted in [
        r#"<Schema Namespace="Microsoft.Dynamics.DataEntities""#,
        r#"<EntityType Name="ProjCDSActualsImport">"#,
        r#"<Key><PropertyRef Name="ProjectDataAreaId"/><PropertyRef Name="ActualId"/></Key>"#,
        r#"<EntitySet Name="ProjCDSActualsImports" EntityType="Microsoft.Dynamics.DataEntities.ProjCDSActualsImport"/>"#,
        r#"<EntitySet Name="ProjCDSProjectEntities" EntityType="Microsoft.Dynamics.DataEntities.ProjCDSProjectEntity"/>"#,
        r#"<EntitySet Name="ProjCDSJobLogs""#,
        r#"<EnumType Name="ProjTransType">"#,
        r#"<Member Name="Hour" Value="0"/>"#,
        r#"<Member Name="Fee" Value="3"/>"#,
        r#"<EnumType Name="ProjCDSIntegrationJournalLineStatus">"#,
        r#"<Property Name="Amount" Type="Edm.Decimal" Precision="19" Scale="4"/>"#,
        r#"<Property Name="ProjectDataAreaId" Type="Edm.String" Nullable="false" MaxLength="4"/>"#,
        r#"<Property Name="IsProcessed" Type="Edm.Boolean" Nullable="false"/>"#,
    ] {
        assert!(metadata.contains(wanted), "$metadata lacks {wanted}");
    }
    let type_of = |name: &str| {
        let start = metadata
            .find(&format!(r#"<EntityType Name="{name}">"#))
            .unwrap_or_else(|| panic!("no type {name}"));
        let end = start + metadata[start..].find("</EntityType>").unwrap();
        metadata[start..end].to_string()
    };
    for name in ["ProjCDSCategoryEntity", "ProjCategory"] {
        assert!(
            type_of(name).contains(&format!(r#"<Property Name="TransactionType" Type="{ENUM}""#)),
            "{name}: the shared ProjTransType enum"
        );
    }
    let actuals = type_of("ProjCDSActualsImport");
    assert!(actuals.contains(r#"<Property Name="ModifiedDateTime" Type="Edm.DateTimeOffset"/>"#));
    assert!(!actuals.contains("NavigationProperty"));
    assert_eq!(
        type_of("ProjForecastEmpl")
            .matches(r#"Name="ModifiedDateTime""#)
            .count(),
        1,
        "a table with its own ModifiedDateTime keeps it"
    );

    // Without cross-company=true only the default company (the first CompanyInfo, USPM).
    let companies = fo.get_json("CompanyInfos", &[]).await;
    assert_eq!(rows(&companies).len(), 1);
    assert_eq!(rows(&companies)[0]["DataAreaId"], "USPM");
    let all = fo.get_json("CompanyInfos?cross-company=true", &[]).await;
    assert_eq!(rows(&all).len(), 2);
    for (path, expected) in [
        ("ProjCDSActualsImports/$count", "15"),
        ("ProjCDSActualsImports/$count?cross-company=true", "25"),
    ] {
        let r = fo.get(path).await;
        assert_eq!(r.headers()["Content-Type"], "text/plain");
        assert_eq!(r.text().await.unwrap(), expected, "{path}");
    }
    // A shared set (no company key) shows every row either way.
    assert_eq!(rows(&fo.get_json(CATEGORIES, &[]).await).len(), 3);
    // A filter on the company needs cross-company for another company's rows.
    let demf = filter("ProjectDataAreaId eq 'demf'");
    assert_eq!(rows(&fo.get_json(&format!("{ACTUALS}?{demf}"), &[]).await).len(), 0);
    let page = fo.get_json(&format!("{ACTUALS}?{demf}&cross-company=true"), &[]).await;
    assert_eq!(rows(&page).len(), 10, "company comparisons ignore case");
    drop(fo);

    // --default-company, compared case-insensitively.
    let (fo, _dir) = seeded(FinopsOptions {
        default_company: Some("demf".into()),
        ..FinopsOptions::default()
    })
    .await;
    let page = fo.get_json(ACTUALS, &[]).await;
    assert_eq!(rows(&page).len(), 10);
    assert!(rows(&page).iter().all(|r| r["ProjectDataAreaId"] == "DEMF"));
}

#[tokio::test]
async fn composite_keys_and_enum_literals() {
    let (fo, _dir) = seeded(FinopsOptions::default()).await;
    let row = fo.get_json(&actual_key("USPM", 3), &[]).await;
    assert_eq!(row["ActualId"], actual(3));
    assert_eq!(row["Amount"].to_string(), "3.25");
    assert_eq!(row["IsProcessed"], false);
    // Keys compare case-insensitively, as F&O's collation does.
    let lower = fo.get_json(&actual_key("uspm", 3), &[]).await;
    assert_eq!(lower["ActualId"], actual(3));

    // Every key field must be given.
    let (status, _, body) = status_and_json(fo.get(&format!("{ACTUALS}(ActualId={})", actual(3))).await).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No HTTP resource was found that matches the request URI"),
        "{body}"
    );
    assert_eq!(body["error"]["code"], "");
    assert_eq!(body["error"]["innererror"]["stacktrace"], "");
    // Another company's row needs cross-company=true.
    assert_eq!(fo.get(&actual_key("DEMF", 20)).await.status(), 404);
    let other = fo
        .get_json(&format!("{}?cross-company=true", actual_key("DEMF", 20)), &[])
        .await;
    assert_eq!(other["ProjectDataAreaId"], "DEMF");

    // Enum keys and filters: Microsoft.Dynamics.DataEntities.<Enum>'<Member>'; JSON has names.
    let fee = fo
        .get_json(
            &format!("{CATEGORIES}(CategoryId={C1},TransactionType={ENUM}'Fee')"),
            &[],
        )
        .await;
    assert_eq!(fee["TransactionType"], "Fee");
    assert_eq!(fee["CategoryName"], "Fees");
    let eq = fo
        .get_json(
            &format!("{CATEGORIES}?{}", filter(&format!("TransactionType eq {ENUM}'Fee'"))),
            &[],
        )
        .await;
    assert_eq!(rows(&eq).len(), 1);
    assert_eq!(rows(&eq)[0]["CategoryId"], C1);
    let ne = fo
        .get_json(
            &format!("{CATEGORIES}?{}", filter(&format!("TransactionType ne {ENUM}'Fee'"))),
            &[],
        )
        .await;
    assert_eq!(rows(&ne).len(), 2);

    // A bare string against an enum: 400 with OData's message, in filters and in keys.
    let bare = "A binary operator with incompatible types was detected. Found operand types \
                'Microsoft.Dynamics.DataEntities.ProjTransType' and 'Edm.String' for operator \
                kind 'Equal'.";
    let r = fo
        .get(&format!("{CATEGORIES}?{}", filter("TransactionType eq 'Fee'")))
        .await;
    let (status, _, body) = status_and_json(r).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        format!("The query specified in the URI is not valid. {bare}")
    );
    assert_eq!(body["error"]["innererror"]["message"], bare);
    let r = fo
        .get(&format!("{CATEGORIES}(CategoryId={C1},TransactionType='Fee')"))
        .await;
    assert_eq!(r.status(), 400);
    // Only eq and ne apply to enums; has and in are not supported.
    for text in [
        format!("TransactionType gt {ENUM}'Hour'"),
        format!("TransactionType has {ENUM}'Hour'"),
        "CategoryName in ('Time')".to_string(),
    ] {
        let r = fo.get(&format!("{CATEGORIES}?{}", filter(&text))).await;
        assert_eq!(r.status(), 400, "{text}");
    }
    // F&O's wildcard eq and case-insensitive text.
    let like = fo
        .get_json(&format!("{CATEGORIES}?{}", filter("CategoryName eq '*RAV*'")), &[])
        .await;
    assert_eq!(rows(&like).len(), 1);
    assert_eq!(rows(&like)[0]["CategoryName"], "Travel");

    // A read by whole keys (answered from the key index), company-scoped as any read.
    let keys = format!(
        "(ProjectDataAreaId eq 'USPM' and ActualId eq {}) or (ProjectDataAreaId eq 'USPM' and \
         ActualId eq {}) or (ProjectDataAreaId eq 'DEMF' and ActualId eq {})",
        actual(1),
        actual(2),
        actual(20)
    );
    let page = fo
        .get_json(&format!("{ACTUALS}?{}&$select=Amount", filter(&keys)), &[])
        .await;
    assert_eq!(rows(&page).len(), 2);
    assert_eq!(rows(&page)[1]["Amount"].to_string(), "2.25");
    let page = fo
        .get_json(
            &format!("{ACTUALS}?{}&$select=Amount&cross-company=true", filter(&keys)),
            &[],
        )
        .await;
    assert_eq!(rows(&page).len(), 3);
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#ProjCDSActualsImports(Amount)")
    );
}

#[tokio::test]
async fn paging_with_skip_next_links() {
    let (fo, _dir) = seeded(FinopsOptions {
        page_size: Some(10),
        ..FinopsOptions::default()
    })
    .await;
    // Pages of the server's size, ordered by key, with absolute $skip nextLinks that keep
    // the other options.
    let mut url = format!("{ACTUALS}?cross-company=true&$select=Amount");
    let mut seen = Vec::new();
    let mut links = Vec::new();
    loop {
        let page = fo.get_json(&url, &[]).await;
        for row in rows(&page) {
            seen.push(format!("{}|{}", row["ProjectDataAreaId"], row["ActualId"]));
        }
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                links.push(next.to_string());
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(
        links,
        [
            format!("{}/{ACTUALS}?cross-company=true&$select=Amount&$skip=10", fo.data_url()),
            format!("{}/{ACTUALS}?cross-company=true&$select=Amount&$skip=20", fo.data_url()),
        ]
    );
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "key order (DEMF before USPM), no row twice");

    // odata.maxpagesize below the server's size, with $top and $count.
    let r = fo
        .request(
            Method::GET,
            &format!("{ACTUALS}?$top=6&$count=true"),
            &[("Prefer", "odata.maxpagesize=4")],
            None,
        )
        .await;
    assert_eq!(r.headers()["Preference-Applied"], "odata.maxpagesize=4");
    let page: Value = r.json().await.unwrap();
    assert_eq!(rows(&page).len(), 4);
    assert_eq!(page["@odata.count"], 15);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert_eq!(next, format!("{}/{ACTUALS}?$count=true&$top=2&$skip=4", fo.data_url()));
    let last = fo.get_json(next, &[("Prefer", "odata.maxpagesize=4")]).await;
    assert_eq!(rows(&last).len(), 2);
    assert!(last.get("@odata.nextLink").is_none());
    assert_eq!(last["@odata.count"], 15);

    // A larger maxpagesize is capped at the server's page size; $orderby and $skip work.
    let r = fo
        .request(
            Method::GET,
            &format!("{ACTUALS}?$orderby=Amount%20desc&$skip=1"),
            &[("Prefer", "odata.maxpagesize=50")],
            None,
        )
        .await;
    assert_eq!(r.headers()["Preference-Applied"], "odata.maxpagesize=10");
    let page: Value = r.json().await.unwrap();
    assert_eq!(rows(&page).len(), 10);
    assert_eq!(rows(&page)[0]["Amount"].to_string(), "14.25");
    assert!(
        page["@odata.nextLink"]
            .as_str()
            .unwrap()
            .ends_with("?$orderby=Amount%20desc&$skip=11")
    );
    assert!(page.get("@odata.count").is_none(), "no count unless asked");
}

fn whole_seconds(stamp: &Value) -> DateTime<Utc> {
    let text = stamp.as_str().expect("a ModifiedDateTime");
    assert!(!text.contains('.'), "whole seconds: {text}");
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn writes_follow_finops_rules() {
    let (fo, _dir) = seeded(FinopsOptions::default()).await;
    let new_id = "dddddddd-0000-0000-0000-000000000001";
    let before = Utc::now() - chrono::Duration::seconds(1);
    // A create without the company goes to the default company; 201 with the whole row.
    let (status, headers, body) = status_and_json(
        fo.post(
            ACTUALS,
            &json!({"ActualId": new_id, "Amount": 10.5, "TransType": "Hour"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ProjectDataAreaId"], "USPM");
    assert_eq!(body["IsProcessed"], false, "defaults filled");
    assert_eq!(body["VoucherNumber"], Value::Null, "every field answered");
    let created = whole_seconds(&body["ModifiedDateTime"]);
    assert!(created >= before && created <= Utc::now());
    assert_eq!(
        headers["Location"],
        format!(
            "{}/{ACTUALS}(ProjectDataAreaId='USPM',ActualId={new_id})",
            fo.data_url()
        )
    );

    // POST of an existing key: F&O's write failure, 400.
    let (status, _, body) = status_and_json(fo.post(ACTUALS, &json!({"ActualId": new_id})).await).await;
    assert_eq!(status, 400);
    let message = "Write failed for table row of type 'ProjCDSActualsImport'. Infolog: Error: \
                   The record already exists.";
    assert_eq!(body["error"]["message"], message);
    assert_eq!(body["error"]["innererror"]["message"], message);
    assert_eq!(body["error"]["code"], "");

    // PATCH of a missing key: 404 (no upsert).
    let missing = format!("{ACTUALS}(ProjectDataAreaId='USPM',ActualId=dddddddd-0000-0000-0000-000000000099)");
    let r = fo.patch(&missing, &json!({"VoucherNumber": "V1"})).await;
    assert_eq!(r.status(), 404);

    // A finance clerk posts: PATCH of the accounting attributes, 204, stamped anew.
    let path = actual_key("USPM", 2);
    let posted = json!({"VoucherNumber": "PJV-000001", "AccountingAmount": 2.25,
                        "ExchangeRate": 1.0000000000, "IsProcessed": true});
    let r = fo.patch(&path, &posted).await;
    assert_eq!(r.status(), 204);
    let row = fo.get_json(&path, &[]).await;
    assert_eq!(row["VoucherNumber"], "PJV-000001");
    assert_eq!(row["AccountingAmount"].to_string(), "2.25");
    assert_eq!(row["IsProcessed"], true);
    let stamp = whole_seconds(&row["ModifiedDateTime"]);
    assert!(stamp >= before && stamp <= Utc::now());

    // Key fields in the body: the same key (any case) is fine, another one is 400.
    let r = fo
        .patch(
            &path,
            &json!({"ProjectDataAreaId": "uspm", "ActualId": actual(2), "Description": "x"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let (status, _, body) = status_and_json(fo.patch(&path, &json!({"ActualId": actual(3)})).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("'ActualId'"),
        "{body}"
    );

    // MaxLength and Precision/Scale, named in the message.
    let (status, _, body) = status_and_json(fo.patch(&path, &json!({"VoucherNumber": "V".repeat(61)})).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("'VoucherNumber'"),
        "{body}"
    );
    let (status, _, body) = status_and_json(fo.patch(&path, &json!({"Amount": 1.23456})).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("'Amount'"),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("scale 4"), "{body}");
    let r = fo.patch(&path, &json!({"NoSuchField": 1})).await;
    assert_eq!(r.status(), 400);

    // return=minimal: 204 with the entity id.
    let r = fo
        .request(
            Method::POST,
            ACTUALS,
            &[("Prefer", "return=minimal")],
            Some(&json!({"ProjectDataAreaId": "DEMF", "ActualId": new_id})),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["OData-EntityId"]
            .to_str()
            .unwrap()
            .contains("ProjectDataAreaId='DEMF'")
    );

    // DELETE: 204, then 404.
    assert_eq!(fo.delete(&actual_key("USPM", 1)).await.status(), 204);
    assert_eq!(fo.delete(&actual_key("USPM", 1)).await.status(), 404);

    // /control/rows: every company, raw text values.
    let stored = fo.rows(ACTUALS).await;
    assert_eq!(stored.len(), 26, "25 - 1 deleted + 2 created");
    let demf = stored
        .iter()
        .find(|r| r["ProjectDataAreaId"] == "DEMF" && r["ActualId"] == new_id)
        .expect("the DEMF row");
    assert_eq!(demf["IsProcessed"], false);
    let two = stored.iter().find(|r| r["ActualId"] == actual(2)).unwrap();
    assert_eq!(two["AccountingAmount"], "2.25");
    assert_eq!(two["Description"], "x");
    let categories = fo.rows(CATEGORIES).await;
    assert!(
        categories.iter().any(|r| r["TransactionType"] == "Fee"),
        "enums by name"
    );
}

/// A multipart part: `Content-Type: application/http`, optional Content-ID, request line.
fn part(method: &str, url: &str, body: Option<Value>, id: Option<u32>) -> String {
    let cid = id.map(|i| format!("Content-ID: {i}\r\n")).unwrap_or_default();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    format!(
        "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n{cid}\r\n\
         {method} {url} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{body}\r\n"
    )
}

fn changeset(name: &str, parts: &[String]) -> String {
    let mut out = format!("Content-Type: multipart/mixed; boundary={name}\r\n\r\n");
    for p in parts {
        out += &format!("--{name}\r\n{p}");
    }
    out + &format!("--{name}--\r\n")
}

async fn send_batch(fo: &FinopsServer, items: &[String]) -> (u16, String) {
    let mut body = String::new();
    for item in items {
        body += &format!("--batch_A\r\n{item}");
    }
    body += "--batch_A--\r\n";
    let r = reqwest::Client::new()
        .post(format!("{}/$batch", fo.data_url()))
        .bearer_auth(fo.new_token().await)
        .header("Content-Type", "multipart/mixed; boundary=batch_A")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn batch_changesets_are_atomic_and_limited() {
    let (fo, _dir) = seeded(FinopsOptions::default()).await;
    let x1 = "eeeeeeee-0000-0000-0000-000000000001";
    let x2 = "eeeeeeee-0000-0000-0000-000000000002";
    let applied = changeset(
        "changeset_1",
        &[
            part(
                "POST",
                "/data/ProjCDSActualsImports",
                Some(json!({"ActualId": x1})),
                Some(1),
            ),
            part(
                "PATCH",
                &actual_key("USPM", 4),
                Some(json!({"VoucherNumber": "B1"})),
                Some(2),
            ),
        ],
    );
    let failing = changeset(
        "changeset_2",
        &[
            part(
                "POST",
                &format!("{}/{ACTUALS}", fo.data_url()),
                Some(json!({"ActualId": x2})),
                Some(3),
            ),
            part(
                "PATCH",
                &actual_key("USPM", 5),
                Some(json!({"VoucherNumber": "B2"})),
                Some(4),
            ),
            part("POST", ACTUALS, Some(json!({"ActualId": actual(6)})), Some(5)),
        ],
    );
    let read = part("GET", &format!("{ACTUALS}/$count"), None, None);
    let (status, body) = send_batch(&fo, &[failing, applied, read]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("--batchresponse_"), "{body}");
    assert_eq!(
        body.matches("Content-Type: multipart/mixed; boundary=changesetresponse_")
            .count(),
        1
    );
    assert_eq!(
        body.matches("HTTP/1.1 400 ").count(),
        1,
        "the failed changeset: its failure alone"
    );
    assert!(body.contains("Content-ID: 5\r\n"), "the failing part's Content-ID");
    assert!(body.contains("The record already exists."));
    assert!(
        !body.contains("Content-ID: 3\r\n"),
        "no response of the rolled-back parts"
    );
    assert!(body.contains("Content-ID: 1\r\n") && body.contains("Content-ID: 2\r\n"));
    assert_eq!(body.matches("HTTP/1.1 201 Created").count(), 1);
    assert_eq!(body.matches("HTTP/1.1 204 No Content").count(), 1);
    assert!(body.contains("\r\n\r\n16\r\n"), "the $count part after them: {body}");

    let stored = fo.rows(ACTUALS).await;
    let ids: Vec<&str> = stored.iter().map(|r| r["ActualId"].as_str().unwrap()).collect();
    assert!(ids.contains(&x1), "the good changeset committed");
    assert!(!ids.contains(&x2), "the failing changeset rolled back");
    let voucher = |i: u32| stored.iter().find(|r| r["ActualId"] == actual(i)).unwrap()["VoucherNumber"].clone();
    assert_eq!(voucher(4), "B1");
    assert_eq!(voucher(5), Value::Null, "rolled back");
    assert_eq!(fo.stats().await["batch_parts"], 6);

    // More than 5,000 operations: refused as a whole.
    let parts: Vec<String> = (0..5001)
        .map(|i| {
            part(
                "PATCH",
                &actual_key("USPM", 7),
                Some(json!({"Description": format!("n{i}")})),
                None,
            )
        })
        .collect();
    let (status, body) = send_batch(&fo, &parts).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("5001"), "{body}");
    let seven = fo.get_json(&actual_key("USPM", 7), &[]).await;
    assert_eq!(seven["Description"], "Actual 7", "nothing ran");
}

#[tokio::test]
async fn throttling_faults_and_late_commits() {
    let fo = FinopsServer::start(None, FinopsOptions::default());
    let client = reqwest::Client::new();
    let token = fo.new_token().await;
    let get = |token: &str| {
        client
            .get(format!("{}/CompanyInfos", fo.data_url()))
            .bearer_auth(token.to_string())
            .send()
    };
    assert_eq!(get(&token).await.unwrap().status(), 200);

    fo.control(json!({"throttle": 1, "retry_after": 7})).await;
    let r = get(&token).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["Retry-After"], "7");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
    );
    fo.control(json!({"throttle": 2, "retry_after": 2, "throttle_kind": "resource"}))
        .await;
    for _ in 0..2 {
        let r = get(&token).await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["Retry-After"], "2");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["error"]["message"],
            "This request could not be processed at this time due to system experiencing high \
             resource utilization."
        );
    }
    assert_eq!(get(&token).await.unwrap().status(), 200);

    fo.control(json!({"unavailable": 1})).await;
    assert_eq!(get(&token).await.unwrap().status(), 503);
    fo.control(json!({"revoke": true})).await;
    assert_eq!(get(&token).await.unwrap().status(), 401);
    let token = fo.new_token().await;
    fo.control(json!({"drop": 1})).await;
    assert!(get(&token).await.is_err(), "the connection is closed without an answer");
    fo.control(json!({"slow": 1, "slow_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(get(&token).await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let stats = fo.stats().await;
    let statuses: Vec<String> = stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].to_string())
        .collect();
    assert_eq!(
        statuses,
        ["200", "429", "429", "429", "200", "503", "401", "\"dropped\"", "200"]
    );
    assert_eq!(stats["by_status"]["429"], 3);
    assert_eq!(stats["requests"][0]["path"], "/CompanyInfos");

    // A late commit: the next write is stamped an hour back, the one after it is not.
    fo.control(json!({"backdate": {"count": 1, "seconds": 3600}})).await;
    let mut stamps = Vec::new();
    for company in ["USPM", "DEMF"] {
        let r = fo
            .post(
                "CompanyInfos",
                &json!({"DataAreaId": company, "AccountingCurrency": "USD"}),
            )
            .await;
        let (status, _, body) = status_and_json(r).await;
        assert_eq!(status, 201, "{body}");
        stamps.push(whole_seconds(&body["ModifiedDateTime"]));
    }
    let now = Utc::now();
    let late = (now - stamps[0]).num_seconds();
    assert!((3595..=3605).contains(&late), "backdated by {late} s");
    assert!((now - stamps[1]).num_seconds() <= 5, "the next write is on time");

    fo.control(json!({"reset": true})).await;
    assert_eq!(fo.stats().await["total"], 0);
}

#[tokio::test]
async fn the_journal_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("accounting.db");
    accounting_sqlite(&data, &seed_sql()).await;
    let journal = dir.path().join("writes.jsonl");
    let mut fo = FinopsServer::start(
        Some(&data),
        FinopsOptions {
            journal: Some(journal.clone()),
            ..FinopsOptions::default()
        },
    );
    let port = fo.port();
    let created = "ffffffff-0000-0000-0000-000000000001";
    assert_eq!(
        fo.post(ACTUALS, &json!({"ActualId": created, "Amount": 5}))
            .await
            .status(),
        201
    );
    let r = fo.patch(&actual_key("USPM", 8), &json!({"VoucherNumber": "J1"})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        fo.delete(&format!("{}?cross-company=true", actual_key("DEMF", 21)))
            .await
            .status(),
        204
    );
    let batched = changeset(
        "cs",
        &[part(
            "POST",
            ACTUALS,
            Some(json!({"ActualId": "ffffffff-0000-0000-0000-000000000002"})),
            Some(1),
        )],
    );
    let (status, _) = send_batch(&fo, &[batched]).await;
    assert_eq!(status, 200);
    // A failed write leaves no line.
    assert_eq!(fo.post(ACTUALS, &json!({"ActualId": created})).await.status(), 400);
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    let before = fo.rows(ACTUALS).await;

    fo.restart();
    assert_eq!(fo.port(), port, "the same port");
    let after = fo.rows(ACTUALS).await;
    assert_eq!(after, before, "the same rows after a restart");
    let eight = fo.get_json(&actual_key("USPM", 8), &[]).await;
    assert_eq!(eight["VoucherNumber"], "J1");
    assert!(after.iter().all(|r| r["ActualId"] != actual(21)));
    assert!(
        after
            .iter()
            .any(|r| r["ActualId"] == "ffffffff-0000-0000-0000-000000000002")
    );

    // Writes after the restart are journalled too, and a second restart replays them all.
    let r = fo.patch(&actual_key("USPM", 8), &json!({"VoucherNumber": "J2"})).await;
    assert_eq!(r.status(), 204);
    fo.restart();
    let eight = fo.get_json(&actual_key("USPM", 8), &[]).await;
    assert_eq!(eight["VoucherNumber"], "J2");
    assert_eq!(fo.rows(ACTUALS).await.len(), before.len());
}

#[tokio::test]
async fn ten_thousand_rows_page_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("accounting.db");
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10500) \
               INSERT INTO ProjCDSActualsImport (ProjectDataAreaId, ActualId, ProjectId, TransType, \
               Amount, Quantity, Description, IsProcessed) SELECT 'USPM', \
               printf('bbbbbbbb-0000-0000-0000-%012d', i), 'cccccccc-0000-0000-0000-000000000001', \
               'Hour', printf('%d.25', i), '8.000000', 'Actual ' || i, 0 FROM n;";
    accounting_sqlite(&data, sql).await;
    let fo = FinopsServer::start(Some(&data), FinopsOptions::default());
    let started = Instant::now();
    let first = fo.get_json(ACTUALS, &[]).await;
    let first_took = started.elapsed();
    assert_eq!(rows(&first).len(), 10_000, "F&O's page size");
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.ends_with("/data/ProjCDSActualsImports?$skip=10000"), "{next}");
    let second = fo.get_json(next, &[]).await;
    assert_eq!(rows(&second).len(), 500);
    assert!(
        first_took < Duration::from_secs(8),
        "a page of 10,000 rows took {first_took:?}"
    );

    // 100 whole keys in one filter: answered from the key index.
    let keys: Vec<String> = (1..=100)
        .map(|i| {
            format!(
                "(ProjectDataAreaId eq 'USPM' and ActualId eq bbbbbbbb-0000-0000-0000-{:012})",
                i * 97
            )
        })
        .collect();
    let started = Instant::now();
    let page = fo
        .get_json(&format!("{ACTUALS}?{}", filter(&keys.join(" or "))), &[])
        .await;
    assert_eq!(rows(&page).len(), 100);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}
