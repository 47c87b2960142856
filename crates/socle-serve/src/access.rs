//! Accounts and roles: the `access.yaml` file of `socle serve`.
//!
//! ```yaml
//! settings:
//!   session_idle_minutes: 30       # a web session ends after this long without a request
//!   statement_timeout_seconds: 30  # SQL endpoint: a statement running longer is cancelled
//!   max_rows: 100000               # SQL endpoint: a result longer than this is refused
//! accounts:
//!   mtremblay:
//!     role: css                    # ecole | css | ministere | admin
//!     css: "866000"                # the CSS of a `css` or `ecole` account
//!     nominatif: true              # may see students by name (nominative marts, personal columns)
//!     expires: 2027-06-30          # optional: no sign-in after this day
//!     password:                    # written by `socle serve passwd mtremblay`
//!       argon2: "$argon2id$v=19$..."
//!       scram: "pbkdf2-sha256$4096$<salt>$<salted password>"
//!   dir866012:
//!     role: ecole
//!     css: "866000"
//!     etablissements: ["866012"]
//! ```
//!
//! Two forms of each password, because the web and the SQL endpoint cannot share one: the web
//! checks an argon2 hash (slow on purpose, salted); the Postgres wire's SCRAM-SHA-256 exchange
//! needs the salted PBKDF2 password the client proves it knows, which no argon2 hash gives.
//! The SCRAM form is password-equivalent for the SQL endpoint (like a Postgres verifier's keys),
//! so the file is written with mode 0600 and must stay readable by the server's user only.
//!
//! Signing in with the CSS's identity provider (OIDC) would add a second way to reach an
//! [`Account`]: everything after sign-in ([`crate::scope`]) depends on the account only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// SCRAM iterations (PBKDF2-HMAC-SHA-256): Postgres's default.
pub const SCRAM_ITERATIONS: u32 = 4096;

/// What an account may see; enforced where data is read ([`crate::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// One or more establishments of a CSS: their rows of every mart with `code_etablissement`,
    /// exact counts; web only.
    Ecole,
    /// One CSS: its own zone, exact counts; web and SQL.
    Css,
    /// The ministry: the shared zone (every CSS, small cells suppressed, pseudonymous).
    Ministere,
    /// Reads the audit log; no data.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;

    /// The role's name as written in `access.yaml` (`socle serve passwd --role`).
    fn from_str(s: &str) -> Result<Role, String> {
        [Role::Ecole, Role::Css, Role::Ministere, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("rôle inconnu {s:?} / unknown role: ecole, css, ministere, admin"))
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ecole => "ecole",
            Role::Css => "css",
            Role::Ministere => "ministere",
            Role::Admin => "admin",
        }
    }

    /// French label for the page.
    pub fn label(self) -> &'static str {
        match self {
            Role::Ecole => "École",
            Role::Css => "Centre de services scolaire",
            Role::Ministere => "Ministère",
            Role::Admin => "Administration",
        }
    }

    /// Whether the role may use the SQL endpoint.
    pub fn has_sql(self) -> bool {
        matches!(self, Role::Css | Role::Ministere)
    }
}

/// The two stored forms of a password.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoredPassword {
    /// PHC string of an argon2id hash (web sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argon2: Option<String>,
    /// `pbkdf2-sha256$<iterations>$<salt, base64>$<salted password, base64>` (SCRAM-SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scram: Option<String>,
}

/// One account of `access.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub role: Role,
    /// The CSS of a `css` or `ecole` account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub css: Option<String>,
    /// The establishments (ministry codes) of an `ecole` account.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etablissements: Vec<String>,
    /// May see students by name: the nominative marts, personal columns and the quarantine.
    #[serde(default)]
    pub nominatif: bool,
    /// Last day the account may sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    #[serde(default)]
    pub password: StoredPassword,
}

impl Account {
    /// Whether the account has expired on `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires.is_some_and(|d| today > d)
    }
}

/// Server settings of `access.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default = "default_idle")]
    pub session_idle_minutes: u64,
    #[serde(default = "default_timeout")]
    pub statement_timeout_seconds: u64,
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
}

fn default_idle() -> u64 {
    30
}
fn default_timeout() -> u64 {
    30
}
fn default_max_rows() -> usize {
    100_000
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_idle_minutes: default_idle(),
            statement_timeout_seconds: default_timeout(),
            max_rows: default_max_rows(),
        }
    }
}

/// The whole `access.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccessFile {
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("password hashing failed: {0}")]
    Hash(String),
}

