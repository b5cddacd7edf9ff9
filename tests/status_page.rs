//! The status page (issue 16) in a real browser: headless Chromium from the Debian packages,
//! driven through chromedriver (WebDriver, with `fantoccini`), against `dualsync run` as a
//! separate process on SQLite with an admin token. The browser is sent to the sign-in form,
//! signs in with the token, and sees every map running. Then the accounting store refuses one
//! actual (a trigger the test adds, as a closed period would); the page, left alone, shows
//! the record error by its own refresh, with its kind, message and hint. The filters narrow
//! the list by kind and map. The retry button, while the store still refuses, says the record
//! failed again; once the trigger is gone, it says the record was resolved, the row leaves the
//! list, and the staging table holds the edited value. A screenshot of the page with the
//! record error is saved as `status-page.png` under Cargo's test folder (docs/images has a
//! copy).
//!
//! Chromium and chromedriver come from the Debian packages `chromium` and `chromium-driver`,
//! which `.ci/run` installs: in CI (`CI` set) they must be there; elsewhere, without them, the
//! test says it was left out.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use common::KillOnDrop;
use common::admin::{AdminDaemon, REFUSAL};
use dualsync::engine::state::{DeadLetterStatus, StateStore};
use fantoccini::{Client, ClientBuilder, Locator};

const TOKEN: &str = "a-token-for-the-status-page-test";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_record_error_and_its_retry_button_resolves_it() {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("left out: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)");
        return;
    }
    let mut d = AdminDaemon::start(
        "sqlite",
        "status_page",
        40,
        TOKEN,
        "[processes]\nenabled = true\nforecasts_seconds = 2\nimport_seconds = 0\npost_seconds = 0\n",
    )
    .await;
    let base = d.base.clone();

    let (_driver, browser) = browser().await;
    let b = &browser;

    // Without the token, the page sends the browser to the sign-in form.
    b.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    let form = b.form(Locator::Css("form[action='/login']")).await.unwrap();
    form.set_by_name("token", "not-the-token").await.unwrap();
    form.submit().await.unwrap();
    // The answer is a new page: wait for it rather than read the old one.
    let warn = b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.warn"));
    let said = warn.await.unwrap().text().await.unwrap();
    assert!(said.contains("not the token"), "{said}");
    let form = b.form(Locator::Css("form[action='/login']")).await.unwrap();
    form.set_by_name("token", TOKEN).await.unwrap();
    form.submit().await.unwrap();
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#maps tr[data-map='actuals']"))
        .await
        .unwrap();
    assert_eq!(b.current_url().await.unwrap().path(), "/");
    assert_eq!(text(b, "#health").await, "healthy");
    // The daemon checked the accounting setup at start (processes are on): the page says so.
    let setup = text(b, "#setup").await;
    assert!(setup.starts_with("Setup check: "), "{setup}");
    let actuals = text(b, "#maps tr[data-map='actuals']").await;
    assert!(actuals.contains("running"), "{actuals}");
    assert!(text(b, "#errors").await.contains("None"), "no record errors yet");

    // The accounting store refuses the actuals from now on; one actual is edited.
    d.refuse_actuals(true).await;
    let edited = d.edit_one_actual(day()).await;

    // The page, left alone, shows it by its own refresh.
    let row = Locator::Css("#errors tr.error");
    let started = Instant::now();
    let error_text = loop {
        if let Ok(r) = b.find(row).await
            && let Ok(t) = r.text().await
        {
            break t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the record error did not appear on the page in 60 s:\n{}",
            d.daemon.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(error_text.contains("actuals"), "{error_text}");
    assert!(error_text.contains("refused"), "{error_text}");
    assert!(error_text.contains(REFUSAL), "the store's message: {error_text}");
    assert!(error_text.contains("hint:"), "a hint: {error_text}");
    assert!(
        error_text.to_lowercase().contains(&edited.to_string()),
        "the record's key: {error_text}"
    );
    let state = StateStore::open(&d.stores.state).await.unwrap();
    let letters = state
        .list_dead_letters(Some("actuals"), Some(DeadLetterStatus::Open))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let id = letters[0].id;
    // The map's row counts it (the refresh may not have run since the letter was written).
    let started = Instant::now();
    while text(b, "#maps tr[data-map='actuals'] td:nth-child(7)").await != "1" {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the map's row counts the error"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The filters narrow the list: another kind hides it, its kind and map show it.
    filter(b, "", "missing-parent").await;
    assert!(
        b.find(row).await.is_err(),
        "a missing-parent filter hides the refused record"
    );
    assert!(text(b, "#errors").await.contains("None"));
    filter(b, "actuals", "refused").await;
    let url = b.current_url().await.unwrap();
    assert_eq!(url.query(), Some("map=actuals&kind=refused"));
    assert_eq!(rows(b).await, vec![id.to_string()]);
    filter(b, "projects", "").await;
    assert!(b.find(row).await.is_err(), "the projects map has no record errors");
    filter(b, "actuals", "refused").await;

    let shot = b.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&path, shot).unwrap();
    eprintln!("screenshot: {}", path.display());

    // A retry while the store still refuses: the page says it failed again.
    click_retry(b, id).await;
    let notice = b.find(Locator::Css("#notice")).await.unwrap();
    assert_eq!(notice.attr("data-status").await.unwrap().as_deref(), Some("open"));
    let said = notice.text().await.unwrap();
    assert!(said.contains("failed again") && said.contains(REFUSAL), "{said}");
    let url = b.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap_or("")
            .starts_with("map=actuals&kind=refused&retried="),
        "back to the same filtered view: {url}"
    );
    assert_eq!(rows(b).await, vec![id.to_string()]);
    assert_eq!(state.get_dead_letter(id).await.unwrap().unwrap().attempts, 2);

    // The store takes it again: the retry resolves it and the row leaves the list.
    d.refuse_actuals(false).await;
    click_retry(b, id).await;
    let notice = b.find(Locator::Css("#notice")).await.unwrap();
    assert_eq!(notice.attr("data-status").await.unwrap().as_deref(), Some("resolved"));
    assert!(rows(b).await.is_empty(), "the resolved record left the list");
    assert!(text(b, "#errors").await.contains("None"));
    let letter = state.get_dead_letter(id).await.unwrap().unwrap();
    assert_eq!(letter.status, DeadLetterStatus::Resolved);
    assert_eq!(
        d.staged_date(edited).await,
        Some(day()),
        "the edited value reached the staging table"
    );

    browser.close().await.unwrap();
    d.daemon.terminate(Duration::from_secs(30));
}

