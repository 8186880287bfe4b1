//! Rotating the master key (docs/operations.md): while the new and the old key are both
//! configured, photos and sessions made before the rotation keep working; once the data
//! keys are re-wrapped, the new key alone opens everything and the old one nothing.

use std::path::{Path, PathBuf};

use db::{Db, on_both_backends};
use serde_json::json;
use settings::Settings;

use crate::harness::{TestApp, spawn_on};
use crate::uploads::{ring_jpeg, upload};

fn keyed(current: &Path, previous: Option<&Path>) -> impl FnOnce(&mut Settings) {
    let (current, previous): (PathBuf, Option<PathBuf>) = (current.into(), previous.map(Path::to_path_buf));
    move |s| {
        s.security.master_key_file = current;
        s.security.previous_master_key_file = previous;
    }
}

async fn photos_and_sessions_survive_a_master_key_rotation(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let (old, new, blobs) = (dir.path().join("old.key"), dir.path().join("new.key"), dir.path().join("blobs"));
    let shared = || storage::Blobs::local(&blobs).unwrap();

    let before = spawn_on(db.clone(), shared(), keyed(&old, None)).await;
    let asha = before.signup("rotate@example.com").await;
    let (_, photo) = upload(&before, &asha, "ring.jpg", ring_jpeg(640, 480)).await;
    let original = format!("/api/v1/uploads/{}/original", photo["id"].as_str().unwrap());
    let fetch = |t: &TestApp| t.http.get(t.url(&original)).header("cookie", &asha.cookie).send();
    let bytes = fetch(&before).await.unwrap().bytes().await.unwrap();

    app::keys::Keys::create_new(&new).unwrap();
    assert!(app::keys::Keys::create_new(&new).is_err(), "never written over an existing key");
    let during = spawn_on(db.clone(), shared(), keyed(&new, Some(&old))).await;
    assert_eq!(fetch(&during).await.unwrap().bytes().await.unwrap(), bytes, "the old key still opens the photo");
    // Her CSRF token was made under the old key: it still lets her change things.
    let (status, _, _) = during.call("PATCH", "/api/v1/me", Some(json!({"name": "Asha R"})), Some(&asha)).await;
    assert_eq!(status, 200);
    assert_eq!(during.app.rewrap_keys().await.unwrap(), 1);

    let after = spawn_on(db.clone(), shared(), keyed(&new, None)).await;
    assert_eq!(fetch(&after).await.unwrap().bytes().await.unwrap(), bytes, "the new key alone opens it");
    let stale = spawn_on(db, shared(), keyed(&old, None)).await;
    assert_eq!(fetch(&stale).await.unwrap().status(), 500, "the old key alone opens nothing any more");
}

on_both_backends!(photos_and_sessions_survive_a_master_key_rotation);
