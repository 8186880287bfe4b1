//! The master key: 32 random bytes in a file created on first start (mode 0600) and never
//! overwritten. Other keys are derived from it, one per purpose. During a rotation the
//! previous master key is loaded too, for reading only (docs/operations.md).

use std::io::Write;
use std::path::Path;

use rand::RngCore;

use crate::{App, AppError, Result};

pub struct Keys {
    pub master: [u8; 32],
    /// Wraps each user's data key (see the storage crate).
    pub key_encryption_key: [u8; 32],
    /// MAC key for OTP digests and CSRF tokens.
    pub server_mac_key: [u8; 32],
    /// During a rotation: the keys of the master key being replaced.
    pub previous: Option<Box<Keys>>,
}

impl Keys {
    pub fn from_master(master: [u8; 32]) -> Self {
        let server_mac_key = domain::secrets::mac_bytes(&master, b"soraipixel/server-mac/v1");
        let key_encryption_key = domain::secrets::mac_bytes(&master, b"soraipixel/kek/v1");
        Self { master, key_encryption_key, server_mac_key, previous: None }
    }

    /// The configured master key (created on first start) and, during a rotation, the
    /// previous one, whose file must exist.
    /// During a rotation the new key must already exist (a mistyped path must not quietly
    /// become a fresh key) and differ from the previous one.
    pub fn load(settings: &settings::Settings) -> Result<Self> {
        let Some(previous) = &settings.security.previous_master_key_file else {
            return Self::load_or_create(&settings.master_key_path());
        };
        let (mut keys, previous) = (Self::read(&settings.master_key_path())?, Self::read(previous)?);
        if keys.master == previous.master {
            return Err(AppError::Internal("the master key and the previous master key are the same".into()));
        }
        keys.previous = Some(Box::new(previous));
        Ok(keys)
    }

    /// Writes a fresh master key to `path` for a rotation; never replaces an existing file.
    pub fn create_new(path: &Path) -> Result<()> {
        write_new(path).map_err(|e| AppError::Internal(format!("cannot create {}: {e}", path.display())))
    }

    /// Reads the key file, creating it with a fresh key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let fail = |what: &str, e: std::io::Error| AppError::Internal(format!("{what} {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("cannot create folder for", e))?;
        }
        match write_new(path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created a new master key; back it up: without it stored data cannot be read");
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("cannot create", e)),
        }
        Self::read(path)
    }

    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::Internal(format!("cannot read master key file {}: {e}", path.display())))?;
        let bytes = hex::decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
        let master = bytes
            .ok_or_else(|| AppError::Internal(format!("master key file {} must hold 64 hex digits", path.display())))?;
        Ok(Self::from_master(master))
    }
}

impl App {
    /// Step 3 of a rotation: every user's data key wrapped again with the current master key
    /// (unwrapped with whichever opens it). The data keys, and so every stored blob, stay as
    /// they are. Returns how many were re-wrapped; safe to run again.
    pub async fn rewrap_keys(&self) -> Result<usize> {
        if self.keys.previous.is_none() {
            return Err(AppError::Internal(
                "re-wrapping is step 3 of a rotation: set security.previous_master_key_file first".into(),
            ));
        }
        let mut count = 0;
        for user in self.db.users_with_keys().await? {
            let Some(wrapped) = self.db.wrapped_key(&user).await? else { continue };
            let key = self.unwrap_key(&wrapped)?;
            if self.db.replace_wrapped_key(&user, &wrapped, &self.wrap_key(&key)).await? {
                count += 1;
            }
        }
        Ok(count)
    }
}

/// 32 random bytes, hex, in a new file only readable by us.
fn write_new(path: &Path) -> std::io::Result<()> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let mut file = create_new_private(path)?;
    file.write_all(hex::encode(fresh).as_bytes())?;
    file.sync_all()
}

/// `create_new` never replaces an existing key, even when two processes start at once.
fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/master.key");
        let first = Keys::load_or_create(&path).unwrap();
        let again = Keys::load_or_create(&path).unwrap();
        assert_eq!(first.master, again.master);
        assert_ne!(first.master, first.server_mac_key);
        assert_ne!(first.key_encryption_key, first.server_mac_key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(Keys::load_or_create(&path).is_err(), "a damaged key file is an error, not a new key");
    }

    #[test]
    fn a_rotation_never_makes_up_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.key"), dir.path().join("new.key"));
        Keys::load_or_create(&old).unwrap();
        let mut settings = settings::Settings::default();
        settings.security.master_key_file = new.clone();
        settings.security.previous_master_key_file = Some(old.clone());
        assert!(Keys::load(&settings).is_err(), "a missing new key is an error during a rotation");
        assert!(!new.exists(), "and none was created");
        Keys::create_new(&new).unwrap();
        let keys = Keys::load(&settings).unwrap();
        assert_eq!(keys.previous.map(|p| p.master), Some(Keys::load_or_create(&old).unwrap().master));
        settings.security.master_key_file = old;
        assert!(Keys::load(&settings).is_err(), "the same key twice is no rotation");
    }
}
