use db::{Db, on_both_backends};
use serde_json::json;

use crate::harness::{header, spawn, spawn_with};

async fn csrf_guards_cookie_mutations(db: Db) {
    let t = spawn(db).await;
    let b = t.signup("csrf@example.com").await;
    let patch = |token: Option<&str>, site: &str| {
        let mut req = t
            .http
            .patch(t.url("/api/v1/me"))
            .header("cookie", &b.cookie)
            .header("sec-fetch-site", site)
            .json(&json!({"company": "Evil"}));
        if let Some(token) = token {
            req = req.header("x-csrf-token", token);
        }
        req.send()
    };
    let res = patch(None, "same-origin").await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "csrf_failed");
    assert_eq!(patch(Some("0".repeat(64).as_str()), "same-origin").await.unwrap().status(), 403);
    assert_eq!(
        patch(Some(&b.csrf), "cross-site").await.unwrap().status(),
        403,
        "cross-site is refused even with a token"
    );
    assert_eq!(patch(Some(&b.csrf), "same-origin").await.unwrap().status(), 200);

    // Without Sec-Fetch-Site, a foreign Origin is refused.
    let res = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "csrf@example.com", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Form posts carry the token as a field.
    let form = |token: &str| {
        t.http
            .post(t.url("/settings"))
            .header("cookie", &b.cookie)
            .form(&[("csrf_token", token), ("name", "Asha Form"), ("email", "csrf@example.com")])
            .send()
    };
    assert_eq!(form("bad").await.unwrap().status(), 403);
    let res = form(&b.csrf).await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "location")), (303, "/settings?saved=1"));
    let (_, _, me) = t.call("GET", "/api/v1/me", None, Some(&b)).await;
    assert_eq!(me["name"], "Asha Form");
}

async fn login_failures_are_limited_per_account(db: Db) {
    let t = spawn_with(db, |s| s.security.login_failures_per_account_15min = 3).await;
    t.signup("target@example.com").await;
    for _ in 0..3 {
        assert_eq!(t.login("target@example.com", "guess guess guess").await.0, 401);
    }
    let (status, _, body) = t.login("target@example.com", "kundan necklace sparkle").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "locked even with the right password"
    );
}

async fn signups_are_limited_per_network(db: Db) {
    let t = spawn_with(db, |s| s.security.signups_per_ip_hour = 2).await;
    t.signup("one@example.com").await;
    t.signup("two@example.com").await;
    let (status, headers, _) = t
        .call(
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "three@example.com", "password": "kundan necklace sparkle", "name": "Three"})),
            None,
        )
        .await;
    assert_eq!(status, 429);
    assert!(!header(&headers, "retry-after").is_empty());
}

