//! Mail transport: turns one rendered [`Mail`] into a MIME message and hands it to an SMTP
//! server, or writes it as an `.eml` file under the data directory when no server is set.
//! Pure transport: it knows nothing of tickets, who wants mail or when to retry; the caller
//! decides those, the last from [`SendError`].
//!
//! Why lettre: one maintained crate builds multipart messages with correct RFC 2047 and
//! quoted-printable encoding and header folding, speaks SMTP on tokio (STARTTLS, implicit
//! TLS with rustls, AUTH, a connection pool), signs with DKIM (RSA and Ed25519) and has a
//! file transport for development. Hand-written MIME and SMTP would be more code to get
//! wrong in exactly the places (encoding, injection, TLS) that matter.

use std::{
    fmt, fs,
    path::Path,
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::{Context as _, anyhow, bail};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use lettre::{
    Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        dkim::{
            DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
            DkimSigningKey,
        },
        header::{Header, HeaderName, HeaderValue},
    },
    transport::smtp::{
        self, AsyncSmtpTransportBuilder, PoolConfig,
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use url::Url;

use crate::config::{NotifyOptions, Secret};

/// Longest subject we send, in characters; longer ones are cut and end in `…`.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest recipient display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Per SMTP command (connect, each reply): a dead server costs one attempt this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest `List-Unsubscribe` URL: lettre does not fold inside a URL, and a header line
/// may not pass 998 characters (RFC 5322 §2.1.1).
const MAX_URL_LEN: usize = 900;

/// Headers the DKIM signature covers. RFC 8058 §4 asks for `List-Unsubscribe` and
/// `List-Unsubscribe-Post`; a listed header a message lacks is signed as absent, so nobody
/// can add it later. Not `Content-Type`: lettre writes the multipart's `Content-Type` with
/// the body, outside the header set it signs, so listing it would break every signature.
const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
];

/// One message, already rendered by the caller.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The recipient's display name (user text: sanitized here).
    pub to_name: Option<String>,
    /// User text inside: control characters become spaces, long ones are cut.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part; the caller escapes what it interpolates ([`escape_html`]).
    pub html: String,
    /// `left@right` without angle brackets; the caller keeps it stable across retries so a
    /// retried message is recognisably the same message.
    pub message_id: String,
    /// A Message-ID (no brackets) this one answers, for threading.
    pub in_reply_to: Option<String>,
    /// Message-IDs (no brackets) of the thread, oldest first.
    pub references: Vec<String>,
    /// An `https`/`http` URL: becomes `List-Unsubscribe: <url>` and, for one-click
    /// unsubscribe (RFC 8058), `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_unsubscribe: Option<String>,
}

/// Why a message was not sent, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: connection refused, timeout, TLS or network trouble, a 4xx reply,
    /// the server refusing our credentials, a full disk.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: the server refused the recipient or message with a 5xx, or
    /// the message cannot be built (bad address or Message-ID).
    #[error("{0}")]
    Permanent(String),
}

/// Sends [`Mail`] over SMTP or into `.eml` files. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    dkim: Option<DkimConfig>,
    transport: Transport,
    /// Where mail goes, for logs; never holds the password.
    description: String,
}

enum Transport {
    Smtp {
        builder: AsyncSmtpTransportBuilder,
        /// Built on the first send: lettre's pool spawns its cleanup task when it is
        /// created, which needs a running tokio runtime, and `from_options` may run before
        /// there is one. Use one `Mailer` per runtime.
        pool: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    },
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.inner.from.to_string())
            .field("to", &self.inner.description)
            .field("dkim", &self.inner.dkim.is_some())
            .finish()
    }
}

