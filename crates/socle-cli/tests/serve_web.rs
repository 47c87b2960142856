//! `socle serve`, the web page, end to end over HTTP on a free loopback port: sign-in (cookies,
//! CSRF, the failure limit), the role x route x mart matrix, scope enforcement (a `css` account
//! asking for another CSS's rows gets 403, an `ecole` account sees only its establishments),
//! the chart's marks against the table, downloads, and the audit log (a line per kind of action,
//! no personal value anywhere in it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::server::{ACCOUNTS, Client, PASSWORD, Served, add_account, fixture_warehouse, hidden, start};

struct Fixture {
    _dir: tempfile::TempDir,
    warehouse: PathBuf,
    access: PathBuf,
    /// Two establishments of 866000 that have rows in `taux_reussite`; the `ecole` account has
    /// the first.
    etabs: (String, String),
}

/// One warehouse and one access file for every test of this file.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = fixture_warehouse(dir.path());
        let rows = crate::common::query_csv(
            &warehouse,
            Some("866000"),
            "SELECT DISTINCT code_etablissement FROM taux_reussite ORDER BY 1",
        );
        let etabs: Vec<String> = rows.iter().map(|r| r["code_etablissement"].clone()).collect();
        assert!(
            etabs.len() >= 2,
            "the fixture needs two establishments of 866000: {etabs:?}"
        );
        let access = dir.path().join("access.yaml");
        for (name, role, css, e, nominatif) in ACCOUNTS {
            add_account(&access, name, role, *css, e, *nominatif);
        }
        add_account(&access, "ecole", "ecole", Some("866000"), &[etabs[0].as_str()], false);
        Fixture {
            warehouse,
            access,
            etabs: (etabs[0].clone(), etabs[1].clone()),
            _dir: dir,
        }
    })
}

fn server() -> Served {
    let f = fixture();
    start(&f.warehouse, &f.access, &["--no-sql"])
}

fn signed_in(s: &Served, user: &str) -> Client {
    let mut c = Client::new(s.web);
    let r = c.sign_in(user, PASSWORD);
    assert_eq!(r.status, 303, "sign-in of {user}: {}", r.text());
    c
}

fn audit_lines(warehouse: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(warehouse.join("_socle/audit")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
        );
    }
    out
}

#[test]
fn sign_in_sets_safe_cookies_and_shows_the_dashboards_of_the_scope() {
    let s = server();
    let mut c = Client::new(s.web);
    // Not signed in: every page sends to the sign-in form.
    assert_eq!(c.get("/").status, 303);
    assert_eq!(c.get("/tableaux/taux_reussite").status, 303);
    let page = c.get("/connexion");
    let set = page.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let csrf = hidden(&page.text(), "csrf").unwrap();
    let r = c.post(
        "/connexion",
        &[("utilisateur", "css866"), ("mot_de_passe", PASSWORD), ("csrf", &csrf)],
    );
    assert_eq!(r.status, 303);
    let session = r
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("socle_session="))
        .map(|(_, v)| v.clone())
        .expect("no session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict") && session.contains("Path=/"));
    let home = c.get("/");
    assert_eq!(home.status, 200);
    let text = home.text();
    assert!(text.contains("/tableaux/taux_reussite"), "{text}");
    // Not nominatif: no nominative mart offered.
    assert!(!text.contains("/tableaux/eleves_a_risque"));
    assert!(
        text.contains("866000") && !text.contains("751000"),
        "as-of nights of its CSS only"
    );
    assert!(
        home.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    // Sign-out needs the CSRF token.
    let no_token = c.post("/deconnexion", &[("csrf", "forged")]);
    assert_eq!(no_token.status, 403);
    let token = hidden(&text, "csrf").unwrap();
    assert_eq!(c.post("/deconnexion", &[("csrf", &token)]).status, 303);
    assert_eq!(c.get("/").status, 303, "signed out");
}

#[test]
fn a_forged_sign_in_and_wrong_passwords_are_refused_then_limited_and_audited() {
    let s = server();
    let mut c = Client::new(s.web);
    // No pre-session token: CSRF refusal.
    let r = c.post(
        "/connexion",
        &[("utilisateur", "css751"), ("mot_de_passe", PASSWORD), ("csrf", "x")],
    );
    assert_eq!(r.status, 403);
    for _ in 0..5 {
        assert_eq!(c.sign_in("css751", "mauvais mot de passe!").status, 401);
    }
    // Sixth within the minute: refused without checking, even with the right password.
    assert_eq!(c.sign_in("css751", PASSWORD).status, 429);
    let lines = audit_lines(&fixture().warehouse);
    let failures = lines
        .iter()
        .filter(|l| l["who"] == "css751" && l["action"] == "connexion" && l["outcome"] == "refusé: mot de passe")
        .count();
    assert!(failures >= 5, "failed sign-ins audited: {failures}");
    assert!(
        lines
            .iter()
            .any(|l| l["who"] == "css751" && l["outcome"] == "refusé: trop d'échecs")
    );
}

