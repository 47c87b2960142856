//! The shared student key: HMAC-SHA256(secret, code permanent trimmed and upper-cased), first
//! 16 bytes as 32 lowercase hex characters (DESIGN.md). The secret belongs to the operator of the
//! shared warehouse and never lives in the repository; [`DEMO_KEY`] exists only so the committed
//! fixtures can be loaded, and callers must warn when they use it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::PathBuf;

type HmacSha256 = Hmac<Sha256>;

/// The demo key, public by construction: only for the synthetic fixtures.
pub const DEMO_KEY: &str = "socle-demo-key: PUBLIC, for synthetic fixtures only, never for real data";

/// Shortest secret accepted, in bytes: a shorter key would make the hash easy to brute-force.
const MIN_KEY_LEN: usize = 32;

/// Where the key came from (kept in the manifest as a fingerprint, never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Demo,
}

#[derive(Clone)]
pub struct Pseudonymiser {
    mac: HmacSha256,
    source: KeySource,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Pseudonymiser")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("pseudonymisation key is too short ({0} bytes): use at least {MIN_KEY_LEN} random bytes")]
    TooShort(usize),
    #[error("cannot read pseudonymisation key file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
}

impl Pseudonymiser {
    pub fn new(secret: &[u8], source: KeySource) -> Result<Self, KeyError> {
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort(secret.len()));
        }
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| KeyError::TooShort(secret.len()))?;
        Ok(Pseudonymiser { mac, source })
    }

    pub fn demo() -> Self {
        // DEMO_KEY is longer than MIN_KEY_LEN, and HMAC accepts any key length.
        let mac = HmacSha256::new_from_slice(DEMO_KEY.as_bytes()).expect("HMAC takes keys of any length");
        Pseudonymiser {
            mac,
            source: KeySource::Demo,
        }
    }

    /// Reads the key from a file (trailing newline ignored).
    pub fn from_file(path: PathBuf) -> Result<Self, KeyError> {
        let bytes = std::fs::read(&path).map_err(|source| KeyError::File {
            path: path.clone(),
            source,
        })?;
        let trimmed = trim_ascii_end(&bytes);
        Self::new(trimmed, KeySource::File(path))
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub fn is_demo(&self) -> bool {
        self.source == KeySource::Demo
    }

    fn hex16(&self, input: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(input);
        let out = mac.finalize().into_bytes();
        hex::encode(&out[..16])
    }

    /// The shared key of a valid code permanent (trimmed, upper-cased first).
    pub fn student_key(&self, code_permanent: &str) -> String {
        self.hex16(code_permanent.trim().to_ascii_uppercase().as_bytes())
    }

    /// The key of a student whose code permanent is missing or malformed: derived from
    /// (CSS, fiche) so it never merges with another CSS's student. The input is prefixed so it
    /// can never equal a code permanent's input.
    pub fn local_key(&self, code_css: &str, fiche: &str) -> String {
        self.hex16(format!("local:{}:{}", code_css.trim(), fiche.trim()).as_bytes())
    }

    /// A fingerprint of the key, safe to store: lets a run refuse to mix keys in one warehouse.
    pub fn fingerprint(&self) -> String {
        self.hex16(b"socle key fingerprint v1")
    }
}

fn trim_ascii_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    &b[..end]
}

/// `[A-Z]{4}[0-9]{8}` after trimming and upper-casing.
pub fn is_valid_code_permanent(s: &str) -> bool {
    let t = s.trim().as_bytes();
    t.len() == 12 && t[..4].iter().all(|b| b.is_ascii_alphabetic()) && t[4..].iter().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_hmac_sha256_truncated_to_16_bytes() {
        // Reference value computed independently: python3 -c "import hmac,hashlib;
        // print(hmac.new(b'k'*32, b'ABCD12345678', hashlib.sha256).hexdigest()[:32])"
        let p = Pseudonymiser::new(&[b'k'; 32], KeySource::Environment).unwrap();
        let k = p.student_key(" abcd12345678 ");
        assert_eq!(k.len(), 32);
        assert_eq!(k, p.student_key("ABCD12345678"));
        assert_eq!(k, "3442c5f04fbf2f6fe8f66533c22edfa4");
    }

    #[test]
    fn local_keys_differ_by_css_and_never_print_the_key() {
        let p = Pseudonymiser::demo();
        assert_ne!(p.local_key("866000", "1"), p.local_key("881000", "1"));
        assert!(!format!("{p:?}").contains("PUBLIC"));
        assert!(Pseudonymiser::new(b"short", KeySource::Environment).is_err());
    }

    #[test]
    fn code_permanent_shape() {
        assert!(is_valid_code_permanent("TREM12345678"));
        assert!(!is_valid_code_permanent("TRE123456789"));
        assert!(!is_valid_code_permanent(""));
    }
}
