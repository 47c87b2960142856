//! The web page in a real browser: headless Chromium driven through ChromeDriver (WebDriver over
//! HTTP), against `socle serve` on a free loopback port. Sign in with the form, open a dashboard,
//! check the chart has one mark per table row with that row's value, change a filter, download
//! the CSV and check its bytes, and check scope: a `css` user asking for another CSS's rows gets
//! the refusal page, an `ecole` user sees only its establishment.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); run as root, so
//! Chromium gets `--no-sandbox`. A missing browser fails with the command that installs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::server::{Client, PASSWORD, add_account, fixture_warehouse, start};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver, killed on drop.
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = call(self.addr, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver call: the `value` of its JSON answer.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // ChromeDriver answers `Connection: close` but keeps the socket open: read the head, then
    // exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the answer's head".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Content-Length in {head}"))?;
    while raw.len() < head_end + length {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let payload = String::from_utf8_lossy(&raw[head_end..(head_end + length).min(raw.len())]).to_string();
    let v: Value = serde_json::from_str(payload.trim()).map_err(|e| format!("{e}: {payload}"))?;
    if let Some(err) = v["value"].get("error") {
        return Err(format!("{err}: {}", v["value"]["message"]));
    }
    Ok(v["value"].clone())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Driver {
    fn start(downloads: &Path) -> Driver {
        assert!(
            Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
            "Chromium is missing: install it with `apt-get install -y chromium chromium-driver`"
        );
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while call(addr, "GET", "/status", None).map(|v| v["ready"] == true) != Ok(true) {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024"],
                "prefs": {
                    "download.default_directory": downloads.to_str().unwrap(),
                    "download.prompt_for_download": false,
                }
            }
        }}});
        let session = call(addr, "POST", "/session", Some(caps)).unwrap();
        let mut d = Driver {
            child,
            addr,
            session: session["sessionId"].as_str().unwrap().to_string(),
        };
        // Downloads in headless mode go where the test says.
        let _ = d.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": downloads.to_str().unwrap()}})),
        );
        d.session = d.session.clone();
        d
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(self.addr, method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).unwrap();
    }

    fn find(&self, css: &str) -> String {
        let v = self
            .cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})))
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        v.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .unwrap();
    }

    fn type_in(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({"text": text})))
            .unwrap();
    }

    fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
            .unwrap()
    }

    /// Waits until the JavaScript condition `js` holds on a loaded page: a click that submits a
    /// form returns before the next page is there.
    fn wait_for(&self, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let check = format!("return document.readyState === 'complete' && Boolean({js});");
        while self.cmd("POST", "/execute/sync", Some(json!({"script": check, "args": []}))) != Ok(json!(true)) {
            assert!(Instant::now() < deadline, "the page never showed {js}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sign_in(&self, base: &str, user: &str) {
        self.go(&format!("{base}/connexion"));
        self.type_in("#utilisateur", user);
        self.type_in("#mot_de_passe", PASSWORD);
        self.click("#se-connecter");
        self.wait_for("!location.pathname.startsWith('/connexion')");
        let title = self.script("return document.querySelector('h1').textContent");
        assert_eq!(title, "Tableaux de bord", "sign-in of {user}");
    }
}

#[test]
fn a_person_signs_in_reads_a_dashboard_filters_downloads_and_stays_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = fixture_warehouse(dir.path());
    let etab = crate::common::query_csv(
        &warehouse,
        Some("866000"),
        "SELECT min(code_etablissement) AS e FROM taux_reussite",
    )[0]["e"]
        .clone();
    let access = dir.path().join("access.yaml");
    add_account(&access, "css866", "css", Some("866000"), &[], false);
    add_account(&access, "ecole", "ecole", Some("866000"), &[etab.as_str()], false);
    let served = start(&warehouse, &access, &["--no-sql"]);
    let base = format!("http://{}", served.web);
    let downloads = dir.path().join("telechargements");
    std::fs::create_dir_all(&downloads).unwrap();
    let d = Driver::start(&downloads);

    d.sign_in(&base, "css866");
    d.go(&format!("{base}/tableaux/taux_reussite"));
    // One mark per row, each carrying its row's value (the value column's cell).
    let check = r#"
        const head = [...document.querySelectorAll('#donnees thead th')].map(th => th.getAttribute('title'));
        const col = head.indexOf('taux_reussite');
        const rows = [...document.querySelectorAll('#donnees tbody tr')];
        const marks = [...document.querySelectorAll('svg .marque')];
        const bad = rows.filter((tr, i) => {
            const cell = tr.children[col].textContent;
            const label = marks[i] ? marks[i].getAttribute('aria-label') : '';
            return !label.endsWith(' : ' + (cell === '' ? 'aucune valeur' : cell));
        }).length;
        return {rows: rows.length, marks: marks.length, col: col, bad: bad};
    "#;
    let v = d.script(check);
    assert!(v["rows"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["rows"], v["marks"], "one mark per row: {v}");
    assert_eq!(v["bad"], 0, "every mark carries its row's value: {v}");

    // Change a filter with the drop-down, as a person does.
    d.click("#filtre-etape option[value='final']");
    d.click("#filtrer");
    d.wait_for("location.search.includes('etape=final')");
    let etapes = d.script(
        "const h=[...document.querySelectorAll('#donnees thead th')].map(t=>t.getAttribute('title')).indexOf('etape');\
         return [...new Set([...document.querySelectorAll('#donnees tbody tr')].map(tr=>tr.children[h].textContent))];",
    );
    assert_eq!(etapes, json!(["final"]));
    let v = d.script(check);
    assert_eq!(v["rows"], v["marks"]);
    assert_eq!(v["bad"], 0);

    // The CSV download of the filtered rows, byte for byte what the server sends.
    d.click("#telecharger-csv");
    let file = downloads.join("taux_reussite.csv");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "the download did not arrive in {}",
            downloads.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        bytes.starts_with("\u{feff}annee_scolaire".as_bytes()),
        "BOM and technical headers"
    );
    let mut http = Client::new(served.web);
    assert_eq!(http.sign_in("css866", PASSWORD).status, 303);
    let expected = http.get("/tableaux/taux_reussite/telecharger?etape=final&format=csv");
    assert_eq!(bytes, expected.body, "the browser's file is the server's bytes");
    assert!(crate::common::read_csv(&bytes).iter().all(|r| r["etape"] == "final"));

    // Another CSS's rows: the refusal page.
    d.go(&format!("{base}/tableaux/taux_reussite?code_css=751000"));
    assert_eq!(
        d.script("return document.querySelector('h1').textContent"),
        "Accès refusé"
    );

    // A school: only its establishment.
    d.cmd("DELETE", "/cookie", None).unwrap();
    d.sign_in(&base, "ecole");
    d.go(&format!("{base}/tableaux/taux_reussite"));
    let etabs = d.script(
        "const h=[...document.querySelectorAll('#donnees thead th')].map(t=>t.getAttribute('title')).indexOf('code_etablissement');\
         return [...new Set([...document.querySelectorAll('#donnees tbody tr')].map(tr=>tr.children[h].textContent))];",
    );
    assert_eq!(etabs, json!([etab]));
}
