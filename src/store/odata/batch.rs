//! OData `$batch` in its multipart form (OData 4.0 §11.7, Dataverse "Execute batch operations
//! using the Web API"): `BatchRequest` encodes single requests and changesets into a
//! `multipart/mixed` body, and `parse_response` reads the service's answer into one
//! `PartResponse` per request, in order, with changeset answers flattened in place.
//!
//! The parser is lenient where services differ (CRLF or LF line ends, quoted or bare boundary
//! parameters, preamble and epilogue, `Location:value` without a space) and strict where a
//! mistake would lose an answer: a part without a status line, or a body cut off before its
//! closing boundary, is a permanent `StoreError` that says what was wrong.

use uuid::Uuid;

use crate::store::{ErrorKind, Result, StoreError};

/// One request inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, `PATCH`, `PUT`, `DELETE`.
    pub method: String,
    /// Relative to the service root (`msdyn_actuals`), an absolute path
    /// (`/api/data/v9.2/msdyn_actuals`), an absolute URL, or `$1` to refer to an earlier
    /// request of the same changeset; written as given.
    pub url: String,
    /// Headers of the request itself (`If-Match`, `Prefer`, ...).
    pub headers: Vec<(String, String)>,
    /// JSON body text, sent with `Content-Type: application/json`.
    pub body: Option<String>,
    /// The part's `Content-ID`. Requests of a changeset without one get their 1-based
    /// position among all the batch's requests.
    pub content_id: Option<String>,
}

impl Request {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            content_id: None,
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn json(mut self, body: impl Into<String>) -> Request {
        self.body = Some(body.into());
        self
    }

    pub fn content_id(mut self, id: impl Into<String>) -> Request {
        self.content_id = Some(id.into());
        self
    }
}

/// A top-level part of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A request on its own: it succeeds or fails alone.
    Single(Request),
    /// Requests applied atomically: all succeed or all are rolled back. No `GET` inside.
    ChangeSet(Vec<Request>),
}

/// A `$batch` request body being built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchRequest {
    pub parts: Vec<Part>,
}

impl BatchRequest {
    pub fn new() -> BatchRequest {
        BatchRequest::default()
    }

    pub fn push(&mut self, request: Request) {
        self.parts.push(Part::Single(request));
    }

    pub fn push_changeset(&mut self, requests: Vec<Request>) {
        self.parts.push(Part::ChangeSet(requests));
    }

    /// How many requests the batch holds (Dataverse takes at most 1000).
    pub fn len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Single(_) => 1,
                Part::ChangeSet(r) => r.len(),
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `Content-Type` header of the `$batch` POST (`multipart/mixed;
    /// boundary="batch_<uuid>"`) and the body, with CRLF line ends.
    pub fn encode(&self) -> (String, String) {
        self.encode_using(&mut Uuid::new_v4)
    }

    /// `encode` with the boundary identifiers taken from `next_id` (tests use a counter).
    fn encode_using(&self, next_id: &mut dyn FnMut() -> Uuid) -> (String, String) {
        let batch = format!("batch_{}", next_id());
        let mut out = String::new();
        let mut position = 0usize;
        for part in &self.parts {
            out.push_str(&format!("--{batch}\r\n"));
            match part {
                Part::Single(request) => {
                    position += 1;
                    write_request(&mut out, request, request.content_id.as_deref());
                    out.push_str("\r\n");
                }
                Part::ChangeSet(requests) => {
                    let changeset = format!("changeset_{}", next_id());
                    out.push_str(&format!(
                        "Content-Type: multipart/mixed; boundary=\"{changeset}\"\r\n\r\n"
                    ));
                    for request in requests {
                        position += 1;
                        let id = request.content_id.clone().unwrap_or_else(|| position.to_string());
                        out.push_str(&format!("--{changeset}\r\n"));
                        write_request(&mut out, request, Some(&id));
                        out.push_str("\r\n");
                    }
                    out.push_str(&format!("--{changeset}--\r\n"));
                }
            }
        }
        out.push_str(&format!("--{batch}--\r\n"));
        (format!("multipart/mixed; boundary=\"{batch}\""), out)
    }
}

/// One `application/http` part: MIME headers, request line, headers, blank line, body. The
/// CRLF that ends the body belongs to the next boundary and is written by the caller.
fn write_request(out: &mut String, request: &Request, content_id: Option<&str>) {
    out.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
    if let Some(id) = content_id {
        out.push_str(&format!("Content-ID: {id}\r\n"));
    }
    out.push_str(&format!("\r\n{} {} HTTP/1.1\r\n", request.method, request.url));
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    let has_type = request
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if request.body.is_some() && !has_type {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str("\r\n");
    if let Some(body) = &request.body {
        out.push_str(body);
    }
}

/// Header fields in the order received, looked up without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of the header `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to one request of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartResponse {
    /// The part's `Content-ID` (set on changeset answers).
    pub content_id: Option<String>,
    pub status: u16,
    pub headers: Headers,
    /// The body as sent, empty for `204 No Content`.
    pub body: String,
}

impl PartResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The URL of the record created or updated (`OData-EntityId`, else `Location`).
    pub fn entity_id(&self) -> Option<&str> {
        self.header("OData-EntityId").or_else(|| self.header("Location"))
    }

    /// `(code, message)` of a Dataverse error body
    /// (`{"error":{"code":"0x80044331","message":"..."}}`); the code may be empty.
    pub fn error(&self) -> Option<(String, String)> {
        error_of(&self.body)
    }
}

pub use crate::store::http::error::error_of;

