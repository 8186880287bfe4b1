//! The S3 backend against an in-repo fake S3 that speaks the protocol object_store uses
//! (path-style PUT/GET/HEAD/DELETE on objects, ListObjectsV2, DeleteObjects) and refuses requests without a
//! SigV4 authorization for the configured access key (it does not recompute signatures).
//! What it stores is sealed like on disk.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use storage::{Blobs, DataKey, S3Bucket, StorageError};

type Objects = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

const MODIFIED: &str = "2026-11-27T10:00:00.000Z";

fn signed(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential=TESTKEY/") && v.contains("/s3/aws4_request"))
}

async fn object(
    State(objects): State<Objects>,
    Path((bucket, key)): Path<(String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bucket != "photos" || !signed(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut objects = objects.lock().unwrap();
    match method.as_str() {
        "PUT" => {
            objects.insert(key, body.to_vec());
            (StatusCode::OK, [("etag", "\"e\"")]).into_response()
        }
        "GET" | "HEAD" => match objects.get(&key) {
            Some(data) => {
                let headers = [("etag", "\"e\"".to_owned()), ("last-modified", "Fri, 27 Nov 2026 10:00:00 GMT".into())];
                let body = if method == "HEAD" { Vec::new() } else { data.clone() };
                let mut response = (headers, body).into_response();
                response.headers_mut().insert("content-length", data.len().into());
                response
            }
            None => (StatusCode::NOT_FOUND, "<Error><Code>NoSuchKey</Code></Error>").into_response(),
        },
        "DELETE" => {
            objects.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

async fn list(
    State(objects): State<Objects>,
    Path(bucket): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if bucket != "photos" || !signed(&headers) || q.get("list-type").map(String::as_str) != Some("2") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let prefix = q.get("prefix").cloned().unwrap_or_default();
    let contents: String = objects
        .lock()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(k, v)| {
            format!(
                "<Contents><Key>{k}</Key><Size>{}</Size><LastModified>{MODIFIED}</LastModified><ETag>\"e\"</ETag></Contents>",
                v.len()
            )
        })
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>photos</Name><Prefix>{prefix}</Prefix>\
         <IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
    );
    ([("content-type", "application/xml")], xml).into_response()
}

/// DeleteObjects: `POST /{bucket}?delete` with `<Delete><Object><Key>…</Key></Object>…</Delete>`.
async fn delete_many(
    State(objects): State<Objects>,
    Path(bucket): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if bucket != "photos" || !signed(&headers) || !q.contains_key("delete") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut objects = objects.lock().unwrap();
    let deleted: String = body
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key))
        .map(|key| {
            objects.remove(key);
            format!("<Deleted><Key>{key}</Key></Deleted>")
        })
        .collect();
    let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult>{deleted}</DeleteResult>");
    ([("content-type", "application/xml")], xml).into_response()
}

async fn fake_s3() -> (String, Objects) {
    let objects: Objects = Arc::default();
    let app = axum::Router::new()
        .route("/{bucket}", get(list).post(delete_many))
        .route("/{bucket}/{*key}", axum::routing::any(object))
        .with_state(objects.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), objects)
}

fn bucket<'a>(endpoint: &'a str, secret: &'a str) -> S3Bucket<'a> {
    S3Bucket {
        name: "photos",
        region: "ap-south-1",
        endpoint: Some(endpoint),
        access_key_id: "TESTKEY",
        secret_access_key: secret,
        allow_http: true,
    }
}

#[tokio::test]
async fn blobs_round_trip_through_an_s3_compatible_bucket() {
    let (endpoint, objects) = fake_s3().await;
    let blobs = Blobs::s3(&bucket(&endpoint, "secret")).unwrap();
    blobs.ping().await.unwrap();
    let key = DataKey::generate();
    let photo = b"\xFF\xD8\xFF\xE0 a photo".repeat(10_000);
    blobs.put(&key, "users/a/uploads/1/original", &photo).await.unwrap();
    let stored = objects.lock().unwrap().get("users/a/uploads/1/original").cloned().unwrap();
    // A 3-byte marker turns up in 140 KB of ciphertext about once in a hundred runs; the
    // whole 12-byte header cannot.
    assert!(stored.starts_with(b"SPX1") && !stored.windows(12).any(|w| w == &photo[..12]), "sealed in the bucket");
    assert_eq!(blobs.get(&key, "users/a/uploads/1/original").await.unwrap(), photo);
    assert!(matches!(blobs.get(&DataKey::generate(), "users/a/uploads/1/original").await, Err(StorageError::Corrupt)));

    blobs.put(&key, "users/a/creations/c/0.jpg", b"image").await.unwrap();
    blobs.put(&key, "users/b/uploads/2/original", b"other").await.unwrap();
    let listed: Vec<String> = blobs.list("users/a").await.unwrap().into_iter().map(|b| b.path).collect();
    assert_eq!(listed, ["users/a/creations/c/0.jpg", "users/a/uploads/1/original"]);
    blobs.delete("users/a/creations/c/0.jpg").await.unwrap();
    blobs.delete("users/a/creations/c/0.jpg").await.unwrap();
    assert!(matches!(blobs.get(&key, "users/a/creations/c/0.jpg").await, Err(StorageError::NotFound)));
    assert_eq!(blobs.remove_stale_staging(i64::MAX).await.unwrap(), 0, "no staging files outside the local backend");
}
