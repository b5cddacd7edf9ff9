//! `$batch` encoding and response parsing, on the request and response examples of Microsoft's
//! "Execute batch operations using the Web API" page (MicrosoftDocs/powerapps-docs), in LF and
//! CRLF form, plus round trips and malformed answers.

use proptest::prelude::*;

use super::*;

/// The response to three creates and a GET, without changesets (the page's first example).
const PLAIN: &str = "--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)


--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(d41ba648-c592-ed11-aad1-000d3a993550)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(d41ba648-c592-ed11-aad1-000d3a993550)


--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{
  \"@odata.context\": \"[Organization Uri]/api/data/v9.2/$metadata#tasks(subject)\",
  \"value\": [
    {
      \"@odata.etag\": \"W/\\\"77180907\\\"\",
      \"subject\": \"Task 1 in batch\",
      \"activityid\": \"d31ba648-c592-ed11-aad1-000d3a993550\"
    }
  ]
}
--batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916--
";

/// A changeset of three creates answered 204 with `Content-ID` and `OData-EntityId`, then a
/// GET outside it; the changeset boundary parameter is not quoted.
const CHANGESET: &str = "--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15

--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(e83ffc82-e292-ed11-aad1-000d3a9933c9)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e83ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 3

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(e93ffc82-e292-ed11-aad1-000d3a9933c9)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e93ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15--
--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{\"@odata.context\": \"[Organization Uri]/api/data/v9.2/$metadata#tasks(subject)\", \"value\": []}
--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f--
";

/// "Reference URI in request URL": `Location:` without a space, and a last part whose headers
/// run straight into the closing boundary.
const REFERENCE: &str = "--batchresponse_2cb48f48-39a8-41ea-aa52-132fa8ab3c2d
Content-Type: multipart/mixed; boundary=changesetresponse_d7528170-3ef3-41bd-be8e-eac971a8d9d4

--changesetresponse_d7528170-3ef3-41bd-be8e-eac971a8d9d4
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location:[Organization URI]/api/data/v9.2/contacts(f8ea5d2c-8c75-e911-a97a-000d3a34a1bd)
OData-EntityId:[Organization URI]/api/data/v9.2/contacts(f8ea5d2c-8c75-e911-a97a-000d3a34a1bd)

--changesetresponse_d7528170-3ef3-41bd-be8e-eac971a8d9d4
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0
--changesetresponse_d7528170-3ef3-41bd-be8e-eac971a8d9d4--
--batchresponse_2cb48f48-39a8-41ea-aa52-132fa8ab3c2d--
";

const SUBJECT_ERROR: &str = "{\"error\":{\"code\":\"0x80044331\",\"message\":\"A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.\"}}";

/// Without `Prefer: odata.continue-on-error` the whole batch is HTTP 400 and holds only the
/// first failure.
fn whole_batch_400() -> String {
    format!(
        "--batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: 5ecd1cb3-1730-4ffc-909c-d44c22270026
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{SUBJECT_ERROR}
--batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a--
"
    )
}

/// With the preference: 200, the first part 400 and the two others created.
fn continue_on_error() -> String {
    format!(
        "--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: de4c5227-4a28-4ebd-8ced-3392ece1697b
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{SUBJECT_ERROR}
--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(aed2ae8b-3c94-ed11-aad1-000d3a9933c9)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(aed2ae8b-3c94-ed11-aad1-000d3a9933c9)


--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: [Organization Uri]/api/data/v9.2/tasks(b181a991-3c94-ed11-aad1-000d3a9933c9)
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(b181a991-3c94-ed11-aad1-000d3a9933c9)


--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139--
"
    )
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

fn parse(boundary: &str, body: &str) -> Vec<PartResponse> {
    parse_response(&format!("multipart/mixed; boundary={boundary}"), body).unwrap()
}

fn parse_err(content_type: &str, body: &str) -> StoreError {
    let err = parse_response(content_type, body).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    err
}

const PLAIN_BOUNDARY: &str = "batchresponse_01346794-f2e2-4d45-8cc2-f97e09fe8916";

#[test]
fn plain_batch_response_in_lf_and_crlf() {
    for body in [PLAIN.to_string(), crlf(PLAIN)] {
        let parts = parse(PLAIN_BOUNDARY, &body);
        assert_eq!(parts.iter().map(|p| p.status).collect::<Vec<_>>(), [204, 204, 200]);
        assert_eq!(
            parts[0].entity_id(),
            Some("[Organization Uri]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)")
        );
        assert_eq!(parts[1].header("odata-entityid"), parts[1].header("Location"));
        assert_eq!(parts[0].body, "");
        assert!(parts.iter().all(|p| p.content_id.is_none() && p.is_success()));
        assert_eq!(
            parts[2].header("CONTENT-TYPE"),
            Some("application/json; odata.metadata=minimal; odata.streaming=true")
        );
        let json: serde_json::Value = serde_json::from_str(&parts[2].body).unwrap();
        assert_eq!(json["value"][0]["subject"], "Task 1 in batch");
        assert!(
            parts[2].body.ends_with('}'),
            "the boundary's line end is not body: {:?}",
            parts[2].body
        );
        assert_eq!(parts[2].error(), None);
    }
}

#[test]
fn changeset_answers_are_flattened_in_order_with_their_content_ids() {
    for body in [CHANGESET.to_string(), crlf(CHANGESET)] {
        let ct = "multipart/mixed; boundary=\"batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f\"";
        let parts = parse_response(ct, &body).unwrap();
        assert_eq!(parts.len(), 4);
        let ids: Vec<_> = parts.iter().map(|p| p.content_id.as_deref()).collect();
        assert_eq!(ids, [Some("1"), Some("2"), Some("3"), None]);
        assert_eq!(parts.iter().map(|p| p.status).collect::<Vec<_>>(), [204, 204, 204, 200]);
        assert_eq!(
            parts[2].entity_id(),
            Some("[Organization Uri]/api/data/v9.2/tasks(e93ffc82-e292-ed11-aad1-000d3a9933c9)")
        );
        assert_eq!(
            parts[3].body,
            "{\"@odata.context\": \"[Organization Uri]/api/data/v9.2/$metadata#tasks(subject)\", \"value\": []}"
        );
    }
}

#[test]
fn headers_without_space_and_without_a_blank_line_before_the_boundary() {
    for body in [REFERENCE.to_string(), crlf(REFERENCE)] {
        let parts = parse("batchresponse_2cb48f48-39a8-41ea-aa52-132fa8ab3c2d", &body);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].entity_id(),
            Some("[Organization URI]/api/data/v9.2/contacts(f8ea5d2c-8c75-e911-a97a-000d3a34a1bd)")
        );
        assert_eq!(parts[1].status, 204);
        assert_eq!(parts[1].entity_id(), None);
        assert_eq!(parts[1].header("OData-Version"), Some("4.0"));
        assert_eq!(parts[1].body, "");
    }
}

