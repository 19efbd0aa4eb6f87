//! Webhook transport: signs a body the [Standard Webhooks] way and POSTs it to one endpoint.
//! Nothing here reads the database or knows what the body says: the caller hands over the
//! URL, a stable message id, the JSON body and the endpoint's active secrets, and records the
//! [`Outcome`].
//!
//! - **Signing** ([`sign`]): `webhook-signature` is a space-separated list of
//!   `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`, one per active secret, so
//!   during a rotation the old and the new secret both sign. A secret is `whsec_` and the
//!   base64 of its key ([`generate_secret`] makes 32 random bytes).
//!   We sign with our own ten lines on `hmac` and `sha2` rather than pull in the reference
//!   crate: the scheme is tiny, and the reference implementation drags in a second `base64`
//!   and its own HMAC. The tests check every request we send with that independent reference
//!   crate (`standardwebhooks`), so a mistake here cannot hide behind a shared one.
//! - **Where we may send** ([`check_url`], [`WebhookSender`]): only http(s), and, unless the
//!   deployment allows private targets, never to a private, loopback, link-local, shared,
//!   unique-local, multicast or otherwise non-public address (SSRF). The URL is checked when an
//!   admin saves it, and again at every connection by a DNS resolver that refuses such
//!   addresses, so a name that later re-resolves to `127.0.0.1` (DNS rebinding) is refused
//!   too. Literal IP URLs skip DNS, so [`WebhookSender::send`] checks those itself.
//! - **What an answer means** ([`Outcome`]): 2xx delivered; 410 the receiver wants no more;
//!   anything else (3xx, which we never follow, other 4xx/5xx, timeouts, refused
//!   connections) is tried again later, on the spec's schedule ([`retry_delay`]) or after
//!   the receiver's `Retry-After`.
//!
//! [Standard Webhooks]: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, Mac};
use reqwest::{
    StatusCode,
    dns::{Addrs, Name, Resolve, Resolving},
    header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER},
    redirect,
};
use sha2::Sha256;
use url::{Host, Url};