async fn headers_limits_and_health(db: Db) {
    let t = spawn(db).await;
    let res = t.http.get(t.url("/")).send().await.unwrap();
    let h = res.headers();
    assert!(header(h, "content-security-policy").contains("script-src 'self'"));
    assert!(header(h, "content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header(h, "x-content-type-options"), "nosniff");
    assert!(!header(h, "x-request-id").is_empty());
    assert!(h.get("strict-transport-security").is_none(), "HSTS only with TLS");

    // The server answers 413 without reading the rest and closes the connection; a client
    // of its own keeps that connection out of the shared pool (reusing it is a broken pipe).
    let big = "x".repeat(200_000);
    let once = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let res = once
        .post(t.url("/api/v1/auth/login"))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"email": big, "password": "p"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let res = t
        .http
        .post(t.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = t.http.post(t.url("/api/v1/auth/login")).body("email=a").send().await.unwrap();
    assert_eq!(res.status(), 415);

    assert_eq!(t.call("GET", "/healthz", None, None).await.2, json!({"status": "ok"}));
    let (status, _, ready) = t.call("GET", "/readyz", None, None).await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert_eq!(t.call("GET", "/api/v1/me", None, None).await.0, 401);
}

/// What an operator's Prometheus reads: the queue's depth from the database, how jobs
/// went, and calls to outside services (here MSG91, through its fake).
async fn metrics_show_the_queue_jobs_and_outside_calls(db: Db) {
    let t = spawn(db).await;
    // Due in an hour: counted by kind, never run by this test's worker.
    let probe = db::queue::NewJob {
        kind: "metrics_probe",
        payload: "{}",
        max_attempts: 1,
        idempotency_key: None,
        user_id: None,
    };
    t.app.db.enqueue(probe, app::now_ms() + 3_600_000).await.unwrap();
    assert_eq!(t.call("POST", "/api/v1/auth/otp/send", Some(json!({"phone": "+919876500001"})), None).await.0, 202);
    let asha = t.signup("metrics@example.com").await;
    let (_, up) = crate::uploads::upload(&t, &asha, "ring.jpg", crate::uploads::ring_jpeg(600, 450)).await;
    let request = json!({"upload_id": up["id"], "engine": "local", "presets": ["amazon"]});
    let (status, _, created) = t.call("POST", "/api/v1/creations", Some(request), Some(&asha)).await;
    assert_eq!(status, 202, "{created}");
    let done = crate::creations::wait_done(&t, &asha, created["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "succeeded");

    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = |start: &str| metrics.lines().find(|l| l.starts_with(start)).map(str::to_owned);
    let number = |start: &str| line(start).and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert_eq!(number("soraipixel_jobs{kind=\"metrics_probe\",state=\"waiting\"}"), Some(0.0), "not due yet");
    assert_eq!(number("soraipixel_jobs{kind=\"metrics_probe\",state=\"running\"}"), Some(0.0));
    assert!(number("soraipixel_provider_calls_total{provider=\"msg91\",result=\"ok\"}").is_some_and(|n| n >= 1.0));
    assert!(line("soraipixel_job_seconds{kind=\"render_creation\",outcome=\"succeeded\"").is_some(), "{metrics}");
    assert!(line("soraipixel_job_wait_seconds{kind=\"render_creation\"").is_some());

    // The example dashboard (docs/) asks only for series that exist.
    let dashboard =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/grafana-dashboard.json")).unwrap();
    let names: std::collections::BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("soraipixel_") || w.starts_with("http_"))
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        assert!(metrics.lines().any(|l| l.starts_with(name)), "the dashboard reads {name}, which /metrics lacks");
    }
}

/// Every operation `/openapi.json` documents exists: anonymous calls get 401 where a
/// sign-in is needed and a validation answer where not, never "no such route".
async fn the_openapi_document_matches_the_routes(db: Db) {
    let t = spawn(db).await;
    let (status, _, doc) = t.call("GET", "/openapi.json", None, None).await;
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            let body = matches!(method.as_str(), "post" | "patch" | "put").then(|| json!({}));
            let url = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
            let (status, _, answer) = t.call(&method.to_uppercase(), &url, body, None).await;
            assert!(![404, 405].contains(&status), "{method} {path} → {status} {answer}");
            if !public {
                assert_eq!(status, 401, "{method} {path} needs a sign-in");
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} operations");
}

/// Policy: essential cookies only (session and currency), and no third-party scripts on
/// any page a visitor or seller sees (Razorpay's loads only on a live checkout page).
async fn only_essential_cookies_and_no_third_party_scripts(db: Db) {
    let t = spawn(db).await;
    let seller = t.signup("cookies@example.com").await;
    let mut names = std::collections::BTreeSet::new();
    for who in [None, Some(&seller)] {
        for path in [
            "/",
            "/pricing",
            "/privacy",
            "/contact",
            "/login",
            "/signup",
            "/dashboard",
            "/studio",
            "/tokens",
            "/billing",
            "/settings",
            "/api/v1/billing/plans",
        ] {
            let mut req = t.http.get(t.url(path)).header("accept-language", "en-IN");
            if let Some(b) = who {
                req = req.header("cookie", &b.cookie);
            }
            let res = req.send().await.unwrap();
            for c in res.headers().get_all("set-cookie") {
                names.insert(c.to_str().unwrap().split('=').next().unwrap().to_owned());
            }
            let html = res.text().await.unwrap();
            assert!(!html.contains("<script src=\"http"), "{path} loads a third-party script");
        }
    }
    names.insert(seller.cookie.split('=').next().unwrap().to_owned()); // as set at sign-up
    let expected: std::collections::BTreeSet<String> =
        ["__Host-sp_currency", "__Host-sp_session"].into_iter().map(str::to_owned).collect();
    assert_eq!(names, expected);
}

/// Throwaway email domains (configurable) are refused at sign-up and on a change of email.
async fn disposable_email_domains_are_refused(db: Db) {
    let t = spawn(db).await;
    for email in ["someone@mailinator.com", "x@eu.yopmail.com"] {
        let body = json!({"email": email, "password": "kundan necklace sparkle", "name": "X"});
        let (status, _, answer) = t.call("POST", "/api/v1/auth/signup", Some(body), None).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("disposable_email")), "{email}");
    }
    let b = t.signup("real@example.com").await;
    let (status, _, answer) = t.call("PATCH", "/api/v1/me", Some(json!({"email": "me@trashmail.com"})), Some(&b)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("disposable_email")));
    let change = json!({"email": "me@mailinator.company.example", "current_password": "kundan necklace sparkle"});
    let (status, _, _) = t.call("PATCH", "/api/v1/me", Some(change), Some(&b)).await;
    assert_eq!(status, 200, "only the listed domains and their subdomains");
}