#[test]
fn whole_batch_400_holds_the_first_failure() {
    for body in [whole_batch_400(), crlf(&whole_batch_400())] {
        let parts = parse("batchresponse_156da4b8-cd2c-4862-a911-4aaab97c001a", &body);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].status, 400);
        assert!(!parts[0].is_success());
        assert_eq!(parts[0].header("req_id"), Some("5ecd1cb3-1730-4ffc-909c-d44c22270026"));
        let (code, message) = parts[0].error().unwrap();
        assert_eq!(code, "0x80044331");
        assert!(message.starts_with("A validation error occurred.  The length of the 'subject'"));
    }
}

#[test]
fn continue_on_error_gives_a_status_per_part() {
    let parts = parse(
        "batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139",
        &continue_on_error(),
    );
    assert_eq!(parts.iter().map(|p| p.status).collect::<Vec<_>>(), [400, 204, 204]);
    assert_eq!(parts[0].error().unwrap().0, "0x80044331");
    assert_eq!(parts[1].error(), None);
    assert_eq!(
        parts[2].entity_id(),
        Some("[Organization Uri]/api/data/v9.2/tasks(b181a991-3c94-ed11-aad1-000d3a9933c9)")
    );
}

#[test]
fn preamble_epilogue_case_and_folded_headers() {
    let body = "This is a preamble.\r\n--b1\r\ncontent-type: Application/HTTP\r\n\r\n\
                HTTP/1.1 412 Precondition Failed\r\nX-Long: one\r\n two\r\nContent-Type: application/json\r\n\r\n\
                {\"error\":{\"code\":\"\",\"message\":\"The version of the existing record doesn't match the RowVersion property provided.\"}}\r\n\
                --b1--   \r\nepilogue --b1\r\n";
    let parts = parse_response("Multipart/Mixed ; Boundary = \"b1\" ; charset=utf-8", body).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].status, 412);
    assert_eq!(parts[0].header("x-long"), Some("one two"));
    let (code, message) = parts[0].error().unwrap();
    assert_eq!(code, "");
    assert!(message.contains("RowVersion"));
}

#[test]
fn a_boundary_that_only_starts_like_ours_is_body_text() {
    let body = "--b\nContent-Type: application/http\n\nHTTP/1.1 200 OK\n\nline\n--bx\n--b --\n--b--\n";
    let parts = parse("b", body);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].body, "line\n--bx\n--b --");
}