/// How a webhook secret starts (the spec's symmetric-secret prefix).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret made by [`generate_secret`].
pub const SECRET_BYTES: usize = 32;
/// The shortest key a secret may hold: the spec asks for at least 24 bytes (192 bits).
pub const MIN_SECRET_BYTES: usize = 24;
/// The longest key a secret may hold: the spec's maximum, 512 bits.
pub const MAX_SECRET_BYTES: usize = 64;
/// The whole-request deadline of [`WebhookSender::new`]; the spec recommends 15 to 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long connecting (DNS and TCP) may take, within the whole-request deadline.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an endpoint is given to resolve in [`check_url`].
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` we honor; a receiver asking for more gets this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("tier3-webhooks/", env!("CARGO_PKG_VERSION"));
/// The longest message id [`sign`] accepts.
pub const MAX_ID_LEN: usize = 256;

/// The message id header: the same on every attempt of one message (the receiver's
/// idempotency key).
pub const HEADER_ID: &str = "webhook-id";
/// The attempt's Unix time in seconds, signed (the receiver's replay check).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The space-separated `v1,<signature>` list.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

// ---------------------------------------------------------------------------------------
// Secrets and signatures
// ---------------------------------------------------------------------------------------

/// A new endpoint secret: `whsec_` and the base64 of [`SECRET_BYTES`] bytes from the
/// thread's CSPRNG (ChaCha, seeded from the operating system).
pub fn generate_secret() -> String {
    let key: [u8; SECRET_BYTES] = rand::random();
    format!("{SECRET_PREFIX}{}", BASE64.encode(key))
}

/// Why a secret (or a message id) cannot sign. The messages never repeat the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the endpoint has no active secret to sign with")]
    NoSecrets,
    #[error("a webhook secret starts with `whsec_`")]
    MissingPrefix,
    #[error("a webhook secret is `whsec_` followed by base64")]
    NotBase64,
    #[error("a webhook secret holds 24 to 64 bytes, this one holds {0}")]
    Length(usize),
    /// The id is signed as `{id}.{timestamp}.{body}`, so it may hold no `.` (the spec warns
    /// of that), and it travels as a header, so it is printable ASCII.
    #[error("a webhook id is 1 to 256 printable ASCII characters without spaces or `.`")]
    InvalidId,
}

/// The HMAC key of a `whsec_…` secret, checked for the spec's length.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::MissingPrefix)?;
    let key = BASE64
        .decode(encoded.trim())
        .map_err(|_| SecretError::NotBase64)?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err(SecretError::Length(key.len()));
    }
    Ok(key)
}

fn check_id(id: &str) -> Result<(), SecretError> {
    let fits = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'.');
    if fits {
        Ok(())
    } else {
        Err(SecretError::InvalidId)
    }
}

/// The `webhook-signature` header value for one attempt: `v1,<base64 HMAC>` for each secret,
/// space-separated, in the order given.
pub fn sign(
    secrets: &[String],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    check_id(id)?;
    if secrets.is_empty() {
        return Err(SecretError::NoSecrets);
    }
    let timestamp = timestamp.to_string();
    let mut header = String::new();
    for secret in secrets {
        let key = secret_key(secret)?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str("v1,");
        header.push_str(&BASE64.encode(mac.finalize().into_bytes()));
    }
    Ok(header)
}

// ---------------------------------------------------------------------------------------
// Which addresses are off limits
// ---------------------------------------------------------------------------------------

/// Why an address is not a public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrKind {
    /// 10/8, 172.16/12, 192.168/16, and the deprecated IPv6 site-local fec0::/10.
    Private,
    /// 100.64/10, carrier-grade NAT.
    Shared,
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16 (where cloud metadata lives), fe80::/10.
    LinkLocal,
    /// 0/8, ::.
    Unspecified,
    /// fc00::/7.
    UniqueLocal,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 192.0.0/24, 198.18/15 (benchmarking), 240/4, IPv4-compatible ::/96, 100::/64, and
    /// the local-use NAT64 prefix 64:ff9b:1::/48.
    Reserved,
}

impl AddrKind {
    /// The kind with its article: "a loopback", "the unspecified".
    fn with_article(self) -> &'static str {
        match self {
            AddrKind::Private => "a private",
            AddrKind::Shared => "a shared (carrier-grade NAT)",
            AddrKind::Loopback => "a loopback",
            AddrKind::LinkLocal => "a link-local",
            AddrKind::Unspecified => "an unspecified",
            AddrKind::UniqueLocal => "a unique-local",
            AddrKind::Multicast => "a multicast",
            AddrKind::Broadcast => "the broadcast",
            AddrKind::Documentation => "a documentation",
            AddrKind::Reserved => "a reserved",
        }
    }
}

impl fmt::Display for AddrKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.with_article();
        f.write_str(word.split_once(' ').map_or(word, |(_, kind)| kind))
    }
}

/// What keeps `ip` from being a public address, or `None` if it is one. IPv6 forms that
/// carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
/// `2002:aabb:ccdd::`) are judged by that IPv4 address.
pub fn classify(ip: IpAddr) -> Option<AddrKind> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddrKind> {
    if ip.is_broadcast() {
        return Some(AddrKind::Broadcast);
    }
    let kind = match ip.octets() {
        [0, ..] => AddrKind::Unspecified,
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => AddrKind::Private,
        [100, 64..=127, ..] => AddrKind::Shared,
        [127, ..] => AddrKind::Loopback,
        [169, 254, ..] => AddrKind::LinkLocal,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => AddrKind::Documentation,
        [192, 0, 0, _] | [198, 18..=19, ..] | [240..=255, ..] => AddrKind::Reserved,
        [224..=239, ..] => AddrKind::Multicast,
        _ => return None,
    };
    Some(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddrKind> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        return Some(AddrKind::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddrKind::Loopback);
    }
    let s = ip.segments();
    let o = ip.octets();
    let embedded = |at: usize| Ipv4Addr::new(o[at], o[at + 1], o[at + 2], o[at + 3]);
    match s {
        // IPv4-compatible (deprecated): nothing legitimate lives here.
        [0, 0, 0, 0, 0, 0, _, _] => Some(AddrKind::Reserved),
        // NAT64 well-known prefix: a translator forwards to the embedded IPv4 address.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => classify_v4(embedded(12)),
        [0x64, 0xff9b, 1, ..] => Some(AddrKind::Reserved),
        // 6to4: the relay forwards to the embedded IPv4 address.
        [0x2002, ..] => classify_v4(embedded(2)),
        [0x0100, 0, 0, 0, ..] => Some(AddrKind::Reserved),
        [0x2001, 0x0db8, ..] => Some(AddrKind::Documentation),
        [0x3fff, 0x0000..=0x0fff, ..] => Some(AddrKind::Documentation),
        [0xfe80..=0xfebf, ..] => Some(AddrKind::LinkLocal),
        [0xfec0..=0xfeff, ..] => Some(AddrKind::Private),
        [0xfc00..=0xfdff, ..] => Some(AddrKind::UniqueLocal),
        [0xff00..=0xffff, ..] => Some(AddrKind::Multicast),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Endpoint URLs
// ---------------------------------------------------------------------------------------

/// Why an endpoint URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not a valid URL: {0}")]
    Malformed(String),
    #[error("only http and https URLs can receive webhooks, not {0}:")]
    NotHttp(String),
    #[error("the URL has no host")]
    NoHost,
    /// A user name or password would travel as Basic credentials and sit in plain sight in
    /// the endpoint list; the receiver authenticates us by the signature instead.
    #[error(
        "the URL must not carry a user name or password (receivers check the webhook signature instead)"
    )]
    Credentials,
    #[error("{}", forbidden(.host, .addr, *.kind))]
    Forbidden {
        /// The host as written in the URL (a name, or the literal address).
        host: String,
        /// The offending address.
        addr: IpAddr,
        kind: AddrKind,
    },
    #[error("{host} does not resolve: {reason}")]
    Unresolvable { host: String, reason: String },
}

fn forbidden(host: &str, addr: &IpAddr, kind: AddrKind) -> String {
    let article = kind.with_article();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if literal.parse::<IpAddr>().is_ok() {
        format!("{host} is {article} address; webhooks go only to public addresses")
    } else {
        format!(
            "{host} resolves to {addr}, {article} address; webhooks go only to public addresses"
        )
    }
}

/// Parses and normalizes an endpoint URL without resolving it: http(s), a host, no
/// credentials, no fragment.
fn parse_endpoint(url: &str) -> Result<Url, UrlError> {
    let mut parsed = Url::parse(url.trim()).map_err(|e| UrlError::Malformed(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp(parsed.scheme().to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlError::Credentials);
    }
    parsed.set_fragment(None);
    Ok(parsed)
}

/// The URL's address if its host is a literal IP (`http://10.0.0.1/`, `http://[::1]/`).
fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

