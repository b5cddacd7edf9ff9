//! The HTTP foundation of the OData stores (`store::http`, issue 13, item 2) against a real
//! HTTP server that answers as Entra ID and the Dataverse Web API document
//! (`tests/fixtures/http/service.py`): tokens are asked for once and renewed on a 401; a 429
//! is waited out for exactly `Retry-After`; requests in flight stay under the limit; failures
//! keep the service's code and the right kind; the secret never shows.

use std::io::BufRead;
use std::time::Duration;

use dualsync::store::ErrorKind;
use dualsync::store::http::{ClientCredentials, HttpClient, Limits};

/// The service, killed when the test ends.
struct Service {
    child: std::process::Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn service() -> Service {
    let mut child = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/http/service.py"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the test service");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the service prints its port");
    let port: u16 = line.trim().parse().expect("a port");
    Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

fn credentials(base: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        token_url: format!("{base}/token"),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        client_secret: secret.into(),
        scope: format!("{base}/.default"),
    }
}

fn quick() -> Limits {
    Limits {
        min_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..Limits::default()
    }
}

async fn stats(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn control(base: &str, change: serde_json::Value) {
    reqwest::Client::new()
        .post(format!("{base}/control"))
        .json(&change)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after() {
    let s = service();
    let client = HttpClient::new(&s.base, Some(credentials(&s.base, "s3cret")), quick()).unwrap();
    control(&s.base, serde_json::json!({"throttle": 2})).await;
    let url = format!("{}/api/things", s.base);
    let response = client.send(|http| http.get(&url)).await.unwrap();
    // The amount arrives as the service wrote it (no float in between).
    let text = response.text().await.unwrap();
    assert!(text.contains("12345678901234.5678901234"), "{text}");
    let st = stats(&s.base).await;
    let times: Vec<f64> = st["things"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert_eq!(times.len(), 3, "two refused, one answered: {st}");
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 0.95,
            "a retry came before Retry-After elapsed: {times:?}"
        );
    }
    assert_eq!(st["tokens"].as_array().unwrap().len(), 1, "one token for all: {st}");
    assert_eq!(
        st["missing_headers"], 0,
        "every request sends the OData version headers"
    );
}

#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let s = service();
    let client = HttpClient::new(&s.base, Some(credentials(&s.base, "s3cret")), quick()).unwrap();
    let url = format!("{}/api/things", s.base);
    client.send(|http| http.get(&url)).await.unwrap();
    control(&s.base, serde_json::json!({"revoke": true})).await;
    client.send(|http| http.get(&url)).await.unwrap();
    let st = stats(&s.base).await;
    assert_eq!(st["tokens"].as_array().unwrap().len(), 2, "renewed after the 401: {st}");
    // A revoked token on a request that fails anyway: renewed, then the real answer (404).
    let missing = format!("{}/api/forbidden-after-renewal", s.base);
    control(&s.base, serde_json::json!({"revoke": true})).await;
    let err = client.send(|http| http.get(&missing)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn failures_keep_their_kind_and_the_services_code() {
    let s = service();
    let client = HttpClient::new(&s.base, Some(credentials(&s.base, "s3cret")), quick()).unwrap();
    let missing = format!("{}/api/msdyn_nothings", s.base);
    let err = client.send(|http| http.get(&missing)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.code.as_deref(), Some("0x80060888"));
    assert!(err.message.contains("msdyn_nothings"), "{err}");
    let bad = format!("{}/api/bad", s.base);
    let err = client.send(|http| http.get(&bad)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Rejected);
    assert!(
        err.message.contains("0x80040265") && err.message.contains("outside the valid range"),
        "{err}"
    );

    // A wrong secret: permanent, with what to check, and the secret is nowhere.
    let wrong = HttpClient::new(&s.base, Some(credentials(&s.base, "wr0ng-s3cret")), quick()).unwrap();
    let err = wrong.send(|http| http.get(&bad)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wr0ng"), "{shown}");
    assert!(err.hint.as_deref().unwrap_or("").contains("secret"), "{err}");

    // Nobody listening: transient (retried, then returned).
    let gone = HttpClient::new("http://127.0.0.1:9", None, Limits { attempts: 2, ..quick() }).unwrap();
    let err = gone.send(|http| http.get("http://127.0.0.1:9/api")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_stay_under_the_limit() {
    let s = service();
    let limits = Limits {
        concurrent: 2,
        ..quick()
    };
    let client = std::sync::Arc::new(HttpClient::new(&s.base, Some(credentials(&s.base, "s3cret")), limits).unwrap());
    let url = format!("{}/api/slow", s.base);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            client.send(|http| http.get(&url)).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let st = stats(&s.base).await;
    assert_eq!(st["max_in_flight"], 2, "{st}");
}