#[test]
fn an_empty_batch_answer_is_no_parts() {
    assert_eq!(parse("b", "--b--\r\n"), Vec::<PartResponse>::new());
}

#[test]
fn malformed_answers_are_permanent_errors_that_say_what_is_wrong() {
    let err = parse_err("application/json; odata.metadata=minimal", "");
    assert!(err.message.contains("not multipart/mixed"), "{err}");

    let err = parse_err("application/json", SUBJECT_ERROR);
    assert!(err.message.contains("maximum allowed length"), "{err}");
    assert_eq!(err.code.as_deref(), Some("0x80044331"));

    let err = parse_err(
        "text/plain",
        "Content-ID Reference: '$1' does not exist in the batch context.",
    );
    assert!(err.message.contains("Content-ID Reference"), "{err}");

    let err = parse_err("multipart/mixed", PLAIN);
    assert!(err.message.contains("boundary"), "{err}");

    let err = parse_err("multipart/mixed; boundary=other", PLAIN);
    assert!(err.message.contains("no line `--other`"), "{err}");

    let cut = &PLAIN[..PLAIN.len() - 60];
    let err = parse_err(&format!("multipart/mixed; boundary={PLAIN_BOUNDARY}"), cut);
    assert!(err.message.contains("closing line"), "{err}");

    let err = parse_err(
        "multipart/mixed; boundary=b",
        "--b\nContent-Type: application/http\n\nHTTP/1.1 OK\n\n--b--\n",
    );
    assert!(
        err.message.contains("part 1") && err.message.contains("status line"),
        "{err}"
    );

    let err = parse_err("multipart/mixed; boundary=b", "--b\n--b\n--b--\n");
    assert!(err.message.contains("status line"), "{err}");

    let err = parse_err(
        "multipart/mixed; boundary=b",
        "--b\nContent-Type: text/plain\n\nhello\n--b--\n",
    );
    assert!(err.message.contains("expected application/http"), "{err}");

    let err = parse_err(
        "multipart/mixed; boundary=b",
        "--b\nno colon here\n\nHTTP/1.1 200 OK\n\n--b--\n",
    );
    assert!(err.message.contains("without a colon"), "{err}");

    let nested = "--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: application/http\n\nHTTP/1.1 204 No Content\n\n--b--\n";
    let err = parse_err("multipart/mixed; boundary=b", nested);
    assert!(
        err.message.contains("changeset `c`") && err.message.contains("closing line"),
        "{err}"
    );
}

fn counter() -> impl FnMut() -> Uuid {
    let mut n = 0u128;
    move || {
        n += 1;
        Uuid::from_u128(n)
    }
}

#[test]
fn encodes_singles_and_changesets_in_the_documented_layout() {
    let mut batch = BatchRequest::new();
    batch.push_changeset(vec![
        Request::new("POST", "tasks").json("{\"subject\":\"Task 1\"}"),
        Request::new("PATCH", "$1")
            .header("If-Match", "*")
            .json("{\"x\":1}")
            .content_id("7"),
    ]);
    batch.push(Request::new("GET", "/api/data/v9.2/tasks?$select=subject"));
    assert_eq!(batch.len(), 3);
    let (content_type, body) = batch.encode_using(&mut counter());
    let b = "batch_00000000-0000-0000-0000-000000000001";
    let c = "changeset_00000000-0000-0000-0000-000000000002";
    assert_eq!(content_type, format!("multipart/mixed; boundary=\"{b}\""));
    let expected = format!(
        "--{b}\r\n\
         Content-Type: multipart/mixed; boundary=\"{c}\"\r\n\r\n\
         --{c}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n\
         POST tasks HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"subject\":\"Task 1\"}}\r\n\
         --{c}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 7\r\n\r\n\
         PATCH $1 HTTP/1.1\r\nIf-Match: *\r\nContent-Type: application/json\r\n\r\n{{\"x\":1}}\r\n\
         --{c}--\r\n\
         --{b}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n\
         GET /api/data/v9.2/tasks?$select=subject HTTP/1.1\r\n\r\n\r\n\
         --{b}--\r\n"
    );
    assert_eq!(body, expected);
}

#[test]
fn a_given_content_type_is_not_repeated_and_boundaries_are_fresh() {
    let mut batch = BatchRequest::new();
    batch.push(
        Request::new("POST", "tasks")
            .header("content-type", "application/json; type=entry")
            .json("{}"),
    );
    let (ct1, body) = batch.encode();
    let (ct2, _) = batch.encode();
    assert_ne!(ct1, ct2);
    assert_eq!(body.matches("ontent-type: application/json").count(), 1, "{body}");
    assert!(body.contains("content-type: application/json; type=entry\r\n"));
    assert!(BatchRequest::new().is_empty());
}

