//! One writer at a time per warehouse. `lantern run`, `lantern models --build`, `lantern demo`
//! and each run of `lantern serve` hold an exclusive OS lock (`flock`) on `<warehouse>/_lock`
//! while they stage, commit and build models. The operating system drops the lock when its
//! holder exits, even when killed, so a crashed run never leaves a stale lock behind. The file
//! itself says who holds it (process id, since when, what), for the message another process
//! prints when it refuses.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held while a process writes to the warehouse; dropping it releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another lantern process is writing to this warehouse ({holder}); waited {waited:.0}s. Try again when it has finished, or pass --wait SECONDS (LANTERN_LOCK_WAIT) to wait for it")]
    Busy { holder: String, waited: f64 },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Exit code of a command refused because another process holds the lock (EX_TEMPFAIL).
pub const BUSY_EXIT_CODE: u8 = 75;

fn open(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| LockError::Io { path: path.display().to_string(), source })
}

impl WriterLock {
    /// Takes the lock now or returns `None` when another process holds it.
    pub fn try_acquire(root: &Path, what: &str) -> Result<Option<WriterLock>, LockError> {
        let path = root.join("_lock");
        let file = open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                let mut l = WriterLock { file, path };
                l.describe(what);
                Ok(Some(l))
            }
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path: path.display().to_string(), source }),
        }
    }

    /// Takes the lock, waiting up to `wait` for another process to release it (zero: refuse at
    /// once).
    pub fn acquire(root: &Path, what: &str, wait: Duration) -> Result<WriterLock, LockError> {
        let t0 = Instant::now();
        let mut told = false;
        loop {
            if let Some(l) = Self::try_acquire(root, what)? {
                return Ok(l);
            }
            let holder = holder(root);
            if t0.elapsed() >= wait {
                return Err(LockError::Busy { holder, waited: t0.elapsed().as_secs_f64() });
            }
            if !told {
                tracing::info!(%holder, "waiting for another lantern process to finish writing to the warehouse");
                told = true;
            }
            std::thread::sleep(Duration::from_millis(200).min(wait.saturating_sub(t0.elapsed())).max(Duration::from_millis(10)));
        }
    }

    fn describe(&mut self, what: &str) {
        let text = format!("pid {} since {} ({what})\n", std::process::id(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
        let _ = self.file.set_len(0);
        let _ = self.file.rewind();
        let _ = self.file.write_all(text.as_bytes());
        let _ = self.file.flush();
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Who holds the lock, as its holder wrote it.
pub fn holder(root: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(root.join("_lock")) {
        let _ = f.read_to_string(&mut s);
    }
    let s = s.trim();
    if s.is_empty() { "a process that has not said what it is".into() } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::try_acquire(dir.path(), "first").unwrap().expect("free");
        // a separate open file description conflicts, as another process's would
        assert!(WriterLock::try_acquire(dir.path(), "second").unwrap().is_none());
        let e = WriterLock::acquire(dir.path(), "second", Duration::from_millis(300)).unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())) && e.contains("first"), "{e}");
        drop(first);
        assert!(WriterLock::acquire(dir.path(), "second", Duration::ZERO).is_ok());
    }
}
