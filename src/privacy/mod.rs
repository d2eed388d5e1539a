//! Protect: keyed pseudonyms for identifiers, names dropped, dates of birth to the month,
//! postcodes to their outward code. Runs on every row before it is written anywhere.

use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Treatment {
    /// HMAC-SHA256 of the kind and the normalised value; same key → same pseudonym everywhere.
    Pseudonym(String),
    Drop,
    /// Dates to the first of their month.
    Month,
    /// Postcodes to their outward code (`DT1 1XJ` → `DT1`).
    OutwardPostcode,
}

impl Treatment {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "drop" => Some(Treatment::Drop),
            "month" => Some(Treatment::Month),
            "outward_postcode" => Some(Treatment::OutwardPostcode),
            other => other
                .strip_prefix("pseudonym:")
                .filter(|k| !k.is_empty())
                .map(|k| Treatment::Pseudonym(k.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("LANTERN_PSEUDONYM_KEY_FILE names {path}, which cannot be read: {source}")]
    File { path: String, source: std::io::Error },
    #[error("the pseudonymisation key is shorter than 16 bytes; use a long random secret")]
    Short,
    #[error("no pseudonymisation key: set LANTERN_PSEUDONYM_KEY or LANTERN_PSEUDONYM_KEY_FILE (a file holding a long random secret)")]
    Missing,
    #[error("cannot create the demo key at {path}: {source}")]
    Create { path: String, source: std::io::Error },
}

/// Most pseudonyms remembered per identifier kind before that kind's cache is cleared.
const CACHE_LIMIT: usize = 500_000;

/// The secret behind the pseudonyms. Never printed, never logged.
pub struct Protector {
    mac: Hmac<Sha256>,
    /// (kind, value) → pseudonym: identifiers repeat across rows and tables. A run empties it
    /// after each council (`forget`), and it is cleared when a kind passes `CACHE_LIMIT` entries.
    cache: std::sync::Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    by_kind: foldhash::HashMap<String, foldhash::HashMap<String, String>>,
    /// Pseudonyms held now, all kinds together, and the most ever held at once.
    held: usize,
    most: usize,
}

impl Clone for Protector {
    fn clone(&self) -> Self {
        Protector { mac: self.mac.clone(), cache: Default::default() }
    }
}

impl std::fmt::Debug for Protector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Protector(<key withheld>)")
    }
}

