//! Web sign-in: sessions in cookies, CSRF tokens, and the limit on failed sign-ins.
//!
//! - The session cookie (`socle_session`) is a random 256-bit token, `HttpOnly` (no script
//!   reads it), `SameSite=Strict` (no other site's page sends it), `Secure` under TLS, and
//!   `Path=/`. The server keeps what it stands for (account, CSRF token, last use) in memory:
//!   a restart signs everyone out. A session unused for `session_idle_minutes` ends.
//! - Every POST carries the session's CSRF token in a hidden field, compared in constant time;
//!   the sign-in form, before any session, uses a double-submit token (cookie `socle_csrf` and
//!   the same value in the form).
//! - At most [`MAX_FAILURES`] failed sign-ins per minute per account and per client address;
//!   past that, sign-in is refused without checking the password (and audited).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};

pub const SESSION_COOKIE: &str = "socle_session";
pub const CSRF_COOKIE: &str = "socle_csrf";
pub const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// A random token, 32 bytes as hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub account: String,
    pub csrf: String,
    last_seen: Instant,
}

/// The sessions of the server.
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<String, WebSession>>,
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Sessions {
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Opens a session for `account`; returns its cookie token.
    pub fn open(&self, account: &str) -> String {
        let t = token();
        if let Ok(mut map) = self.map.lock() {
            let idle = self.idle;
            map.retain(|_, s| s.last_seen.elapsed() < idle);
            map.insert(
                t.clone(),
                WebSession {
                    account: account.to_string(),
                    csrf: token(),
                    last_seen: Instant::now(),
                },
            );
        }
        t
    }

    /// The live session of `token`, touched; an idle one is ended.
    pub fn get(&self, token: &str) -> Option<WebSession> {
        let mut map = self.map.lock().ok()?;
        let live = map.get(token).is_some_and(|s| s.last_seen.elapsed() < self.idle);
        if !live {
            map.remove(token);
            return None;
        }
        let s = map.get_mut(token)?;
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    pub fn close(&self, token: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(token);
        }
    }
}

/// Failed sign-ins of the last minute, per account and per address.
#[derive(Default)]
pub struct FailureLimiter {
    by_account: Mutex<HashMap<String, Vec<Instant>>>,
    by_address: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

fn recent(list: &mut Vec<Instant>) -> usize {
    list.retain(|t| t.elapsed() < FAILURE_WINDOW);
    list.len()
}

impl FailureLimiter {
    /// Whether a sign-in of `account` from `address` is refused outright.
    pub fn blocked(&self, account: &str, address: IpAddr) -> bool {
        let a = self
            .by_account
            .lock()
            .map(|mut m| m.get_mut(account).map(recent).unwrap_or(0))
            .unwrap_or(MAX_FAILURES);
        let b = self
            .by_address
            .lock()
            .map(|mut m| m.get_mut(&address).map(recent).unwrap_or(0))
            .unwrap_or(MAX_FAILURES);
        a >= MAX_FAILURES || b >= MAX_FAILURES
    }

    pub fn failed(&self, account: &str, address: IpAddr) {
        if let Ok(mut m) = self.by_account.lock() {
            m.entry(account.to_string()).or_default().push(Instant::now());
        }
        if let Ok(mut m) = self.by_address.lock() {
            m.entry(address).or_default().push(Instant::now());
        }
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value with the safe attributes.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_or_closed() {
        let s = Sessions::new(Duration::from_millis(50));
        let t = s.open("alice");
        assert_eq!(s.get(&t).map(|w| w.account), Some("alice".to_string()));
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&t).is_none(), "idle session still open");
        let t = s.open("alice");
        s.close(&t);
        assert!(s.get(&t).is_none());
        assert!(s.get("forged").is_none());
    }

    #[test]
    fn five_failures_a_minute_block_the_account_and_the_address() {
        let l = FailureLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        for _ in 0..4 {
            l.failed("alice", a);
        }
        assert!(!l.blocked("alice", a));
        l.failed("alice", a);
        assert!(l.blocked("alice", b), "the account is blocked from any address");
        assert!(l.blocked("bob", a), "the address is blocked for any account");
        assert!(!l.blocked("bob", b));
    }

    #[test]
    fn cookies_are_parsed_and_set_safely() {
        assert_eq!(cookie("a=1; socle_session=xyz; b=2", SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        let c = set_cookie(SESSION_COOKIE, "t", true, None);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("abc", "ab"));
    }
}