fn invalid(path: &Path, message: impl Into<String>) -> AccessError {
    AccessError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn is_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An account name: what goes in cookies, audit lines and Postgres's user name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl AccessFile {
    /// Reads and checks `path`; a missing file is an error (a server with no accounts serves no one).
    pub fn load(path: &Path) -> Result<Self, AccessError> {
        let text = std::fs::read_to_string(path).map_err(|source| AccessError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: AccessFile = serde_saphyr::from_str(&text).map_err(|e| invalid(path, e.to_string()))?;
        file.check(path)?;
        Ok(file)
    }

    /// Reads `path`, or an empty file if it does not exist (for `passwd` creating the first account).
    pub fn load_or_default(path: &Path) -> Result<Self, AccessError> {
        if path.exists() {
            Self::load(path)
        } else {
            Ok(AccessFile::default())
        }
    }

    /// The scope of each account is whole and consistent with its role.
    pub fn check(&self, path: &Path) -> Result<(), AccessError> {
        for (name, a) in &self.accounts {
            if !valid_name(name) {
                return Err(invalid(
                    path,
                    format!("account name {name:?}: letters, digits, '_', '-', '.' only (at most 63)"),
                ));
            }
            match a.role {
                Role::Css | Role::Ecole => match &a.css {
                    Some(c) if is_code(c) => {}
                    Some(c) => return Err(invalid(path, format!("{name}: css {c:?} is not a 6-digit CSS code"))),
                    None => {
                        return Err(invalid(
                            path,
                            format!("{name}: role {} needs `css: CODE`", a.role.as_str()),
                        ));
                    }
                },
                Role::Ministere | Role::Admin => {
                    if a.css.is_some() || !a.etablissements.is_empty() {
                        return Err(invalid(
                            path,
                            format!("{name}: role {} has no css nor etablissements", a.role.as_str()),
                        ));
                    }
                }
            }
            if a.role == Role::Ecole {
                if a.etablissements.is_empty() {
                    return Err(invalid(
                        path,
                        format!("{name}: role ecole needs `etablissements: [CODE, ...]`"),
                    ));
                }
                if let Some(bad) = a.etablissements.iter().find(|e| !is_code(e)) {
                    return Err(invalid(
                        path,
                        format!("{name}: etablissement {bad:?} is not a 6-digit code"),
                    ));
                }
            } else if !a.etablissements.is_empty() {
                return Err(invalid(path, format!("{name}: only role ecole has etablissements")));
            }
            if a.role == Role::Ministere && a.nominatif {
                return Err(invalid(path, format!("{name}: role ministere is never nominatif")));
            }
            if let Some(s) = &a.password.scram {
                ScramVerifier::parse(s).map_err(|m| invalid(path, format!("{name}: password.scram: {m}")))?;
            }
        }
        Ok(())
    }

    /// Writes the file atomically (temporary file, then rename) with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), AccessError> {
        let body = serde_saphyr::to_string(self).map_err(|e| invalid(path, e.to_string()))?;
        let text = format!(
            "# Accounts of `socle serve`. Passwords are set with `socle serve passwd USER`.\n\
             # Keep this file readable by the server's user only: the scram form is\n\
             # password-equivalent for the SQL endpoint.\n{body}"
        );
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("access.yaml"),
            std::process::id()
        ));
        let io = |source| AccessError::Io {
            path: path.to_path_buf(),
            source,
        };
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }
}

/// Hashes `password` both ways for `account`.
pub fn set_password(account: &mut Account, password: &str) -> Result<(), AccessError> {
    if password.chars().count() < 12 {
        return Err(AccessError::Hash(
            "mot de passe trop court: 12 caractères au moins / password too short: 12 characters at least".to_string(),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AccessError::Hash(e.to_string()))?
        .to_string();
    let mut scram_salt = [0u8; 16];
    argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut scram_salt);
    account.password = StoredPassword {
        argon2: Some(hash),
        scram: Some(ScramVerifier::new(password, &scram_salt, SCRAM_ITERATIONS).to_string()),
    };
    Ok(())
}

/// Checks a web password against the argon2 hash; false when the account has none.
pub fn verify_password(account: &Account, password: &str) -> bool {
    let Some(stored) = &account.password.argon2 else {
        return false;
    };
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// A hash to verify against when the account does not exist, so that an unknown name takes as
/// long to refuse as a wrong password (no account enumeration by timing).
pub fn dummy_verify(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(b"socle-dummy-password", &salt)
            .ok()
            .map(|h| h.to_string())
    });
    if let Some(stored) = stored
        && let Ok(hash) = PasswordHash::new(stored)
    {
        let _ = argon2::Argon2::default().verify_password(password.as_bytes(), &hash);
    }
}

