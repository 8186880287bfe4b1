//! The local backend end to end: what lands on disk is sealed, and reads check key and path.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use storage::{Blobs, DataKey, StorageError};

/// A JPEG-looking payload: SOI marker, JFIF, an EXIF GPS tag name.
fn photo() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    v.extend_from_slice(b"JFIF\0GPSLatitude");
    v.extend((0..200_000u32).map(|i| (i % 256) as u8));
    v
}

#[tokio::test]
async fn nothing_readable_lands_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(dir.path()).unwrap();
    let (alice, bob) = (DataKey::generate(), DataKey::generate());
    let written = blobs.put(&alice, "users/a/uploads/1/original", &photo()).await.unwrap();
    assert!(written > photo().len() as u64);
    let raw = std::fs::read(dir.path().join("users/a/uploads/1/original")).unwrap();
    assert!(raw.starts_with(b"SPX1"));
    // Four bytes at least: a 3-byte marker appears by chance in 200 KB of ciphertext about
    // once in a hundred runs.
    for signature in [&b"\xFF\xD8\xFF\xE0"[..], b"JFIF", b"GPSLatitude", b"\x89PNG", b"RIFF"] {
        assert!(!raw.windows(signature.len()).any(|w| w == signature), "{signature:?} readable on disk");
    }
    assert_eq!(blobs.get(&alice, "users/a/uploads/1/original").await.unwrap(), photo());
    assert!(matches!(blobs.get(&bob, "users/a/uploads/1/original").await, Err(StorageError::Corrupt)));
    std::fs::copy(dir.path().join("users/a/uploads/1/original"), dir.path().join("users/a/uploads/2")).unwrap();
    assert!(
        matches!(blobs.get(&alice, "users/a/uploads/2").await, Err(StorageError::Corrupt)),
        "moved blobs do not open"
    );
    assert_eq!(blobs.list("users/a").await.unwrap().len(), 2);
    blobs.delete("users/a/uploads/1/original").await.unwrap();
    blobs.delete("users/a/uploads/1/original").await.unwrap();
    assert!(matches!(blobs.get(&alice, "users/a/uploads/1/original").await, Err(StorageError::NotFound)));
}

#[tokio::test]
async fn partial_writes_of_a_killed_process_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(dir.path()).unwrap();
    let key = DataKey::generate();
    blobs.put(&key, "users/a/creations/c/0.jpg", b"image").await.unwrap();
    let partial = dir.path().join("users/a/creations/c/1.jpg#17");
    std::fs::write(&partial, b"half").unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert_eq!(blobs.remove_stale_staging(now - 60_000).await.unwrap(), 0, "recent writes may be in flight");
    assert_eq!(blobs.remove_stale_staging(now + 1_000).await.unwrap(), 1);
    assert!(!partial.exists());
    assert_eq!(blobs.get(&key, "users/a/creations/c/0.jpg").await.unwrap(), b"image", "finished objects stay");
}
