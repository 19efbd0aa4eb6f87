//! GraphiQL works offline: the page and everything it loads come from tier3 itself.

mod common;

use common::TestApp;
use reqwest::{StatusCode, header};

/// Hosts a page would use to load the IDE from the internet.
const CDN_HOSTS: &[&str] = &[
    "unpkg.com",
    "cdn.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "esm.sh",
    "cdn.skypack.dev",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "graphql.org",
];

/// The values of every `src="…"` and `href="…"` attribute in `html`.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').expect("a closed attribute");
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

fn assert_secured(headers: &header::HeaderMap, what: &str) {
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(script_src, "script-src 'self'", "{what}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
}

async fn page(app: &TestApp) -> String {
    let res = app
        .client
        .get(app.url("/graphql"))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        res.headers()
    );
    assert_secured(res.headers(), "the page");
    res.text().await.unwrap()
}

#[tokio::test]
async fn the_page_and_its_assets_come_from_this_server() {
    let app = TestApp::spawn().await;
    let html = page(&app).await;
    assert!(html.contains("id=\"graphiql\""), "{html}");

    // No other origin anywhere in the page: no scheme, no protocol-relative URL.
    for external in ["http:", "https:", "ws:", "wss:", "//"] {
        assert!(!html.contains(external), "{external} in the page:\n{html}");
    }
    // No inline script: every script element names a same-origin file and has no body.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/graphiql/").count(),
        "{html}"
    );
    assert_eq!(
        html.matches("<script").count(),
        html.matches("\"></script>").count(),
        "{html}"
    );
    assert!(
        !html.contains(" style="),
        "inline style in the page:\n{html}"
    );

    let refs = references(&html);
    let assets: Vec<&String> = refs.iter().filter(|r| r.as_str() != "data:,").collect();
    let scripts = assets.iter().filter(|r| r.contains(".js?")).count();
    let styles = assets.iter().filter(|r| r.contains(".css?")).count();
    assert!(scripts >= 4, "React, ReactDOM, GraphiQL and ours: {refs:?}");
    assert!(styles >= 1, "{refs:?}");
    assert_eq!(scripts + styles, assets.len(), "{refs:?}");

    for url in assets {
        assert!(url.starts_with("/graphiql/"), "{url}");
        let res = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let headers = res.headers().clone();
        assert_secured(&headers, url);
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
        let expected = if url.contains(".js?") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(content_type.starts_with(expected), "{url}: {content_type}");
        // The page names each file's current version, so it may be cached for good.
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{url}: {headers:?}"
        );
        let etag = headers[header::ETAG].clone();
        let body = res.text().await.unwrap();
        assert!(body.len() > 100, "{url}");
        for host in CDN_HOSTS {
            assert!(!body.contains(host), "{url} names {host}");
        }
        if expected == "text/css" {
            // Stylesheets load nothing but data: URLs (GraphiQL's fonts).
            for (at, _) in body.match_indices("url(") {
                let target = body[at + 4..].trim_start_matches(['"', '\'']);
                assert!(target.starts_with("data:"), "{url}: {}", &target[..40]);
            }
            assert!(!body.contains("@import"), "{url}");
        }

        // A browser that has the file is told it is still current.
        let res = app
            .client
            .get(app.url(url))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{url}");
    }
}

#[tokio::test]
async fn only_the_pages_assets_are_served() {
    let app = TestApp::spawn().await;
    for path in [
        "/graphiql/",
        "/graphiql/nope.js",
        "/graphiql/index.html",
        "/graphiql/LICENSE.graphiql",
        "/graphiql/update.sh",
        "/graphiql/%2e%2e%2fCargo.toml",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Without the page's version tag a file is served, but checked again next time.
    let res = app
        .client
        .get(app.url("/graphiql/graphiql.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(res.headers().contains_key(header::ETAG));
}

#[tokio::test]
async fn turning_graphiql_off_removes_its_assets_too() {
    let app = TestApp::spawn_with(|c| c.http.graphiql = false).await;
    let res = app
        .client
        .get(app.url("/graphql"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .client
        .get(app.url("/graphiql/graphiql.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