fn refuse_if_forbidden(host: &str, addr: IpAddr) -> Result<(), UrlError> {
    match classify(addr) {
        Some(kind) => Err(UrlError::Forbidden {
            host: host.to_owned(),
            addr,
            kind,
        }),
        None => Ok(()),
    }
}

/// Resolves `host` and refuses it if any of its addresses is not public (unless
/// `allow_private`). The one rule both [`check_url`] and the sender's resolver apply.
async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, UrlError> {
    let unresolvable = |reason: String| UrlError::Unresolvable {
        host: host.to_owned(),
        reason,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| unresolvable(short_io_message(&e)))?
        .collect();
    if addrs.is_empty() {
        return Err(unresolvable("no addresses".to_owned()));
    }
    if !allow_private {
        for addr in &addrs {
            refuse_if_forbidden(host, addr.ip())?;
        }
    }
    Ok(addrs)
}

/// Checks an endpoint URL when an admin creates or updates it: it parses, it is http or
/// https, it carries no credentials, and its host resolves (within [`RESOLVE_TIMEOUT`]) to
/// public addresses only — every one of them, so a name with one internal address among
/// public ones is refused too. `allow_private` lifts the address rule (a lab, or an
/// integration inside the same network), not the others. Returns the normalized URL
/// (lower-case scheme and host, `/` path when empty, no fragment).
///
/// Passing this once does not make later sends safe by itself (a name can re-resolve); the
/// [`WebhookSender`] applies the same rule at every connection.
pub async fn check_url(url: &str, allow_private: bool) -> Result<String, UrlError> {
    let parsed = parse_endpoint(url)?;
    let host = parsed.host_str().ok_or(UrlError::NoHost)?;
    if let Some(ip) = literal_ip(&parsed) {
        if !allow_private {
            refuse_if_forbidden(host, ip)?;
        }
    } else {
        let port = parsed.port_or_known_default().unwrap_or(443);
        tokio::time::timeout(RESOLVE_TIMEOUT, resolve(host, port, allow_private))
            .await
            .map_err(|_| UrlError::Unresolvable {
                host: host.to_owned(),
                reason: format!("no answer within {}", human(RESOLVE_TIMEOUT)),
            })??;
    }
    Ok(parsed.into())
}

