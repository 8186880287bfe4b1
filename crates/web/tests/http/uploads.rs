use db::{Db, on_both_backends};
use serde_json::Value;

use crate::harness::{Browser, TestApp, header, spawn, spawn_on, spawn_with};

/// A ring photographed on white paper, as a phone would save it.
pub fn ring_jpeg(width: u32, height: u32) -> Vec<u8> {
    synth::generate(&synth::SceneSpec::gold_ring(width, height, 7)).jpeg
}

pub async fn upload(t: &TestApp, who: &Browser, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let res = upload_response(t, who, name, bytes).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn upload_response(t: &TestApp, who: &Browser, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()).mime_str("image/png").unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    t.http
        .post(t.url("/api/v1/uploads"))
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .header("sec-fetch-site", "same-origin")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
        }
    }
    out
}

async fn upload_store_read_delete(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("uploads@example.com").await;
    let mallory = t.signup("mallory@example.com").await;
    let photo = ring_jpeg(640, 480);
    // The client's claimed type (image/png) is ignored: content decides.
    let (status, up) = upload(&t, &asha, "../../ring.jpg", photo.clone()).await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(
        (up["width"].as_i64(), up["height"].as_i64(), up["format"].as_str()),
        (Some(640), Some(480), Some("jpeg"))
    );
    assert_eq!(up["filename"], "ring.jpg");
    let id = up["id"].as_str().unwrap();

    let get = |path: String, who: &Browser| t.http.get(t.url(&path)).header("cookie", who.cookie.clone()).send();
    let original = get(format!("/api/v1/uploads/{id}/original"), &asha).await.unwrap();
    assert_eq!(header(original.headers(), "content-type"), "image/jpeg");
    assert_eq!(original.bytes().await.unwrap().to_vec(), photo, "the original comes back byte for byte");
    let thumb = get(format!("/api/v1/uploads/{id}/thumbnail"), &asha).await.unwrap().bytes().await.unwrap();
    let thumb = imaging::decode(&thumb, &imaging::Limits { max_bytes: 1 << 20, max_pixels: 1 << 20 }).unwrap();
    assert_eq!((thumb.width, thumb.height), (480, 360));

    // Nothing readable on disk.
    let blobs = files_under(&t.data_dir.join("blobs"));
    assert_eq!(blobs.len(), 2);
    for f in &blobs {
        let raw = std::fs::read(f).unwrap();
        // Markers of four bytes or more: a 3-byte one turns up in ciphertext by chance.
        for signature in [&photo[..16], b"JFIF", b"Exif"] {
            let found = raw.windows(signature.len()).any(|w| w == signature);
            assert!(!found, "{} holds {signature:?}", f.display());
        }
    }

    // Another user sees none of it.
    for path in [
        format!("/api/v1/uploads/{id}"),
        format!("/api/v1/uploads/{id}/original"),
        format!("/api/v1/uploads/{id}/thumbnail"),
    ] {
        assert_eq!(get(path.clone(), &mallory).await.unwrap().status(), 404, "{path}");
    }
    assert_eq!(t.call("DELETE", &format!("/api/v1/uploads/{id}"), None, Some(&mallory)).await.0, 404);
    let (_, _, list) = t.call("GET", "/api/v1/uploads", None, Some(&mallory)).await;
    assert_eq!(list["uploads"].as_array().unwrap().len(), 0);
    let (_, _, list) = t.call("GET", "/api/v1/uploads", None, Some(&asha)).await;
    assert_eq!(list["uploads"][0]["id"], id);

    assert_eq!(t.call("DELETE", &format!("/api/v1/uploads/{id}"), None, Some(&asha)).await.0, 204);
    assert!(files_under(&t.data_dir.join("blobs")).is_empty(), "stored objects removed");
    assert_eq!(get(format!("/api/v1/uploads/{id}/original"), &asha).await.unwrap().status(), 404);
}