impl Mailer {
    /// Builds from settings; errors (clear message) on an SMTP URL that does not parse, an
    /// unknown scheme/tls mode, a bad From, an unreadable DKIM key. The server calls this
    /// at start and exits ≠ 0 on error.
    pub fn from_options(opts: &NotifyOptions, mail_dir: &Path) -> anyhow::Result<Mailer> {
        let from: Mailbox = opts.mail_from.parse().with_context(|| {
            format!(
                "the mail sender (TIER3_MAIL_FROM) {:?} is not an address like `Name <user@host>`",
                opts.mail_from
            )
        })?;
        let dkim = match (&opts.dkim_key, &opts.dkim_selector) {
            (Some(path), Some(selector)) => Some(dkim_config(path, selector, from.email.domain())?),
            (None, None) => None,
            _ => {
                bail!("DKIM needs both a key (TIER3_DKIM_KEY) and a selector (TIER3_DKIM_SELECTOR)")
            }
        };
        let (transport, description) = match &opts.smtp_url {
            Some(url) => {
                let endpoint = SmtpEndpoint::parse(url.expose())?;
                let transport = Transport::Smtp {
                    builder: endpoint.transport_builder()?,
                    pool: OnceLock::new(),
                };
                (transport, endpoint.to_string())
            }
            None => {
                fs::create_dir_all(mail_dir).with_context(|| {
                    format!("creating the mail directory {}", mail_dir.display())
                })?;
                let description = format!(".eml files in {}", mail_dir.display());
                (
                    Transport::Files(AsyncFileTransport::new(mail_dir)),
                    description,
                )
            }
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                from,
                dkim,
                transport,
                description,
            }),
        })
    }

    /// Builds, signs and sends one message.
    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        match &self.inner.transport {
            Transport::Smtp { builder, pool } => {
                let smtp = pool.get_or_init(|| builder.clone().build());
                smtp.send(message).await.map(drop).map_err(smtp_error)
            }
            Transport::Files(files) => files.send(message).await.map(drop).map_err(|e| {
                SendError::Transient(format!("writing the mail to {}: {e}", self.describe()))
            }),
        }
    }

    /// Whether mail really leaves (SMTP) or only lands in `.eml` files.
    pub fn is_smtp(&self) -> bool {
        matches!(self.inner.transport, Transport::Smtp { .. })
    }

    /// Domain of the From address, for building Message-IDs.
    pub fn domain(&self) -> &str {
        self.inner.from.email.domain()
    }

    /// Where mail goes, e.g. `smtp://mail.example.com:587 (STARTTLS, AUTH)`; safe to log.
    pub fn describe(&self) -> &str {
        &self.inner.description
    }

    /// The message as it will be sent: multipart/alternative, sanitized headers, signed
    /// when DKIM is configured.
    fn message(&self, mail: &Mail) -> Result<Message, SendError> {
        let to: Address = mail.to.trim().parse().map_err(|e| {
            SendError::Permanent(format!("recipient {:?} is not an address: {e}", mail.to))
        })?;
        let to_name = mail
            .to_name
            .as_deref()
            .map(|name| sanitize_header_text(name, MAX_NAME_CHARS))
            .filter(|name| !name.is_empty());
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(to_name, to))
            .subject(sanitize_header_text(&mail.subject, MAX_SUBJECT_CHARS))
            .message_id(Some(msg_id(&mail.message_id)?))
            // RFC 3834: tells autoresponders (out-of-office) not to answer.
            .header(AutoSubmitted("auto-generated".into()));
        if let Some(parent) = &mail.in_reply_to {
            builder = builder.in_reply_to(msg_id(parent)?);
        }
        if !mail.references.is_empty() {
            let ids: Vec<String> = mail
                .references
                .iter()
                .map(|id| msg_id(id))
                .collect::<Result<_, _>>()?;
            builder = builder.references(ids.join(" "));
        }
        if let Some(url) = &mail.list_unsubscribe {
            builder = builder
                .header(ListUnsubscribe(format!("<{}>", unsubscribe_url(url)?)))
                .header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()));
        }
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("the message cannot be built: {e}")))?;
        if let Some(dkim) = &self.inner.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }
}

/// 5xx is permanent, everything else (4xx, connection, timeout, TLS) transient.
fn smtp_error(err: smtp::Error) -> SendError {
    let text = err.to_string();
    match err.status().map(u16::from) {
        // Authentication required / too weak / credentials invalid / encryption required
        // (RFC 4954): our settings or the server's are wrong, not this message; after the
        // fix a retry goes through.
        Some(530 | 534 | 535 | 538) => SendError::Transient(text),
        _ if err.is_permanent() => SendError::Permanent(text),
        _ => SendError::Transient(text),
    }
}

/// User text made safe for a header: control characters (CR and LF above all, which would
/// start a new header), Unicode line separators and bidi overrides become spaces, runs of
/// whitespace one space, and the result is at most `max` characters (`…` marks a cut).
pub fn sanitize_header_text(raw: &str, max: usize) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    let spaced: String = raw
        .chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
    let text = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `<id>` for a Message-ID given without brackets, refusing anything but a plain
/// `dot-atom@dot-atom` (RFC 5322 §3.6.4): these go into headers verbatim.
fn msg_id(id: &str) -> Result<String, SendError> {
    let atom = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
    };
    match id.split_once('@') {
        Some((left, right)) if id.len() <= 250 && atom(left) && atom(right) => {
            Ok(format!("<{id}>"))
        }
        _ => Err(SendError::Permanent(format!(
            "{id:?} is not a Message-ID (left@right, no brackets)"
        ))),
    }
}

