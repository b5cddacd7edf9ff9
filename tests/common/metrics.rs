//! Reading the daemon's `/metrics` in tests with a real Prometheus text parser
//! (`prometheus-parse`), not string matching, and running the Prometheus project's `promtool`.

use std::collections::HashMap;

/// The samples of a `/metrics` answer: (name, sorted labels) → value. A histogram's value is
/// its count.
pub type Samples = HashMap<(String, Vec<(String, String)>), f64>;

/// Parses the text; panics when it is not valid Prometheus text.
pub fn parse(text: &str) -> Samples {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let mut out = HashMap::new();
    for s in scrape.samples {
        let mut labels: Vec<(String, String)> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        labels.sort();
        let value = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map(|b| b.count).unwrap_or(0.0),
            prometheus_parse::Value::Summary(_) => continue,
        };
        out.insert((s.metric, labels), value);
    }
    out
}

/// The value of the sample `name` with exactly `labels`.
pub fn sample(m: &Samples, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut l: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    l.sort();
    m.get(&(name.to_string(), l)).copied()
}

/// The sum of the samples `name` whose labels include `label` = `value`.
pub fn sum_where(m: &Samples, name: &str, label: &str, value: &str) -> f64 {
    m.iter()
        .filter(|((n, labels), _)| n == name && labels.iter().any(|(k, v)| k == label && v == value))
        .map(|(_, v)| v)
        .sum()
}

/// `GET url` with an optional bearer token; the parsed samples.
pub async fn scrape(url: &str, token: Option<&str>) -> Samples {
    let mut request = reqwest::Client::new().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.expect("the admin listener answers");
    assert_eq!(r.status(), 200, "GET {url}");
    parse(&r.text().await.unwrap())
}

/// A free port on loopback for a daemon's admin listener (bound and released; the daemon binds
/// it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a finished command printed, standard output then standard error.
pub fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `promtool ARGS` with `input` on its standard input: whether it succeeded, and what it
/// said. `promtool` comes from the Debian package `prometheus`, which `.ci/run` installs: in CI
/// (`CI` set) it must be there; elsewhere, without it, `None` (the check is reported left out).
pub fn promtool(args: &[&str], input: &str) -> Option<(bool, String)> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is missing in CI: `.ci/run` installs the Debian package prometheus"
        );
        eprintln!("promtool is not installed (apt-get install prometheus): this check is left out here");
        return None;
    };
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Some((out.status.success(), said(&out)))
}
