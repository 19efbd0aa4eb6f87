//! One-click unsubscribe (RFC 8058): the link in every mail's `List-Unsubscribe` header.
//!
//! `POST /unsubscribe?token=…` with the body `List-Unsubscribe=One-Click` turns that mail
//! category off for the token's user and answers 200 — no cookie, no other credential, no
//! redirect, as mail providers call it. `GET` only shows a page with a button that posts the
//! same thing: link scanners and prefetchers fetch URLs in mail, so a `GET` must change
//! nothing. A token that is not ours answers 404 and changes nothing.

use axum::{
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use entity::MailCategory;
use serde::Deserialize;

use crate::{
    domain::notify::preferences, error::AppError, http::Edge, outbound::mail::escape_html,
};

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /unsubscribe`: the confirmation page.
pub async fn page(State(Edge { app, .. }): State<Edge>, Query(q): Query<TokenQuery>) -> Response {
    match preferences::lookup(&app.db, &q.token).await {
        Ok(category) => html(
            StatusCode::OK,
            &format!(
                "<h1>Unsubscribe</h1><p>Stop receiving {} emails from tier3?</p>\
                 <form method=\"post\" action=\"?token={}\">\
                 <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
                 <button type=\"submit\">Unsubscribe</button></form>\
                 <p>You can turn them on again in your notification preferences.</p>",
                name(category),
                escape_html(&urlencode(&q.token)),
            ),
        ),
        Err(err) => failure(err),
    }
}

/// Whether the body says `List-Unsubscribe=One-Click`, form-encoded (what mail providers
/// send) or as a `multipart/form-data` field (the example in RFC 8058 §3.1).
fn is_one_click(content_type: &str, body: &str) -> bool {
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        // Each part: headers, a blank line, the value. Small enough to read by hand; a
        // multipart crate for one field would be more code than this.
        return body.split("\r\n--").chain(body.split("\n--")).any(|part| {
            let Some((head, value)) = part
                .split_once("\r\n\r\n")
                .or_else(|| part.split_once("\n\n"))
            else {
                return false;
            };
            head.to_ascii_lowercase()
                .contains("name=\"list-unsubscribe\"")
                && value.trim() == "One-Click"
        });
    }
    serde_urlencoded::from_str::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

/// `POST /unsubscribe`: turns the category off.
pub async fn one_click(
    State(Edge { app, .. }): State<Edge>,
    Query(q): Query<TokenQuery>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_one_click(content_type, &body) {
        return html(
            StatusCode::BAD_REQUEST,
            "<h1>Not unsubscribed</h1><p>The request must carry \
             <code>List-Unsubscribe=One-Click</code> (RFC 8058).</p>",
        );
    }
    match preferences::unsubscribe(&app.db, &q.token).await {
        Ok(category) => html(
            StatusCode::OK,
            &format!(
                "<h1>Unsubscribed</h1><p>You will no longer receive {} emails from tier3.</p>",
                name(category)
            ),
        ),
        Err(err) => failure(err),
    }
}

fn name(c: MailCategory) -> &'static str {
    match c {
        MailCategory::ReleaseNotes => "release note",
        MailCategory::TicketUpdates => "ticket update",
    }
}

fn failure(err: AppError) -> Response {
    match err {
        AppError::NotFound => html(
            StatusCode::NOT_FOUND,
            "<h1>Link not recognised</h1><p>This unsubscribe link is not valid. Nothing was \
             changed.</p>",
        ),
        err => {
            tracing::warn!(error = %err, "unsubscribe failed");
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<h1>Try again later</h1><p>Nothing was changed.</p>",
            )
        }
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("t", s)])
        .map(|q| q.trim_start_matches("t=").to_owned())
        .unwrap_or_default()
}

fn html(status: StatusCode, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>tier3</title></head>\
         <body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\">{body}</body></html>"
    );
    let mut res = (status, page).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::is_one_click;

    #[test]
    fn one_click_bodies() {
        let form = "application/x-www-form-urlencoded";
        assert!(is_one_click(form, "List-Unsubscribe=One-Click"));
        assert!(!is_one_click(form, "List-Unsubscribe=Yes"));
        assert!(!is_one_click(form, ""));
        let multipart = "multipart/form-data; boundary=XyZ";
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n\
                    One-Click\r\n--XyZ--\r\n";
        assert!(is_one_click(multipart, body));
        assert!(!is_one_click(
            multipart,
            &body.replace("One-Click", "Two-Clicks")
        ));
        assert!(!is_one_click(multipart, "List-Unsubscribe=One-Click"));
    }
}