/// The unsubscribe URL as it goes between `<` and `>`: http(s) only, ASCII (the `url` crate
/// percent-encodes spaces, `<`, `>` and non-ASCII), commas encoded (RFC 2369 §2), bounded.
fn unsubscribe_url(raw: &str) -> Result<String, SendError> {
    let bad = |why: &str| SendError::Permanent(format!("unsubscribe URL {raw:?}: {why}"));
    let url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("not http(s)"));
    }
    let text = url.as_str().replace(',', "%2C");
    if text.len() > MAX_URL_LEN
        || !text
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
    {
        return Err(bad("too long or not plain ASCII"));
    }
    Ok(text)
}

/// Headers lettre has no type for; values are built (and checked) by the caller.
macro_rules! text_header {
    ($type:ident, $name:literal) => {
        #[derive(Clone)]
        struct $type(String);

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_owned()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(ListUnsubscribe, "List-Unsubscribe");
text_header!(ListUnsubscribePost, "List-Unsubscribe-Post");
text_header!(AutoSubmitted, "Auto-Submitted");

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on localhost or in the same network): `smtp://`, `tls=none`.
    None,
    /// STARTTLS when offered, plain otherwise (open to downgrade): `tls=opportunistic`.
    Opportunistic,
    /// STARTTLS or fail: `tls=starttls`.
    StartTls,
    /// TLS from the first byte: `smtps://`.
    Implicit,
}

/// A parsed `TIER3_SMTP_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password for AUTH, percent-decoded.
    pub credentials: Option<(String, Secret<String>)>,
}

impl SmtpEndpoint {
    /// Parses `smtp://host:port`, `smtp://user:pass@host:587?tls=starttls` (or
    /// `tls=opportunistic`, `tls=none`) and `smtps://host:465`. Default ports: 465 for
    /// `smtps`, 587 with STARTTLS, 25 otherwise. Errors never quote the URL: it may hold
    /// the password.
    pub fn parse(raw: &str) -> anyhow::Result<SmtpEndpoint> {
        let url =
            Url::parse(raw.trim()).map_err(|e| anyhow!("the SMTP URL does not parse: {e}"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => bail!("the SMTP URL's scheme must be smtp or smtps, not {other:?}"),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => bail!("the SMTP URL has no host"),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            bail!("the SMTP URL may not have a path or fragment");
        }
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match &*key {
                "tls" if tls.is_none() => tls = Some(value.into_owned()),
                _ => bail!("the SMTP URL has an unknown or repeated parameter {key:?} (only tls=)"),
            }
        }
        // Our `tls=` words, not lettre's: its `from_url` spells STARTTLS `required` and has
        // no `starttls`, so the URL is parsed here and mapped onto lettre's `Tls` variants.
        // `required` is accepted too, for URLs copied from lettre's documentation.
        let tls = match (implicit, tls.as_deref()) {
            (true, None) => SmtpTls::Implicit,
            (true, Some(_)) => {
                bail!(
                    "smtps:// is TLS from the first byte: drop tls=, or use smtp://…?tls=starttls"
                )
            }
            (false, None | Some("none")) => SmtpTls::None,
            (false, Some("starttls" | "required")) => SmtpTls::StartTls,
            (false, Some("opportunistic")) => SmtpTls::Opportunistic,
            (false, Some(other)) => {
                bail!("the SMTP URL's tls={other:?} is unknown (none, starttls or opportunistic)")
            }
        };
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls | SmtpTls::Opportunistic => 587,
            SmtpTls::None => 25,
        });
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => bail!("the SMTP URL has a password but no user name"),
            (_, None) => bail!("the SMTP URL has a user name but no password"),
            (user, Some(pass)) => Some((
                percent_decode(user).context("the SMTP user name")?,
                Secret(percent_decode(pass).context("the SMTP password")?),
            )),
        };
        Ok(SmtpEndpoint {
            host,
            port,
            tls,
            credentials,
        })
    }

    /// lettre's pooled transport for this endpoint (built lazily, see [`Transport`]).
    fn transport_builder(&self) -> anyhow::Result<AsyncSmtpTransportBuilder> {
        let params = || {
            TlsParameters::new(self.host.clone())
                .with_context(|| format!("TLS settings for {}", self.host))
        };
        let tls = match self.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Opportunistic => Tls::Opportunistic(params()?),
            SmtpTls::StartTls => Tls::Required(params()?),
            SmtpTls::Implicit => Tls::Wrapper(params()?),
        };
        // A few reused connections: mail comes in bursts (one event, many recipients), and
        // a handshake per message would be most of the cost.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(4));
        if let Some((user, pass)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.expose().clone()));
        }
        Ok(builder)
    }
}