impl Protector {
    pub fn new(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < 16 {
            return Err(KeyError::Short);
        }
        Ok(Protector { mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"), cache: Default::default() })
    }

    /// The key from `LANTERN_PSEUDONYM_KEY`, or the file named by `LANTERN_PSEUDONYM_KEY_FILE`,
    /// or else `key_file` (the settings' `key_file`).
    pub fn from_env(key_file: Option<&Path>) -> Result<Self, KeyError> {
        if let Ok(k) = std::env::var("LANTERN_PSEUDONYM_KEY") {
            return Self::new(k.trim().as_bytes());
        }
        if let Some(p) = std::env::var_os("LANTERN_PSEUDONYM_KEY_FILE").map(PathBuf::from).or_else(|| key_file.map(Path::to_path_buf)) {
            let text = std::fs::read(&p).map_err(|source| KeyError::File { path: p.display().to_string(), source })?;
            return Self::new(trim_bytes(&text));
        }
        Err(KeyError::Missing)
    }

    /// For the demo and first runs: a key generated once and kept outside the warehouse with
    /// owner-only permissions, unless the environment or `key_file` gives one ([`from_env`]).
    /// Returns the protector and, when it was just created, its path.
    ///
    /// [`from_env`]: Protector::from_env
    pub fn from_env_or_local(key_file: Option<&Path>, default_path: &Path) -> Result<(Self, Option<PathBuf>), KeyError> {
        match Self::from_env(key_file) {
            Ok(p) => Ok((p, None)),
            Err(KeyError::Missing) => {
                let create = |e| KeyError::Create { path: default_path.display().to_string(), source: e };
                if default_path.exists() {
                    let text = std::fs::read(default_path).map_err(create)?;
                    return Ok((Self::new(trim_bytes(&text))?, None));
                }
                if let Some(parent) = default_path.parent() {
                    std::fs::create_dir_all(parent).map_err(create)?;
                }
                let key: [u8; 32] = rand::random();
                write_private(default_path, hex::encode(key).as_bytes()).map_err(create)?;
                Ok((Self::new(hex::encode(key).as_bytes())?, Some(default_path.to_path_buf())))
            }
            Err(e) => Err(e),
        }
    }

    /// As `pseudonym`, remembering results (bounded: a kind's cache is cleared past `CACHE_LIMIT`
    /// entries, about 150 bytes each).
    pub fn pseudonym_cached(&self, kind: &str, value: &str) -> String {
        let mut cache = self.cache.lock().expect("pseudonym cache");
        if let Some(p) = cache.by_kind.get(kind).and_then(|m| m.get(value)) {
            return p.clone();
        }
        let p = self.pseudonym(kind, value);
        let c = &mut *cache;
        let m = c.by_kind.entry(kind.to_string()).or_default();
        if m.len() >= CACHE_LIMIT {
            c.held -= m.len();
            m.clear();
        }
        m.insert(value.to_string(), p.clone());
        c.held += 1;
        c.most = c.most.max(c.held);
        p
    }

    /// Empties the cache. A run calls it after each council's last file (councils' identifiers
    /// rarely repeat, and the cache would otherwise grow with every council) and at its end.
    pub fn forget(&self) {
        let mut cache = self.cache.lock().expect("pseudonym cache");
        cache.by_kind.clear();
        cache.held = 0;
    }

    /// How many pseudonyms the cache holds now, and the most it has held at once.
    pub fn cached(&self) -> (usize, usize) {
        let cache = self.cache.lock().expect("pseudonym cache");
        (cache.held, cache.most)
    }

    /// Pseudonym of an identifier of a given kind (`upn`, `la_child_id`, …): 32 hex digits.
    /// Values are trimmed and upper-cased first, so `a123…` and ` A123…` agree.
    pub fn pseudonym(&self, kind: &str, value: &str) -> String {
        let mut out = [0u8; 32];
        self.pseudonym_into(kind, value, &mut out);
        String::from_utf8(out.to_vec()).expect("hex digits")
    }

    /// `pseudonym`, its 32 hex digits written into `out` rather than a new `String`.
    pub fn pseudonym_into(&self, kind: &str, value: &str, out: &mut [u8; 32]) {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        mac.update(b"\x1f");
        let value = value.trim();
        if value.bytes().any(|b| b.is_ascii_lowercase() || !b.is_ascii()) {
            mac.update(value.to_uppercase().as_bytes());
        } else {
            mac.update(value.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        hex::encode_to_slice(&digest[..16], out).expect("16 bytes are 32 hex digits");
    }
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(s, |e| e + 1);
    &b[s..e]
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")
}

/// `DT1 1XJ` → `DT1`; `dt11xj` → `DT1`. Returns None when it does not look like a postcode.
pub fn outward_postcode(s: &str) -> Option<String> {
    // the common case, `DT1 1XJ` as written: cut without building the compact form
    if let Some((out, inward)) = s.split_once(' ') {
        let upper_alnum = |t: &str| t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if inward.len() == 3 && (2..=4).contains(&out.len()) && upper_alnum(out) && upper_alnum(inward) {
            return Some(out.to_string());
        }
    }
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if compact.len() < 5 || compact.len() > 7 || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(compact[..compact.len() - 3].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_kind_specific() {
        let a = Protector::new(b"0123456789abcdef-key-one").unwrap();
        let b = Protector::new(b"0123456789abcdef-key-two").unwrap();
        assert_eq!(a.pseudonym("upn", "A123456789012"), a.pseudonym("upn", " a123456789012 "));
        assert_ne!(a.pseudonym("upn", "A123456789012"), b.pseudonym("upn", "A123456789012"));
        assert_ne!(a.pseudonym("upn", "123"), a.pseudonym("la_child_id", "123"));
        assert_eq!(a.pseudonym("upn", "x").len(), 32);
        assert!(format!("{a:?}").contains("withheld"));
    }

    #[test]
    fn the_cache_remembers_until_forgotten_and_gives_the_same_pseudonyms() {
        let a = Protector::new(b"0123456789abcdef-key-one").unwrap();
        let first = a.pseudonym_cached("upn", "A123456789012");
        a.pseudonym_cached("upn", "A123456789012");
        a.pseudonym_cached("la_child_id", "123");
        assert_eq!(a.cached(), (2, 2));
        a.forget();
        assert_eq!(a.cached(), (0, 2));
        assert_eq!(a.pseudonym_cached("upn", "A123456789012"), first);
        assert_eq!(first, a.pseudonym("upn", "A123456789012"));
    }

    #[test]
    fn a_key_file_from_the_settings_is_read_when_the_environment_names_none() {
        if std::env::var_os("LANTERN_PSEUDONYM_KEY").is_some() || std::env::var_os("LANTERN_PSEUDONYM_KEY_FILE").is_some() {
            return; // the environment comes first
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "0123456789abcdef-key-one\n").unwrap();
        let from_file = Protector::from_env(Some(&file)).unwrap();
        let direct = Protector::new(b"0123456789abcdef-key-one").unwrap();
        assert_eq!(from_file.pseudonym("upn", "A123456789012"), direct.pseudonym("upn", "A123456789012"));
        assert!(matches!(Protector::from_env(None), Err(KeyError::Missing)));
        assert!(matches!(Protector::from_env(Some(&dir.path().join("absent"))), Err(KeyError::File { .. })));
        let (local, created) = Protector::from_env_or_local(Some(&file), &dir.path().join("local.key")).unwrap();
        assert!(created.is_none() && !dir.path().join("local.key").exists());
        assert_eq!(local.pseudonym("upn", "x"), direct.pseudonym("upn", "x"));
    }

    #[test]
    fn postcodes_keep_their_outward_code() {
        assert_eq!(outward_postcode("DT1 1XJ").as_deref(), Some("DT1"));
        assert_eq!(outward_postcode("sw1a1aa").as_deref(), Some("SW1A"));
        assert_eq!(outward_postcode("EG19 7TT").as_deref(), Some("EG19"));
        assert_eq!(outward_postcode("n/a"), None);
    }

    #[test]
    fn treatments_parse() {
        assert_eq!(Treatment::parse("pseudonym:upn"), Some(Treatment::Pseudonym("upn".into())));
        assert_eq!(Treatment::parse("month"), Some(Treatment::Month));
        assert_eq!(Treatment::parse("pseudonym:"), None);
    }
}
