//! GraphiQL, served from tier3 itself so that it works without internet access.
//!
//! `GET /graphql` (without a query) answers with [`page`]; the page loads only
//! `/graphiql/{file}` URLs of this server, answered by [`asset`]. The files live in
//! `assets/graphiql/` and are compiled into the binary: the React and GraphiQL production
//! builds are unmodified copies of the published npm packages, written by
//! `assets/graphiql/update.sh` (which pins their versions and checks their hashes); the
//! page and the small bootstrap script are tier3's own. Every response carries a
//! Content-Security-Policy that lets the page load scripts, styles and connections from
//! this origin only.

use std::sync::LazyLock;

use axum::{
    extract::{Path, RawQuery},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The policy for the page and its assets. Scripts and styles come only from this origin
/// (no inline script, no eval); fonts are data: URLs inside GraphiQL's stylesheet;
/// `connect-src 'self'` covers `fetch` to `/graphql` and the `ws:`/`wss:` socket to
/// `/graphql/ws` on the same host (CSP Level 3 lets `'self'` match the socket).
///
/// Styles set through the DOM (`element.style`, as React and CodeMirror do) are not
/// inline styles and need nothing. The one thing this blocks is the `<style>` element the
/// settings and shortcut dialogs insert to lock the page's scrolling while open; the page
/// never scrolls (`tier3-graphiql.css`), so nothing changes but a console message.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/graphiql/",
                $name
            )),
        }
    };
}

/// Everything under `/graphiql/`.
static ASSETS: &[Asset] = &[
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("graphiql.min.js", JS),
    asset!("graphiql.min.css", CSS),
    asset!("tier3-graphiql.js", JS),
    asset!("tier3-graphiql.css", CSS),
];

/// The page's template: `{file}` stands for that asset's tag.
const PAGE_TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/graphiql/index.html"
));

/// Each asset's tag (a hash of its bytes), in `ASSETS` order: its ETag, and the `?v=`
/// the page adds to its URL so a browser may cache it for good.
static TAGS: LazyLock<Vec<String>> = LazyLock::new(|| ASSETS.iter().map(|a| tag(a.body)).collect());

/// The page with the asset tags filled in.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    ASSETS
        .iter()
        .zip(TAGS.iter())
        .fold(PAGE_TEMPLATE.to_owned(), |html, (asset, tag)| {
            html.replace(&format!("{{{}}}", asset.name), tag)
        })
});

/// A short content hash (64-bit FNV-1a) in hex; it only tells versions apart.
fn tag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The GraphiQL page (small, and never cached, so a new build's asset tags reach the
/// browser at once).
pub fn page() -> Response {
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE.as_str(),
    )
        .into_response();
    secure(resp.headers_mut());
    resp
}

/// `GET /graphiql/{file}`: one of the page's assets, or 404.
pub async fn asset(
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some((asset, tag)) = ASSETS.iter().zip(TAGS.iter()).find(|(a, _)| a.name == file) else {
        let mut resp = StatusCode::NOT_FOUND.into_response();
        secure(resp.headers_mut());
        return resp;
    };
    // The page names the current version; any other URL is checked each time.
    let current = format!("v={tag}");
    let cache = if query.is_some_and(|q| q.split('&').any(|p| p == current)) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    respond(&headers, asset.content_type, tag, cache, asset.body)
}

fn respond(
    request: &HeaderMap,
    content_type: &'static str,
    tag: &str,
    cache: &'static str,
    body: &'static [u8],
) -> Response {
    let etag = format!("\"{tag}\"");
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut resp = body.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        resp
    };
    let headers = resp.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    secure(headers);
    resp
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_tag() {
        let html = &*PAGE;
        assert!(!html.contains("?v={"), "{html}");
        for (asset, tag) in ASSETS.iter().zip(TAGS.iter()) {
            assert!(
                html.contains(&format!("/graphiql/{}?v={tag}\"", asset.name)),
                "{}",
                asset.name
            );
        }
    }
}