/// `smtp://host:port (STARTTLS, AUTH)`: no user name, no password.
impl fmt::Display for SmtpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, tls) = match self.tls {
            SmtpTls::None => ("smtp", "plain"),
            SmtpTls::Opportunistic => ("smtp", "STARTTLS if offered"),
            SmtpTls::StartTls => ("smtp", "STARTTLS"),
            SmtpTls::Implicit => ("smtps", "TLS"),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let auth = if self.credentials.is_some() {
            ", AUTH"
        } else {
            ""
        };
        write!(f, "{scheme}://{host}:{} ({tls}{auth})", self.port)
    }
}

/// `%XX` → byte, as URL user info is encoded (no `+` for space there).
fn percent_decode(s: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            bytes.push(byte.context("a broken %-escape")?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).context("not UTF-8 once %-decoded")
}

/// The DKIM settings: the key from `path`, our selector, the From domain, relaxed
/// canonicalization (survives relays that refold headers or change whitespace).
fn dkim_config(path: &Path, selector: &str, domain: &str) -> anyhow::Result<DkimConfig> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !selector.split('.').all(label_ok) {
        bail!("the DKIM selector {selector:?} is not a DNS name");
    }
    let pem = fs::read_to_string(path)
        .with_context(|| format!("reading the DKIM key {}", path.display()))?;
    let key = dkim_key(&pem).with_context(|| format!("the DKIM key {}", path.display()))?;
    let headers = SIGNED_HEADERS
        .iter()
        .map(|h| HeaderName::new_from_ascii_str(h))
        .collect();
    let canonicalization = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(DkimConfig::new(
        selector.to_owned(),
        domain.to_owned(),
        key,
        headers,
        canonicalization,
    ))
}

/// DER of the algorithm OIDs in a PKCS#8 key: rsaEncryption, id-Ed25519 (RFC 8410).
const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const ED25519_OID: &[u8] = &[0x2b, 0x65, 0x70];

/// A signing key from PEM. lettre wants RSA as PKCS#1 PEM and Ed25519 as the base64 of the
/// bare 32-byte seed, while `openssl genpkey` writes PKCS#8 (`BEGIN PRIVATE KEY`) for both;
/// so PKCS#8 is unwrapped here (a few DER steps, not worth a dependency).
fn dkim_key(pem: &str) -> anyhow::Result<DkimSigningKey> {
    let (label, der) = pem_block(pem)?;
    let (algorithm, key) = match label {
        "RSA PRIVATE KEY" => (RSA_OID, der.as_slice()),
        "PRIVATE KEY" => pkcs8(&der).context("not a PKCS#8 private key")?,
        "ENCRYPTED PRIVATE KEY" => bail!("encrypted; decrypt it with `openssl pkey`"),
        other => bail!("a PEM {other:?} block is not a private key"),
    };
    let signing = match algorithm {
        RSA_OID => {
            let b64 = STANDARD.encode(key);
            let mut pkcs1 = String::from("-----BEGIN RSA PRIVATE KEY-----");
            for (i, c) in b64.chars().enumerate() {
                if i % 64 == 0 {
                    pkcs1.push('\n');
                }
                pkcs1.push(c);
            }
            pkcs1.push_str("\n-----END RSA PRIVATE KEY-----\n");
            DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa)
        }
        ED25519_OID => {
            // The PKCS#8 payload is itself an OCTET STRING holding the seed.
            let seed = match der_element(key) {
                Some((0x04, seed, _)) if seed.len() == 32 => seed,
                _ => bail!("not an Ed25519 private key"),
            };
            DkimSigningKey::new(&STANDARD.encode(seed), DkimSigningAlgorithm::Ed25519)
        }
        _ => bail!("neither RSA nor Ed25519, the two DKIM signs with"),
    };
    signing.map_err(|e| anyhow!("not a usable key: {e}"))
}

/// The first PEM block: its label and decoded body.
fn pem_block(pem: &str) -> anyhow::Result<(&str, Vec<u8>)> {
    let (_, rest) = pem.split_once("-----BEGIN ").context("no PEM block")?;
    let (label, rest) = rest.split_once("-----").context("a broken PEM header")?;
    let (body, _) = rest
        .split_once(&format!("-----END {label}-----"))
        .context("an unterminated PEM block")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    Ok((
        label,
        STANDARD.decode(b64).context("PEM body is not base64")?,
    ))
}

/// PKCS#8 `PrivateKeyInfo`: (algorithm OID, private key bytes).
fn pkcs8(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, info, _) = der_element(der)? else {
        return None;
    };
    let (0x02, _version, rest) = der_element(info)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_element(rest)? else {
        return None;
    };
    let (0x06, oid, _) = der_element(algorithm)? else {
        return None;
    };
    let (0x04, key, _) = der_element(rest)? else {
        return None;
    };
    Some((oid, key))
}

/// One DER element: (tag, contents, what follows).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}