/// The document date the test gives the edited actual.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2001, 2, 3).unwrap()
}

/// chromedriver on a free port, and a headless Chromium session through it.
async fn browser() -> (KillOnDrop, Client) {
    let port = common::metrics::free_port();
    let driver = KillOnDrop(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.keep().display()),
            ]
        }),
    );
    // chromedriver is plain HTTP on loopback, but fantoccini's client builder wants rustls's
    // process-wide provider chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "no browser session in 30 s: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The text of the first element `css` selects.
async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

/// The ids of the record errors the page lists.
async fn rows(b: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    for r in b.find_all(Locator::Css("#errors tr.error")).await.unwrap() {
        ids.push(r.attr("data-id").await.unwrap().unwrap_or_default());
    }
    ids
}

/// Chooses a map and a kind in the filter form ("" is any) and submits it.
async fn filter(b: &Client, map: &str, kind: &str) {
    for (name, value) in [("map", map), ("kind", kind)] {
        let select = b
            .find(Locator::Css(&format!("form.filter select[name='{name}']")))
            .await
            .unwrap();
        select.select_by_value(value).await.unwrap();
    }
    let button = b.find(Locator::Css("form.filter button")).await.unwrap();
    button.click().await.unwrap();
    // The answer is a new page: wait until the browser is on it (its address carries the
    // filter), not only for an element the old page has too.
    let (want_map, want_kind) = (format!("map={map}"), format!("kind={kind}"));
    let started = Instant::now();
    loop {
        let query = b.current_url().await.ok().and_then(|u| u.query().map(String::from));
        if query.is_some_and(|q| q.split('&').any(|p| p == want_map) && q.split('&').any(|p| p == want_kind)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the filtered page did not load"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#errors h2"))
        .await
        .unwrap();
}

/// Clicks the retry button of record error `id` (found again if the live refresh replaced it
/// in between) and waits for the page that says how it went.
async fn click_retry(b: &Client, id: i64) {
    let button_css = format!("#errors tr.error[data-id='{id}'] button.retry");
    // The notice of an earlier retry, if the page shows one: the new page is there once it is
    // gone (waiting only for a `#notice` would find the old one and race the navigation).
    let earlier = b.find(Locator::Css("#notice")).await.ok();
    let started = Instant::now();
    loop {
        let clicked = match b.find(Locator::Css(&button_css)).await {
            Ok(e) => e.click().await.is_ok(),
            Err(_) => false,
        };
        if clicked {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no retry button for {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(earlier) = earlier {
        let started = Instant::now();
        while earlier.text().await.is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the retry did not load a new page"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    b.wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("#notice"))
        .await
        .unwrap();
}