/// A browser that opens a page and meets an error gets a page in words with the site around
/// it; API clients keep their JSON.
async fn browsers_get_error_pages_in_words(db: Db) {
    let t = spawn_with(db, |s| s.server.request_timeout_secs = 1).await;
    let b = t.signup("lost@example.com").await;
    let open = |path: &str, accept: &'static str, signed_in: bool| {
        let mut req = t.http.get(t.url(path)).header("accept", accept);
        if signed_in {
            req = req.header("cookie", &b.cookie);
        }
        req.send()
    };
    let page = "text/html,application/xhtml+xml,*/*;q=0.8";
    for (path, signed_in, says) in [
        ("/no-such-page", false, "This page is not here"),
        ("/creations/00000000-0000-0000-0000-000000000000", true, "This page is not here"),
        ("/s/not-a-share-link", false, "This page is not here"),
    ] {
        let res = open(path, page, signed_in).await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert!(header(res.headers(), "content-type").starts_with("text/html"), "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says) && html.contains("<nav"), "{path}: {html}");
        assert!(html.contains("It may have been deleted, or the link is not quite right"), "{path}: in words");
        assert!(!html.contains("\"error\""), "{path}: no JSON on the page");
        let back = if signed_in { "Back to the studio" } else { "Go to the home page" };
        assert!(html.contains(back), "{path}");
    }
    // The API answers in JSON whatever the browser accepts; a script asking for JSON too.
    let res = open("/api/v1/creations/00000000-0000-0000-0000-000000000000", page, true).await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "content-type")), (404, "application/json"));
    let res = open("/creations/00000000-0000-0000-0000-000000000000", "application/json", true).await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "content-type")), (404, "application/json"));
    // A form whose upload stalls is cut off by the deadline, outside the inner page layer:
    // the browser still gets words.
    use futures_util::StreamExt;
    let stalled = futures_util::stream::iter([b"--x\r\n".to_vec(), Vec::new()]).then(|chunk| async move {
        if chunk.is_empty() {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let res = t
        .http
        .post(t.url("/studio/upload"))
        .header("accept", page)
        .header("cookie", &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "multipart/form-data; boundary=x")
        .body(reqwest::Body::wrap_stream(stalled))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 408);
    assert!(header(res.headers(), "content-type").starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("That took too long"));
}

/// Search engines get robots.txt and a sitemap whose every page opens for anyone, while
/// sellers' pages, shared links and the API are kept out.
async fn robots_and_sitemap_point_search_engines_at_public_pages(db: Db) {
    let t = spawn_with(db, |s| s.server.public_url = "https://studio.example.com".into()).await;
    let res = t.http.get(t.url("/robots.txt")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), header(res.headers(), "content-type")), (200, "text/plain; charset=utf-8"));
    let robots = res.text().await.unwrap();
    for line in ["User-agent: *", "Disallow: /api/", "Disallow: /studio", "Disallow: /s/", "Disallow: /admin"] {
        assert!(robots.lines().any(|l| l == line), "{line} in {robots}");
    }
    assert!(robots.contains("Sitemap: https://studio.example.com/sitemap.xml"), "{robots}");

    let res = t.http.get(t.url("/sitemap.xml")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(res.headers(), "content-type").starts_with("application/xml"));
    let xml = res.text().await.unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains("sitemaps.org/schemas/sitemap/0.9"), "{xml}");
    let pages: Vec<&str> = xml.split("<loc>").skip(1).map(|s| s.split("</loc>").next().unwrap()).collect();
    assert!(pages.contains(&"https://studio.example.com/pricing"), "{pages:?}");
    for page in pages {
        let path = page.strip_prefix("https://studio.example.com").unwrap();
        assert!(!robots.lines().any(|l| l.strip_prefix("Disallow: ").is_some_and(|p| path.starts_with(p))), "{path}");
        let res = t.http.get(t.url(path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(res.status(), 200, "{path} opens for anyone");
        // Each names itself as the sitemap does, says what it is, and previews when shared.
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("<link rel=\"canonical\" href=\"{page}\">")), "{path}: {html}");
        assert!(html.contains("<meta name=\"description\" content=\""), "{path}");
        assert!(html.contains("<meta property=\"og:image\" content=\"https://studio.example.com/static/"), "{path}");
    }

    // A marketplace page: that preset's own rules, our example, and who we are as data.
    let (status, html) = t.page("/jewellery-photography/amazon", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("pure white (RGB 255, 255, 255)") && html.contains("at least 85% of the frame"), "{html}");
    assert!(html.contains("/static/examples/chain-1000000-after.jpg"), "{html}");
    let data = html.split("<script type=\"application/ld+json\">").nth(1).unwrap().split("</script>").next().unwrap();
    let data: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        (data["@type"].as_str(), data["url"].as_str()),
        (Some("Organization"), Some("https://studio.example.com/"))
    );
    let (_, pricing) = t.page("/pricing", None).await;
    let data =
        pricing.split("<script type=\"application/ld+json\">").nth(1).unwrap().split("</script>").next().unwrap();
    let data: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["@type"], "Product");
    assert!(data["offers"].as_array().is_some_and(|o| !o.is_empty() && o[0]["price"].is_string()), "{data}");
    assert_eq!(t.page("/jewellery-photography/ebay-or-whatever", None).await.0, 404);
    // Sellers' pages are not described to the world.
    let seller = t.signup("asha@example.com").await;
    let (_, dashboard) = t.page("/dashboard", Some(&seller)).await;
    assert!(!dashboard.contains("rel=\"canonical\"") && !dashboard.contains("og:url"));
}

on_both_backends!(
    browsers_get_error_pages_in_words,
    robots_and_sitemap_point_search_engines_at_public_pages,
    disposable_email_domains_are_refused,
    only_essential_cookies_and_no_third_party_scripts,
    the_openapi_document_matches_the_routes,
    csrf_guards_cookie_mutations,
    login_failures_are_limited_per_account,
    signups_are_limited_per_network,
    headers_limits_and_health,
    metrics_show_the_queue_jobs_and_outside_calls
);