/// What a service does to a request body for the tests: each request line becomes a 204
/// status line and the boundaries are renamed, bodies and headers kept.
fn answer(content_type: &str, body: &str, batch: &BatchRequest) -> (String, String) {
    let mut text = body.replace("boundary=\"batch_", "boundary=\"batchresponse_");
    text = text
        .replace("--batch_", "--batchresponse_")
        .replace("changeset_", "changesetresponse_");
    let requests = batch.parts.iter().flat_map(|p| match p {
        Part::Single(r) => vec![r],
        Part::ChangeSet(rs) => rs.iter().collect(),
    });
    for r in requests {
        text = text.replacen(
            &format!("{} {} HTTP/1.1\r\n", r.method, r.url),
            "HTTP/1.1 204 No Content\r\n",
            1,
        );
    }
    (content_type.replace("batch_", "batchresponse_"), text)
}

#[test]
fn round_trip_through_a_mirroring_service() {
    let mut batch = BatchRequest::new();
    batch.push(
        Request::new("POST", "https://org.crm.dynamics.com/api/data/v9.2/msdyn_actuals")
            .json("{\n  \"a\": \"--x\"\n}\n"),
    );
    batch.push_changeset(vec![
        Request::new("PATCH", "msdyn_actuals(1)").json("{\"msdyn_amount\":12345678901234.5678}"),
        Request::new("DELETE", "msdyn_actuals(2)").content_id("d"),
    ]);
    batch.push(Request::new("GET", "msdyn_actuals"));
    let (ct, body) = batch.encode();
    let (ct, body) = answer(&ct, &body, &batch);
    let parts = parse_response(&ct, &body).unwrap();
    let ids: Vec<_> = parts.iter().map(|p| p.content_id.as_deref()).collect();
    assert_eq!(ids, [None, Some("2"), Some("d"), None]);
    let bodies: Vec<_> = parts.iter().map(|p| p.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "{\n  \"a\": \"--x\"\n}\n",
            "{\"msdyn_amount\":12345678901234.5678}",
            "",
            ""
        ]
    );
    assert!(parts.iter().all(|p| p.status == 204));
    assert_eq!(parts[1].header("content-type"), Some("application/json"));
}

proptest! {
    #[test]
    fn any_body_text_survives_the_round_trip(bodies in prop::collection::vec("[ -~\r\n]{0,80}", 1..5)) {
        let mut batch = BatchRequest::new();
        for (i, b) in bodies.iter().enumerate() {
            batch.push(Request::new("POST", format!("things({i})")).json(b.clone()));
        }
        let (ct, body) = batch.encode();
        let (ct, body) = answer(&ct, &body, &batch);
        let parts = parse_response(&ct, &body).unwrap();
        let got: Vec<_> = parts.into_iter().map(|p| p.body).collect();
        prop_assert_eq!(got, bodies);
    }
}

/// What odatapy's `BatchResponseSerializer` writes (5.3.0): CRLF, an unquoted `changeset_`
/// (not `changesetresponse_`) boundary, `Content-Length` on every part.
const ODATAPY: &str = "--batchresponse_x\r\nContent-Type: multipart/mixed; boundary=changeset_168b79696b2d4521a0cd98a2da4e2a65\r\n\r\n\
--changeset_168b79696b2d4521a0cd98a2da4e2a65\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\nOData-EntityId: http://localhost/svc/things(1)\r\nContent-Length: 0\r\n\r\n\r\n\
--changeset_168b79696b2d4521a0cd98a2da4e2a65\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n\
HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{\"error\":{\"code\":\"\",\"message\":\"bad\"}}\r\n\
--changeset_168b79696b2d4521a0cd98a2da4e2a65--\r\n\
--batchresponse_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"value\":[{\"a\":1.50}]}\r\n\
--batchresponse_x--\r\n";

#[test]
fn an_odatapy_answer() {
    let parts = parse("batchresponse_x", ODATAPY);
    assert_eq!(parts.iter().map(|p| p.status).collect::<Vec<_>>(), [204, 400, 200]);
    assert_eq!(parts[0].entity_id(), Some("http://localhost/svc/things(1)"));
    assert_eq!(parts[1].content_id.as_deref(), Some("2"));
    assert_eq!(parts[1].error(), Some((String::new(), "bad".to_string())));
    assert_eq!(parts[2].body, "{\"value\":[{\"a\":1.50}]}");
    assert_eq!(
        parts[2].body.len().to_string(),
        parts[2].header("Content-Length").unwrap()
    );
}