/// The SCRAM-SHA-256 form of a password: salt, iterations and the salted password
/// (`Hi(password, salt, i)` of RFC 5802), which pgwire's SCRAM exchange verifies proofs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub salted_password: Vec<u8>,
}

impl ScramVerifier {
    pub fn new(password: &str, salt: &[u8], iterations: u32) -> Self {
        let mut out = [0u8; 32];
        // SASLprep of ASCII passwords is the identity; other passwords are used as UTF-8 bytes,
        // as libpq does when SASLprep fails.
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut out);
        ScramVerifier {
            iterations,
            salt: salt.to_vec(),
            salted_password: out.to_vec(),
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('$').collect();
        let [scheme, iterations, salt, salted] = parts.as_slice() else {
            return Err("expected pbkdf2-sha256$<iterations>$<salt>$<salted password>".to_string());
        };
        if *scheme != "pbkdf2-sha256" {
            return Err(format!("unknown scheme {scheme:?}"));
        }
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| "iterations are not a number".to_string())?;
        if iterations < 4096 {
            return Err("at least 4096 iterations".to_string());
        }
        let salt = B64.decode(salt).map_err(|_| "salt is not base64".to_string())?;
        let salted_password = B64
            .decode(salted)
            .map_err(|_| "salted password is not base64".to_string())?;
        if salted_password.len() != 32 {
            return Err("salted password is not 32 bytes".to_string());
        }
        Ok(ScramVerifier {
            iterations,
            salt,
            salted_password,
        })
    }
}

impl std::fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.salted_password)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role) -> Account {
        Account {
            role,
            css: None,
            etablissements: vec![],
            nominatif: false,
            expires: None,
            password: StoredPassword::default(),
        }
    }

    #[test]
    fn passwords_verify_both_ways() -> Result<(), Box<dyn std::error::Error>> {
        let mut a = account(Role::Ministere);
        set_password(&mut a, "un mot de passe assez long")?;
        assert!(verify_password(&a, "un mot de passe assez long"));
        assert!(!verify_password(&a, "un autre mot de passe long"));
        let v = ScramVerifier::parse(a.password.scram.as_deref().unwrap_or_default())?;
        assert_eq!(
            v,
            ScramVerifier::new("un mot de passe assez long", &v.salt, v.iterations)
        );
        assert!(set_password(&mut a, "court").is_err());
        Ok(())
    }

    #[test]
    fn scopes_are_checked_against_roles() -> Result<(), Box<dyn std::error::Error>> {
        let p = Path::new("access.yaml");
        let ok = |yaml: &str| -> Result<(), String> {
            let f: AccessFile = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
            f.check(p).map_err(|e| e.to_string())
        };
        ok("accounts:\n  a: {role: css, css: '866000'}\n").map_err(|e| e.to_string())?;
        ok("accounts:\n  a: {role: ecole, css: '866000', etablissements: ['866012']}\n")?;
        ok("accounts:\n  a: {role: ministere}\n")?;
        assert!(ok("accounts:\n  a: {role: css}\n").is_err());
        assert!(ok("accounts:\n  a: {role: css, css: '86600'}\n").is_err());
        assert!(ok("accounts:\n  a: {role: ecole, css: '866000'}\n").is_err());
        assert!(ok("accounts:\n  a: {role: ministere, css: '866000'}\n").is_err());
        assert!(ok("accounts:\n  a: {role: ministere, nominatif: true}\n").is_err());
        assert!(ok("accounts:\n  'a b': {role: admin}\n").is_err());
        assert!(ok("accounts:\n  a: {role: root}\n").is_err());
        Ok(())
    }

    #[test]
    fn the_file_round_trips_with_mode_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("access.yaml");
        let mut f = AccessFile::default();
        let mut a = account(Role::Css);
        a.css = Some("866000".into());
        a.expires = NaiveDate::from_ymd_opt(2027, 6, 30);
        set_password(&mut a, "un mot de passe assez long")?;
        f.accounts.insert("mtremblay".into(), a);
        f.save(&path)?;
        let back = AccessFile::load(&path)?;
        let b = &back.accounts["mtremblay"];
        assert!(verify_password(b, "un mot de passe assez long"));
        assert_eq!(b.expires, NaiveDate::from_ymd_opt(2027, 6, 30));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        }
        Ok(())
    }
}
