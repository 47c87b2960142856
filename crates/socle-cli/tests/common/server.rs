//! Helpers of the `socle serve` tests: a fixture warehouse, accounts made with
//! `socle serve passwd`, the server started on free loopback ports (and stopped on drop), and a
//! minimal HTTP/1.1 client that keeps cookies.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::{load, socle_command, text};

/// The password of every test account.
pub const PASSWORD: &str = "mot de passe de test 123";

/// A test account: name, role, css, etablissements, nominatif.
pub type TestAccount = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    bool,
);

/// The test accounts.
pub const ACCOUNTS: &[TestAccount] = &[
    ("analyste", "ministere", None, &[], false),
    ("css866", "css", Some("866000"), &[], false),
    ("css866n", "css", Some("866000"), &[], true),
    ("css751", "css", Some("751000"), &[], false),
    ("admin", "admin", None, &[], false),
];

/// Loads the committed fixtures into `dir/warehouse`.
pub fn fixture_warehouse(dir: &Path) -> PathBuf {
    let wh = dir.join("warehouse");
    let o = load(&super::root().join("fixtures/exports"), &wh, &[]);
    assert!(o.status.success(), "{}", text(&o));
    wh
}

/// `socle serve passwd` for one account.
pub fn add_account(access: &Path, name: &str, role: &str, css: Option<&str>, etabs: &[&str], nominatif: bool) {
    let mut c = socle_command();
    c.args([
        "serve",
        "passwd",
        name,
        "--access",
        access.to_str().unwrap(),
        "--role",
        role,
    ]);
    if let Some(css) = css {
        c.args(["--css", css]);
    }
    if !etabs.is_empty() {
        c.args(["--etablissements", &etabs.join(",")]);
    }
    if nominatif {
        c.arg("--nominatif");
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// A running `socle serve`, killed on drop.
pub struct Served {
    child: Child,
    pub web: SocketAddr,
    pub pg: Option<SocketAddr>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `socle serve` on free loopback ports (port 0), reading the addresses it prints.
pub fn start(warehouse: &Path, access: &Path, extra: &[&str]) -> Served {
    let mut child = socle_command()
        .args([
            "serve",
            "--warehouse",
            warehouse.to_str().unwrap(),
            "--access",
            access.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--pg-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut web = None;
    let mut pg = None;
    while web.is_none() || (pg.is_none() && !extra.contains(&"--no-sql")) {
        let Some(Ok(line)) = lines.next() else {
            let status = child.wait().unwrap();
            panic!("socle serve stopped before listening: {status}");
        };
        if let Some(a) = line
            .strip_prefix("web: http://")
            .or_else(|| line.strip_prefix("web: https://"))
        {
            web = Some(a.parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("sql: postgresql://") {
            pg = Some(a.parse().unwrap());
        }
    }
    // Keep draining standard output so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        web: web.unwrap(),
        pg,
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A browser-like client of one server: HTTP/1.1, one connection per request, cookies kept.
pub struct Client {
    pub addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            cookies: BTreeMap::new(),
        }
    }

    fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> Response {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !cookie.is_empty() {
            req.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = body {
            req.push_str(b);
        }
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no header end");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        if headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Response { status, headers, body }
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.request("POST", path, Some(&body))
    }

    /// Signs in through the form; the response of the POST.
    pub fn sign_in(&mut self, user: &str, password: &str) -> Response {
        let page = self.get("/connexion");
        assert_eq!(page.status, 200);
        let csrf = hidden(&page.text(), "csrf").expect("no csrf field");
        self.post(
            "/connexion",
            &[("utilisateur", user), ("mot_de_passe", password), ("csrf", &csrf)],
        )
    }
}

/// The value of the hidden field `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + size]);
        b = &b[end + 2 + size + 2..];
    }
}