fn malformed(what: impl std::fmt::Display) -> StoreError {
    StoreError::new(ErrorKind::Permanent, format!("malformed $batch response: {what}"))
        .with_hint("the service answered a $batch in a form dualsync does not understand; run with the request logged and report it")
}

/// Reads a `$batch` response: `content_type` is the response's `Content-Type` header
/// (`multipart/mixed; boundary=batchresponse_<guid>`), `body` its text. The answers come in
/// the order of the requests, those of a changeset in its place.
pub fn parse_response(content_type: &str, body: &str) -> Result<Vec<PartResponse>> {
    let Some(boundary) = multipart_boundary(content_type) else {
        return Err(match error_of(body) {
            Some((code, message)) => {
                let mut e = malformed(format!(
                    "it is `{content_type}`, not multipart/mixed, and says: {message}{}",
                    if code.is_empty() {
                        String::new()
                    } else {
                        format!(" (code {code})")
                    }
                ));
                e.code = Some(code).filter(|c| !c.is_empty());
                e
            }
            None => malformed(format!(
                "its Content-Type `{content_type}` is not multipart/mixed with a boundary; it begins: {}",
                excerpt(body)
            )),
        });
    };
    let mut out = Vec::new();
    parse_multipart(&boundary, body, None, &mut out)?;
    Ok(out)
}

/// The boundary of a `multipart/mixed` content type, unquoted; `None` for any other type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some(value.to_string()).filter(|v| !v.is_empty())
    })
}

/// The text of a body split at its boundary lines, the answers appended to `out`. `outer`
/// names the enclosing batch boundary in messages about a changeset.
fn parse_multipart(boundary: &str, body: &str, outer: Option<&str>, out: &mut Vec<PartResponse>) -> Result<()> {
    let delimiter = format!("--{boundary}");
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut seen = false;
    let mut closed = false;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        if let Some(rest) = content.strip_prefix(&delimiter) {
            let rest_trimmed = rest.trim_end_matches([' ', '\t']);
            if rest_trimmed.is_empty() || rest_trimmed == "--" {
                seen = true;
                if let Some(text) = current.take() {
                    parts.push(strip_last_line_end(text));
                }
                if rest_trimmed == "--" {
                    closed = true;
                    break;
                }
                current = Some(String::new());
                continue;
            }
        }
        if let Some(text) = current.as_mut() {
            text.push_str(line);
        }
    }
    let place = match outer {
        Some(b) => format!("the changeset `{boundary}` in `{b}`"),
        None => format!("the batch `{boundary}`"),
    };
    if !seen {
        return Err(malformed(format!(
            "{place} has no part: no line `--{boundary}` in a body that begins: {}",
            excerpt(body)
        )));
    }
    if !closed {
        return Err(malformed(format!(
            "{place} ends without its closing line `--{boundary}--` (a cut-off answer?)"
        )));
    }
    for (i, text) in parts.iter().enumerate() {
        let where_ = format!("part {} of {place}", i + 1);
        parse_part(text, &where_, boundary, out)?;
    }
    Ok(())
}

/// Removes the line end before a boundary line: it belongs to the boundary (RFC 2046).
fn strip_last_line_end(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

/// One MIME part: headers, then either a nested changeset or an `application/http` answer.
fn parse_part(text: &str, where_: &str, boundary: &str, out: &mut Vec<PartResponse>) -> Result<()> {
    let (mime, rest) = split_headers(text).map_err(|line| {
        malformed(format!(
            "{where_} has a header line without a colon: `{}`",
            excerpt(line)
        ))
    })?;
    let content_type = mime.get("Content-Type").unwrap_or("application/http");
    if let Some(inner) = multipart_boundary(content_type) {
        return parse_multipart(&inner, rest, Some(boundary), out);
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/http") {
        return Err(malformed(format!(
            "{where_} has Content-Type `{content_type}`, expected application/http"
        )));
    }
    let rest = rest.trim_start_matches(['\r', '\n']);
    let (status_line, after) = match rest.find('\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let status = status_of(status_line.trim_end_matches('\r')).ok_or_else(|| {
        malformed(format!(
            "{where_} does not start with an HTTP status line such as `HTTP/1.1 204 No Content`: `{}`",
            excerpt(status_line)
        ))
    })?;
    let (headers, body) = split_headers(after).map_err(|line| {
        malformed(format!(
            "{where_} has a header line without a colon: `{}`",
            excerpt(line)
        ))
    })?;
    let content_id = mime
        .get("Content-ID")
        .or_else(|| headers.get("Content-ID"))
        .map(str::to_string);
    out.push(PartResponse {
        content_id,
        status,
        headers,
        body: body.to_string(),
    });
    Ok(())
}

/// `HTTP/1.1 204 No Content` → 204.
fn status_of(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    if !words.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = words.next()?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok().filter(|c| (100..600).contains(c))
}

/// Header lines up to the first empty line (or the end), and the text after that line. Folded
/// lines (starting with a space or tab) continue the previous header. A line without a colon
/// is returned as the error.
fn split_headers(text: &str) -> std::result::Result<(Headers, &str), &str> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        let content = line.trim_end_matches(['\r', '\n']);
        if content.is_empty() {
            return Ok((Headers(headers), &text[offset..]));
        }
        if content.starts_with([' ', '\t'])
            && let Some((_, value)) = headers.last_mut()
        {
            value.push(' ');
            value.push_str(content.trim());
            continue;
        }
        let (name, value) = content.split_once(':').ok_or(content)?;
        if name.trim().is_empty() {
            return Err(content);
        }
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok((Headers(headers), ""))
}

/// The start of a text for a message, on one line.
fn excerpt(text: &str) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim().chars().count() > 120 {
        format!("{one_line}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests;