async fn bad_uploads_get_clear_errors(db: Db) {
    let t = spawn_with(db, |s| {
        s.uploads.max_bytes = 200_000;
        s.uploads.max_pixels = 1_000_000;
    })
    .await;
    let b = t.signup("bad@example.com").await;
    let (status, body) = upload(&t, &b, "notes.txt", b"hello, this is not a photo".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_format")));
    let photo = ring_jpeg(320, 240);
    let (status, body) = upload(&t, &b, "cut.jpg", photo[..photo.len() / 2].to_vec()).await;
    assert_eq!(status, 422, "{body}");
    assert!(matches!(body["error"]["code"].as_str(), Some("truncated_image" | "corrupt_image")), "{body}");
    let (status, body) = upload(&t, &b, "huge.jpg", vec![0xFF; 300_000]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("file_too_large")));
    let (status, body) = upload(&t, &b, "big.jpg", ring_jpeg(1400, 1000)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_many_pixels")), "{body}");
    let (status, body) = upload(&t, &b, "empty.jpg", Vec::new()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_multipart")));
    assert!(files_under(&t.data_dir.join("blobs")).is_empty(), "refused uploads store nothing");
}

/// The studio's Delete button: the photo goes, a second tap lands on the studio too, and
/// another seller's photo cannot be deleted through it.
async fn the_studio_deletes_a_photo_once_and_only_its_owners(db: Db) {
    let t = spawn(db).await;
    let owner = t.signup("deletes@example.com").await;
    let other = t.signup("stranger@example.com").await;
    let (_, up) = upload(&t, &owner, "ring.jpg", ring_jpeg(400, 300)).await;
    let delete = format!("/studio/uploads/{}/delete", up["id"].as_str().unwrap());
    let (status, location, _) = t.form(&delete, &other, &[]).await;
    assert_eq!((status, location.as_str()), (303, "/studio?deleted=photo"), "nothing of theirs to delete");
    let original = format!("/api/v1/uploads/{}/original", up["id"].as_str().unwrap());
    assert_eq!(t.call("GET", &original, None, Some(&owner)).await.0, 200, "the stranger's tap deleted nothing");
    for _ in 0..2 {
        let (status, location, _) = t.form(&delete, &owner, &[]).await;
        assert_eq!((status, location.as_str()), (303, "/studio?deleted=photo"));
    }
    assert_eq!(t.call("GET", &original, None, Some(&owner)).await.0, 404);
    let (_, page) = t.page("/studio?deleted=photo", Some(&owner)).await;
    assert!(page.contains("The photo was deleted from our storage."), "{page}");
}

/// Photos kept in a real S3 server that goes down: sellers are told to come back (503 with
/// `Retry-After`, never a 500), nothing half-stored stays behind, and all works after.
async fn a_storage_outage_asks_sellers_to_come_back(db: Db) {
    let Some(mut s3) = storage::testing::S3Server::start() else { return };
    let blobs = storage::Blobs::s3(&s3.bucket(storage::testing::SECRET_KEY)).unwrap();
    let t = spawn_on(db, blobs, |_| {}).await;
    let asha = t.signup("outage@example.com").await;
    let (status, before) = upload(&t, &asha, "ring.jpg", ring_jpeg(640, 480)).await;
    assert_eq!(status, 201, "{before}");
    let id = before["id"].as_str().unwrap();

    s3.stop();
    let refused = upload_response(&t, &asha, "ring-2.jpg", ring_jpeg(640, 480)).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(header(refused.headers(), "retry-after"), "5");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "temporarily_unavailable", "{body}");
    let photo = t.http.get(t.url(&format!("/api/v1/uploads/{id}/original"))).header("cookie", &asha.cookie);
    let photo = photo.send().await.unwrap();
    assert_eq!((photo.status().as_u16(), header(photo.headers(), "retry-after")), (503, "5"));
    let ready = t.http.get(t.url("/readyz")).send().await.unwrap();
    assert_eq!((ready.status().as_u16(), header(ready.headers(), "retry-after")), (503, "5"));

    s3.resume();
    let (status, after) = upload(&t, &asha, "ring-3.jpg", ring_jpeg(640, 480)).await;
    assert_eq!(status, 201, "{after}");
    let listed: Value =
        t.http.get(t.url("/api/v1/uploads")).header("cookie", &asha.cookie).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        listed["uploads"].as_array().unwrap().iter().filter_map(|u| u["filename"].as_str()).collect();
    assert_eq!(names.len(), 2, "the refused upload left no row: {names:?}");
    let stored = files_under(&s3.root().join(storage::testing::BUCKET));
    assert_eq!(stored.len(), 4, "an original and a thumbnail for each stored photo: {stored:?}");
}

/// After a restore, `soraipixel admin verify-blobs` proves the photos came back: every blob a
/// row names opens with its owner's key; a lost one and one that is not what its row
/// names (another object's bytes) are both found.
async fn a_restore_check_opens_every_blob(db: Db) {
    let t = spawn(db).await;
    let asha = t.signup("restore@example.com").await;
    let (_, a) = upload(&t, &asha, "ring.jpg", ring_jpeg(640, 480)).await;
    let (_, b) = upload(&t, &asha, "ring-2.jpg", ring_jpeg(640, 480)).await;
    let check = t.app.verify_blobs().await.unwrap();
    assert_eq!((check.users, check.opened, check.passed()), (1, 4, true), "{check:?}");

    let files = files_under(&t.data_dir.join("blobs"));
    let find = |upload: &Value, name: &str| {
        let id = upload["id"].as_str().unwrap();
        files.iter().find(|p| p.to_string_lossy().contains(id) && p.ends_with(name)).unwrap().clone()
    };
    std::fs::remove_file(find(&b, "thumb.jpg")).unwrap();
    std::fs::copy(find(&a, "original"), find(&b, "original")).unwrap();
    let check = t.app.verify_blobs().await.unwrap();
    assert_eq!((check.opened, check.missing.len(), check.unreadable.len(), check.passed()), (2, 1, 1, false));
    assert!(check.missing[0].ends_with("thumb.jpg") && check.unreadable[0].ends_with("original"), "{check:?}");
}

on_both_backends!(
    a_restore_check_opens_every_blob,
    upload_store_read_delete,
    bad_uploads_get_clear_errors,
    the_studio_deletes_a_photo_once_and_only_its_owners,
    a_storage_outage_asks_sellers_to_come_back
);