/// What each role may open: 200, or 403 (signed in, outside the scope).
#[test]
fn role_route_mart_matrix() {
    let s = server();
    let project = crate::common::root().join("pipelines");
    let marts: Vec<(String, bool)> = std::fs::read_dir(project.join("marts"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "yaml").then(|| {
                let text = std::fs::read_to_string(&p).unwrap();
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                (name, text.contains("\npublication: css"))
            })
        })
        .collect();
    assert!(marts.len() >= 14);
    let has_etab = |m: &str| {
        std::fs::read_to_string(project.join(format!("marts/{m}.yaml")))
            .unwrap()
            .contains("name: code_etablissement")
    };
    for user in ["analyste", "css866", "css866n", "ecole", "admin"] {
        let mut c = signed_in(&s, user);
        for (mart, nominative) in &marts {
            let expected = match user {
                "analyste" => !nominative,
                "css866" => !nominative,
                "css866n" => true,
                "ecole" => !nominative && has_etab(mart),
                _ => false,
            };
            let r = c.get(&format!("/tableaux/{mart}"));
            // A mart with no row for this scope is still its page (empty), when allowed.
            let want = if expected { 200 } else { 403 };
            assert_eq!(
                r.status,
                want,
                "{user} -> /tableaux/{mart}: {}",
                r.text().chars().take(400).collect::<String>()
            );
        }
        let audit = c.get("/audit").status;
        assert_eq!(audit, if user == "admin" { 200 } else { 403 }, "{user} -> /audit");
        assert_eq!(c.get("/documentation").status, 200, "{user} -> /documentation");
        assert_eq!(c.get("/documentation/taux_reussite").status, 200);
        assert_eq!(c.get("/tableaux/nexiste_pas").status, 404);
    }
}

#[test]
fn another_css_or_establishment_is_forbidden_and_the_school_sees_only_its_own() {
    let f = fixture();
    let s = server();
    let mut css = signed_in(&s, "css866");
    assert_eq!(css.get("/tableaux/taux_reussite?code_css=751000").status, 403);
    assert_eq!(css.get("/tableaux/taux_reussite?code_css=866000").status, 200);
    let mut ecole = signed_in(&s, "ecole");
    let r = ecole.get(&format!("/tableaux/taux_reussite?code_etablissement={}", f.etabs.1));
    assert_eq!(r.status, 403);
    // Every row of every page is of its establishment.
    let csv = ecole.get("/tableaux/taux_reussite/telecharger?format=csv");
    assert_eq!(csv.status, 200);
    let rows = crate::common::read_csv(&csv.body);
    assert!(!rows.is_empty());
    let seen: BTreeSet<&str> = rows.iter().map(|r| r["code_etablissement"].as_str()).collect();
    assert_eq!(seen, BTreeSet::from([f.etabs.0.as_str()]));
    let lines = audit_lines(&f.warehouse);
    assert!(
        lines
            .iter()
            .any(|l| l["who"] == "ecole" && l["outcome"].as_str().unwrap_or("").starts_with("refusé: filtre"))
    );
}

/// The table of a page (its `<tbody>`).
fn tbody(html: &str) -> String {
    html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()].to_string()
}

/// A page asked again comes from the server's cache of results (per scope and publication),
/// yet each request is still checked against its account and audited; an account of a narrower
/// scope never gets what a wider one had cached.
#[test]
fn a_cached_page_is_still_checked_and_audited_each_time() {
    let f = fixture();
    let s = server();
    let mut css = signed_in(&s, "css866n");
    let first = css.get("/tableaux/taux_reussite?etape=final");
    let second = css.get("/tableaux/taux_reussite?etape=final");
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(tbody(&first.text()), tbody(&second.text()));
    assert!(
        tbody(&first.text()).contains(&f.etabs.1),
        "the CSS sees its second school"
    );
    let seen = audit_lines(&f.warehouse)
        .iter()
        .filter(|l| l["who"] == "css866n" && l["action"] == "page" && l["target"] == "taux_reussite")
        .count();
    assert_eq!(seen, 2, "one audit line per request, cached or not");
    let mut ecole = signed_in(&s, "ecole");
    let own = ecole.get("/tableaux/taux_reussite?etape=final");
    assert_eq!(own.status, 200);
    assert!(!tbody(&own.text()).contains(&f.etabs.1), "the school's page is its own");
    let other = ecole.get(&format!(
        "/tableaux/taux_reussite?etape=final&code_etablissement={}",
        f.etabs.1
    ));
    assert_eq!(other.status, 403);
}