/// The sender's DNS resolver when private targets are not allowed: resolves as the system
/// does, then refuses the name if any address is not public. Runs at every new connection.
#[derive(Debug, Clone, Copy)]
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&host, 0, false).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Try again later. `error` is short and meant for an admin ("HTTP 500", "connection
    /// refused", "timed out after 15 s"); `after` is the receiver's `Retry-After` (seconds or
    /// an HTTP date, at most [`MAX_RETRY_AFTER`]) on a 429 or 503 that sent one. The caller
    /// waits at least that, and otherwise follows [`retry_delay`].
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// 410 Gone: the receiver asks us to stop; the caller disables the endpoint.
    Gone,
}

/// Posts signed webhooks. Cheap to clone (one shared connection pool).
///
/// The client follows no redirects (the spec: a 3xx is a failure, the URL should be
/// updated), ignores proxy settings from the environment (the address rule has to see the
/// real destination), and, unless `allow_private`, resolves names through [`PublicOnly`].
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl WebhookSender {
    /// A sender with the [`DEFAULT_TIMEOUT`] of 15 s.
    ///
    /// # Panics
    /// If the TLS backend cannot start (the same failure `reqwest::Client::new` panics on).
    pub fn new(allow_private: bool) -> WebhookSender {
        WebhookSender::with_timeout(allow_private, DEFAULT_TIMEOUT)
    }

    /// A sender whose requests must complete within `timeout` (connecting within the
    /// shorter of it and [`CONNECT_TIMEOUT`]). For tests and drills; production uses
    /// [`WebhookSender::new`].
    pub fn with_timeout(allow_private: bool, timeout: Duration) -> WebhookSender {
        let mut builder = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .user_agent(USER_AGENT)
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().expect("build the webhook HTTP client");
        WebhookSender {
            client,
            allow_private,
            timeout,
        }
    }

    /// The whole-request deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether private, loopback and link-local targets are allowed.
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// One delivery attempt: POSTs `body` (JSON) to `url` with `id`, the current time and
    /// one signature per secret, and tells what the receiver's answer means. The response
    /// body is not read. Never panics and never fails: every problem, ours included (a bad
    /// secret, a refused address), is an [`Outcome::Retry`] with a readable error.
    pub async fn send(&self, url: &str, id: &str, body: &[u8], secrets: &[String]) -> Outcome {
        match self.try_send(url, id, body, secrets).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Retry { error, after: None },
        }
    }

    async fn try_send(
        &self,
        url: &str,
        id: &str,
        body: &[u8],
        secrets: &[String],
    ) -> Result<Outcome, String> {
        let target = parse_endpoint(url).map_err(|e| e.to_string())?;
        if !self.allow_private
            && let Some(ip) = literal_ip(&target)
        {
            let host = target.host_str().unwrap_or_default();
            refuse_if_forbidden(host, ip).map_err(|e| e.to_string())?;
        }
        let timestamp = unix_now(SystemTime::now());
        let signature =
            sign(secrets, id, timestamp, body).map_err(|e| format!("cannot sign: {e}"))?;
        let response = self
            .client
            .post(target)
            .header(CONTENT_TYPE, "application/json")
            .header(HEADER_ID, id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_SIGNATURE, signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| describe_error(&e, self.timeout))?;
        Ok(judge(
            response.status(),
            response.headers(),
            SystemTime::now(),
        ))
    }
}

