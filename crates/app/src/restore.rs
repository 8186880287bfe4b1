//! Proof that a backup restored: every blob a user's rows name is in the store and opens
//! with its owner's key (which only the master key of the backed-up deployment unwraps).
//! Visitor previews, which expire within a day, are not counted.

use storage::StorageError;

use crate::{App, Result, now_ms};

#[derive(Debug, Default)]
pub struct BlobCheck {
    pub users: usize,
    pub opened: usize,
    /// Named by a row, absent from the store.
    pub missing: Vec<String>,
    /// Present, but it does not open with its owner's key (another deployment's, or damaged).
    pub unreadable: Vec<String>,
}

impl BlobCheck {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unreadable.is_empty()
    }
}

impl App {
    /// Opens every blob every row names. An unreachable store is an error, not a verdict.
    pub async fn verify_blobs(&self) -> Result<BlobCheck> {
        let mut check = BlobCheck::default();
        for user in self.db.users_with_keys().await? {
            // A key that does not unwrap (another master key) makes all of the user's unreadable.
            let wrapped = self.db.wrapped_key(&user).await?.unwrap_or_default();
            let key = self.wrapper.unwrap_key(&wrapped).ok();
            check.users += 1;
            for path in self.db.referenced_blobs(&user, now_ms()).await? {
                let Some(key) = &key else {
                    check.unreadable.push(path);
                    continue;
                };
                match self.blobs.get(key, &path).await {
                    Ok(_) => check.opened += 1,
                    Err(StorageError::NotFound) => check.missing.push(path),
                    Err(StorageError::Corrupt) => check.unreadable.push(path),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(check)
    }
}
