//! The S3 backend against a real S3 server (`s3s-fs`, which checks every SigV4 signature;
//! see `storage::testing`). What the server stores is sealed like on disk.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use object_store::ObjectStoreExt;
use storage::testing::{BUCKET, S3Server, SECRET_KEY};
use storage::{Blobs, DataKey, StorageError};

/// The bytes the server keeps for `path`: s3s-fs stores an object as a file under its bucket.
fn stored(server: &S3Server, path: &str) -> Option<Vec<u8>> {
    std::fs::read(server.root().join(BUCKET).join(path)).ok()
}

#[tokio::test]
async fn blobs_round_trip_through_a_real_s3_server() {
    let Some(server) = S3Server::start() else { return };
    let blobs = Blobs::s3(&server.bucket(SECRET_KEY)).unwrap();
    blobs.ping().await.unwrap();
    let key = DataKey::generate();
    let photo = b"\xFF\xD8\xFF\xE0 a photo".repeat(10_000);
    blobs.put(&key, "users/a/uploads/1/original", &photo).await.unwrap();
    let sealed = stored(&server, "users/a/uploads/1/original").unwrap();
    // A 3-byte marker turns up in 140 KB of ciphertext about once in a hundred runs; the
    // whole 12-byte header cannot.
    assert!(sealed.starts_with(b"SPX1") && !sealed.windows(12).any(|w| w == &photo[..12]), "sealed in the bucket");
    assert_eq!(blobs.get(&key, "users/a/uploads/1/original").await.unwrap(), photo);
    assert!(matches!(blobs.get(&DataKey::generate(), "users/a/uploads/1/original").await, Err(StorageError::Corrupt)));

    blobs.put(&key, "users/a/creations/c/0.jpg", b"image").await.unwrap();
    blobs.put(&key, "users/b/uploads/2/original", b"other").await.unwrap();
    let listed: Vec<String> = blobs.list("users/a").await.unwrap().into_iter().map(|b| b.path).collect();
    assert_eq!(listed, ["users/a/creations/c/0.jpg", "users/a/uploads/1/original"]);
    blobs.delete("users/a/creations/c/0.jpg").await.unwrap();
    blobs.delete("users/a/creations/c/0.jpg").await.unwrap();
    assert!(matches!(blobs.get(&key, "users/a/creations/c/0.jpg").await, Err(StorageError::NotFound)));
    assert_eq!(stored(&server, "users/a/creations/c/0.jpg"), None, "gone from the server's disk");
    assert_eq!(blobs.remove_stale_staging(i64::MAX).await.unwrap(), 0, "no staging files outside the local backend");
}

#[tokio::test]
async fn large_blobs_go_up_in_parts() {
    let Some(server) = S3Server::start() else { return };
    let blobs = Blobs::s3(&server.bucket(SECRET_KEY)).unwrap();
    let key = DataKey::generate();
    // 20 MiB: three parts of 8, 8 and 4 MiB.
    let clip: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    blobs.put(&key, "users/a/clips/1.mp4", &clip).await.unwrap();
    assert_eq!(blobs.get(&key, "users/a/clips/1.mp4").await.unwrap(), clip);

    // S3 names a multipart object's ETag after its part count ("…-3").
    let direct = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_endpoint(server.endpoint())
        .with_access_key_id(storage::testing::ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .with_allow_http(true)
        .build()
        .unwrap();
    let meta = direct.head(&"users/a/clips/1.mp4".into()).await.unwrap();
    assert!(meta.e_tag.as_deref().is_some_and(|t| t.trim_matches('"').ends_with("-3")), "{:?}", meta.e_tag);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_writes_nothing() {
    let Some(server) = S3Server::start() else { return };
    let blobs = Blobs::s3(&server.bucket("not-the-secret")).unwrap();
    let key = DataKey::generate();
    let refused = blobs.put(&key, "users/a/uploads/1/original", b"photo").await;
    assert!(
        matches!(&refused, Err(StorageError::Denied(e)) if e.contains("403") || e.contains("Signature")),
        "{refused:?}"
    );
    assert_eq!(stored(&server, "users/a/uploads/1/original"), None);
    assert!(blobs.list("users").await.is_err(), "listing is refused too");

    let right = Blobs::s3(&server.bucket(SECRET_KEY)).unwrap();
    right.put(&key, "users/a/uploads/1/original", b"photo").await.unwrap();
    assert!(matches!(blobs.get(&key, "users/a/uploads/1/original").await, Err(StorageError::Denied(_))));
}

#[tokio::test]
async fn an_outage_fails_calls_and_the_data_is_there_after_it() {
    let Some(mut server) = S3Server::start() else { return };
    let blobs = Blobs::s3(&server.bucket(SECRET_KEY)).unwrap();
    let key = DataKey::generate();
    blobs.put(&key, "users/a/uploads/1/original", b"photo").await.unwrap();
    server.stop();
    assert!(blobs.ping().await.is_err(), "readiness sees the outage");
    assert!(blobs.get(&key, "users/a/uploads/1/original").await.is_err());
    server.resume();
    blobs.ping().await.unwrap();
    assert_eq!(blobs.get(&key, "users/a/uploads/1/original").await.unwrap(), b"photo");
}

#[tokio::test]
async fn a_bucket_copies_to_another_still_sealed() {
    let (Some(live), Some(backup)) = (S3Server::start(), S3Server::start()) else { return };
    let (from, to) = (Blobs::s3(&live.bucket(SECRET_KEY)).unwrap(), Blobs::s3(&backup.bucket(SECRET_KEY)).unwrap());
    let key = DataKey::generate();
    for path in ["users/a/uploads/1/original", "users/a/uploads/1/thumb.jpg", "users/b/creations/c/0.jpg"] {
        from.put(&key, path, path.as_bytes()).await.unwrap();
    }
    from.put(&key, "previews/p/photo", b"not a user's").await.unwrap();
    assert_eq!(from.copy_objects(&to, "users").await.unwrap(), 3);
    assert_eq!(
        stored(&backup, "users/b/creations/c/0.jpg"),
        stored(&live, "users/b/creations/c/0.jpg"),
        "byte for byte"
    );
    assert_eq!(to.get(&key, "users/a/uploads/1/thumb.jpg").await.unwrap(), b"users/a/uploads/1/thumb.jpg");
    assert_eq!(stored(&backup, "previews/p/photo"), None, "only what was asked");
}