/// The chart has one mark per table row, each with the row's value; a filter narrows both.
#[test]
fn the_chart_matches_the_table_and_filters_apply() {
    let s = server();
    let mut c = signed_in(&s, "css866");
    let page = c.get("/tableaux/taux_reussite");
    assert_eq!(page.status, 200);
    let html = page.text();
    let marks = html.matches("class=\"marque").count();
    let table = &html[html.find("<tbody>").unwrap()..html.find("</tbody>").unwrap()];
    let rows = table.matches("<tr>").count();
    assert!(rows > 0);
    assert_eq!(marks, rows, "one mark per row");
    assert!(html.contains("Taux de réussite"), "French headings");
    assert!(html.contains("aria-label="));
    // A filter on one étape: every row shown is of that étape.
    let filtered = c.get("/tableaux/taux_reussite?etape=final").text();
    let ftable = &filtered[filtered.find("<tbody>").unwrap()..filtered.find("</tbody>").unwrap()];
    assert!(ftable.matches("<tr>").count() <= rows.max(1) * 50);
    assert!(ftable.contains(">final<"));
    for etape in [">1<", ">2<", ">3<"] {
        assert!(
            !ftable.contains(&format!("<td>{}", &etape[1..])),
            "étape {etape} shown under a filter on final"
        );
    }
}

#[test]
fn downloads_hold_every_filtered_row_in_each_format() {
    let s = server();
    let mut c = signed_in(&s, "css866");
    let page = c.get("/tableaux/taux_reussite?etape=final").text();
    let total: usize = page
        .split("id=\"compte\">")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("row count on the page");
    let csv = c.get("/tableaux/taux_reussite/telecharger?format=csv&etape=final");
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("\u{feff}".as_bytes()), "CSV has a BOM");
    assert!(csv.header("content-disposition").unwrap().contains("taux_reussite.csv"));
    let rows = crate::common::read_csv(&csv.body);
    assert_eq!(rows.len(), total);
    assert!(rows.iter().all(|r| r["etape"] == "final"));
    let xlsx = c.get("/tableaux/taux_reussite/telecharger?format=xlsx&etape=final");
    assert_eq!(xlsx.status, 200);
    assert!(xlsx.body.starts_with(b"PK"), "an xlsx is a zip");
    let parquet = c.get("/tableaux/taux_reussite/telecharger?format=parquet&etape=final");
    assert_eq!(parquet.status, 200);
    assert!(parquet.body.starts_with(b"PAR1"));
    assert_eq!(c.get("/tableaux/taux_reussite/telecharger?format=exe").status, 400);
}

#[test]
fn every_kind_of_action_is_audited_without_a_personal_value() {
    let f = fixture();
    let s = server();
    let mut c = signed_in(&s, "css866n");
    assert_eq!(c.get("/tableaux/eleves_a_risque").status, 200);
    assert_eq!(c.get("/tableaux/taux_reussite/telecharger?format=csv").status, 200);
    assert_eq!(c.get("/documentation/reussite").status, 200);
    let mut admin = signed_in(&s, "admin");
    let page = admin.get("/audit?utilisateur=css866n");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("telechargement"));
    let lines = audit_lines(&f.warehouse);
    for action in ["connexion", "page", "telechargement", "documentation", "audit"] {
        assert!(
            lines.iter().any(|l| l["action"] == action),
            "no audit line for {action}"
        );
    }
    let page_line = lines
        .iter()
        .find(|l| l["who"] == "css866n" && l["target"] == "eleves_a_risque")
        .expect("the nominative page is audited");
    assert_eq!(page_line["role"], "css");
    assert!(page_line["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    // No code permanent (4 letters, 8 digits) nor birth date in any audit line.
    let re = regex::Regex::new(r"[A-Z]{4}\d{8}|\b(19|20)\d{2}-\d{2}-\d{2}\b").unwrap();
    for l in &lines {
        let mut l = l.clone();
        l["time"] = serde_json::Value::Null;
        let text = l.to_string();
        assert!(!re.is_match(&text), "personal value in an audit line: {text}");
    }
}