fn unix_now(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What a status means (the spec's "Delivery success and failure").
fn judge(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Delivered { status: code };
    }
    if status == StatusCode::GONE {
        return Outcome::Gone;
    }
    if status.is_redirection() {
        return Outcome::Retry {
            error: format!("redirect (HTTP {code}) not followed"),
            after: None,
        };
    }
    let after = match status {
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now)),
        _ => None,
    };
    Outcome::Retry {
        error: format!("HTTP {code}"),
        after,
    }
}

/// A `Retry-After` value as a wait from `now`: delay-seconds, or an HTTP date in any of the
/// three forms HTTP allows (IMF-fixdate, RFC 850, asctime). A date in the past is zero; more
/// than [`MAX_RETRY_AFTER`] is capped to it; anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    use chrono::{DateTime, NaiveDateTime, Utc};

    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only overflow can fail, and that is "very long".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at: DateTime<Utc> = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(value, "%A, %d-%b-%y %H:%M:%S GMT").map(|d| d.and_utc())
        })
        .or_else(|_| {
            NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y").map(|d| d.and_utc())
        })
        .ok()?;
    let at = SystemTime::from(at);
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// A transport failure in a few words: what the admin needs, not the stack of layers.
fn describe_error(error: &reqwest::Error, timeout: Duration) -> String {
    let chain = || {
        std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    // Refused by our own resolver (a name that resolves to an internal address).
    if let Some(refused) = chain().find_map(|e| e.downcast_ref::<UrlError>()) {
        return refused.to_string();
    }
    if error.is_timeout() {
        return if error.is_connect() {
            format!(
                "could not connect within {}",
                human(CONNECT_TIMEOUT.min(timeout))
            )
        } else {
            format!("timed out after {}", human(timeout))
        };
    }
    if let Some(io) = chain().find_map(|e| e.downcast_ref::<std::io::Error>()) {
        use std::io::ErrorKind;
        let known = match io.kind() {
            ErrorKind::ConnectionRefused => Some("connection refused"),
            ErrorKind::ConnectionReset => Some("connection reset by the receiver"),
            ErrorKind::ConnectionAborted => Some("connection aborted"),
            ErrorKind::HostUnreachable => Some("host unreachable"),
            ErrorKind::NetworkUnreachable => Some("network unreachable"),
            ErrorKind::AddrNotAvailable => Some("address not available"),
            ErrorKind::TimedOut => Some("connection timed out"),
            _ => None,
        };
        if let Some(known) = known {
            return known.to_owned();
        }
    }
    let innermost = chain().last().map(|e| e.to_string()).unwrap_or_default();
    let innermost = strip_os_error(&innermost);
    if error.is_connect() {
        format!("could not connect: {innermost}")
    } else {
        format!("request failed: {innermost}")
    }
}

fn short_io_message(error: &std::io::Error) -> String {
    strip_os_error(&error.to_string()).to_owned()
}

/// "Connection refused (os error 111)" → "Connection refused".
fn strip_os_error(message: &str) -> &str {
    match message.rfind(" (os error ") {
        Some(i) if message.ends_with(')') => &message[..i],
        _ => message,
    }
}

/// "15 s", "1500 ms".
fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

// ---------------------------------------------------------------------------------------
// Retry schedule
// ---------------------------------------------------------------------------------------

/// The waits between attempts, from the spec's "Deliverability and reliability" section
/// ("Example retry schedule": immediately, then 5 seconds, 5 minutes, 30 minutes, 2 hours,
/// 5 hours, 10 hours, 14 hours, 20 hours, 24 hours; the last attempt 75:35:05 after the
/// first). The spec also recommends a schedule "spanning multiple days" with some random
/// jitter; jitter, and the deployment's backoff scale, are the caller's.
pub const RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// How long to wait after attempt number `attempt` (1 = the first) failed before the next
/// one, per [`RETRY_SCHEDULE`]; `None` once the schedule is exhausted (after attempt 10),
/// when the delivery is given up. `retry_delay(0)` is zero: the first attempt is immediate.
pub fn retry_delay(attempt: u32) -> Option<Duration> {
    match attempt {
        0 => Some(Duration::ZERO),
        n => RETRY_SCHEDULE.get(n as usize - 1).copied(),
    }
}
