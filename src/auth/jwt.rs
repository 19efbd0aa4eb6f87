//! Token keys and verification. The algorithm comes from the configured key, never the token.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::{Context as _, bail};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::{config::Config, error::AppError};

/// The claims tier3 reads. `exp` is required; `iss`/`aud` are checked when configured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Stable user key.
    pub sub: String,
    /// `customer | agent | developer | triage_lead | admin`.
    pub role: String,
    /// Organization key (customers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// One audience or several (RFC 7519 allows both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// The `aud` claim: a string or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl From<&str> for Audience {
    fn from(s: &str) -> Self {
        Audience::One(s.to_owned())
    }
}

/// One verification key and the only algorithm it accepts.
#[derive(Clone)]
struct VerifyKey {
    decoding: DecodingKey,
    validation: Validation,
}

/// Verification (and, where the key allows, signing) keys: one configured key (secret or
/// PEM), and/or a JWKS whose keys are chosen by the token's `kid`. The algorithm always
/// comes from the key, never from the token.
pub struct Keys {
    algorithm: Algorithm,
    fixed: Option<VerifyKey>,
    encoding: Option<EncodingKey>,
    /// Claim checks shared by every key (issuer, audience, leeway, required claims).
    base: Validation,
    jwks: Option<Arc<Jwks>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .field("jwks", &self.jwks.is_some())
            .finish_non_exhaustive()
    }
}

/// File name of the development secret generated when no key is configured.
pub const GENERATED_SECRET_FILE: &str = "jwt-secret";

impl Keys {
    /// Loads the configured keys: `JWT_SECRET` (HS256) or a PEM public key, and/or a JWKS
    /// file or URL. With none of them, a generated development secret kept in the data
    /// directory, so that `serve` and `token` agree.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let jwks_configured = config.jwt_jwks_file.is_some() || config.jwt_jwks_url.is_some();
        let (algorithm, decoding, encoding) = if let Some(secret) = &config.jwt_secret {
            let bytes = secret.expose().as_bytes();
            if bytes.len() < 16 {
                bail!("JWT_SECRET must be at least 16 bytes");
            }
            (
                Algorithm::HS256,
                Some(DecodingKey::from_secret(bytes)),
                Some(EncodingKey::from_secret(bytes)),
            )
        } else if let Some(path) = &config.jwt_public_key {
            let pem = fs::read(path)
                .with_context(|| format!("reading JWT_PUBLIC_KEY {}", path.display()))?;
            let (algorithm, decoding) = public_key(&pem)?;
            let encoding = match &config.jwt_private_key {
                Some(path) => Some(private_key(algorithm, path)?),
                None => None,
            };
            (algorithm, Some(decoding), encoding)
        } else if jwks_configured {
            (Algorithm::RS256, None, None)
        } else {
            let secret = generated_secret(&config.data_dir)?;
            (
                Algorithm::HS256,
                Some(DecodingKey::from_secret(&secret)),
                Some(EncodingKey::from_secret(&secret)),
            )
        };

        let base = base_validation(config);
        let fixed = decoding.map(|decoding| VerifyKey {
            decoding,
            validation: with_algorithm(&base, algorithm),
        });
        let jwks = if jwks_configured {
            let jwks = Jwks::new(config.jwt_jwks_file.clone(), config.jwt_jwks_url.clone());
            if let Some(path) = &config.jwt_jwks_file {
                jwks.load_file(path, &base)
                    .with_context(|| format!("loading JWT_JWKS_FILE {}", path.display()))?;
            }
            Some(Arc::new(jwks))
        } else {
            None
        };
        Ok(Keys {
            algorithm,
            fixed,
            encoding,
            base,
            jwks,
        })
    }

    /// Verifies a token and returns its claims; any failure is `UNAUTHENTICATED`.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let rejected = || AppError::Unauthenticated("invalid or expired token".into());
        let key = match &self.jwks {
            Some(jwks) => {
                let header = jsonwebtoken::decode_header(token).map_err(|err| {
                    tracing::debug!(error = %err, "token header rejected");
                    rejected()
                })?;
                match header.kid.as_deref().and_then(|kid| jwks.get(kid)) {
                    Some(key) => Some(key),
                    None => {
                        if header.kid.is_some() {
                            // Perhaps the identity provider rotated: look again soon.
                            jwks.wanted.notify_one();
                        }
                        self.fixed.clone().map(Arc::new)
                    }
                }
            }
            None => self.fixed.clone().map(Arc::new),
        };
        let Some(key) = key else {
            tracing::debug!("token names no known key");
            return Err(rejected());
        };
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                tracing::debug!(error = %err, "token rejected");
                rejected()
            })
    }

    /// The first second (since the epoch) at which [`Keys::verify`] refuses a token expiring
    /// at `exp`: jsonwebtoken 11 refuses once `exp < now - leeway`, in whole seconds. A
    /// socket ends at this instant, when HTTP starts answering 401 to the same token.
    pub fn refused_from(&self, exp: u64) -> u64 {
        exp.saturating_add(self.base.leeway).saturating_add(1)
    }

    /// Signs claims with the configured key (development tokens and tests).
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let key = self.encoding.as_ref().context(
            "this key can only verify: set JWT_PRIVATE_KEY to the matching private key to mint tokens",
        )?;
        Ok(jsonwebtoken::encode(
            &Header::new(self.algorithm),
            claims,
            key,
        )?)
    }

    /// The algorithm of the configured (non-JWKS) key.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Fetches the JWKS URL now (start-up); errors are logged, the old keys kept.
    pub async fn refresh_remote(&self) {
        if let Some(jwks) = &self.jwks {
            jwks.refresh_remote(&self.base).await;
        }
    }

    /// Keeps the JWKS current until `shutdown`: the file re-read when it changes, the URL
    /// fetched every `every` and when a token names an unknown `kid` (at most every 10 s).
    pub async fn watch(self: Arc<Self>, every: Duration, shutdown: CancellationToken) {
        let Some(jwks) = self.jwks.clone() else {
            return;
        };
        let mut file_tick = tokio::time::interval(Duration::from_secs(1));
        let mut url_tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        url_tick.tick().await;
        let mut last_demand: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = file_tick.tick(), if jwks.file.is_some() => {
                    if let Some(path) = &jwks.file
                        && jwks.file_changed(path)
                    {
                        match jwks.load_file(path, &self.base) {
                            Ok(n) => tracing::info!(keys = n, "reloaded JWT_JWKS_FILE"),
                            Err(err) => tracing::warn!(error = %err, "JWT_JWKS_FILE unreadable; keeping the previous keys"),
                        }
                    }
                }
                _ = url_tick.tick(), if jwks.url.is_some() => jwks.refresh_remote(&self.base).await,
                _ = jwks.wanted.notified(), if jwks.url.is_some() => {
                    if last_demand.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                        last_demand = Some(tokio::time::Instant::now());
                        jwks.refresh_remote(&self.base).await;
                    }
                }
            }
        }
    }
}

/// Claim checks common to every key.
fn base_validation(config: &Config) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_nbf = true;
    validation.leeway = config.jwt_leeway_secs;
    // jsonwebtoken checks `iss`/`aud` only when present unless they are required, and a
    // configured issuer or audience must never be skipped by leaving the claim out.
    let mut required = vec!["exp", "sub"];
    if config.jwt_issuer.is_some() {
        required.push("iss");
    }
    if config.jwt_audience.is_some() {
        required.push("aud");
    }
    validation.set_required_spec_claims(&required);
    match &config.jwt_issuer {
        Some(iss) => validation.set_issuer(&[iss]),
        None => validation.iss = None,
    }
    match &config.jwt_audience {
        Some(aud) => validation.set_audience(&[aud]),
        // Without a configured audience a token's `aud` is not ours to judge.
        None => validation.validate_aud = false,
    }
    validation
}

fn with_algorithm(base: &Validation, algorithm: Algorithm) -> Validation {
    let mut v = base.clone();
    v.algorithms = vec![algorithm];
    v
}

/// Keys by `kid`, from a file and/or a URL (the two are merged; the URL wins on a clash).
struct Jwks {
    file: Option<PathBuf>,
    url: Option<String>,
    from_file: RwLock<HashMap<String, Arc<VerifyKey>>>,
    from_url: RwLock<HashMap<String, Arc<VerifyKey>>>,
    file_stamp: std::sync::Mutex<Option<(std::time::SystemTime, u64)>>,
    wanted: tokio::sync::Notify,
}

impl Jwks {
    fn new(file: Option<PathBuf>, url: Option<String>) -> Self {
        Jwks {
            file,
            url,
            from_file: RwLock::default(),
            from_url: RwLock::default(),
            file_stamp: std::sync::Mutex::new(None),
            wanted: tokio::sync::Notify::new(),
        }
    }

    fn get(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        let read = |map: &RwLock<HashMap<String, Arc<VerifyKey>>>| {
            map.read()
                .unwrap_or_else(|e| e.into_inner())
                .get(kid)
                .cloned()
        };
        read(&self.from_url).or_else(|| read(&self.from_file))
    }

    fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
        let meta = fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    fn file_changed(&self, path: &Path) -> bool {
        let now = Self::stamp(path);
        let last = self.file_stamp.lock().unwrap_or_else(|e| e.into_inner());
        now.is_some() && now != *last
    }

    /// Replaces the file's keys; returns how many were loaded.
    fn load_file(&self, path: &Path, base: &Validation) -> anyhow::Result<usize> {
        let stamp = Self::stamp(path);
        let text = fs::read_to_string(path)?;
        let keys = parse_jwks(&text, base, true)?;
        let n = keys.len();
        *self.from_file.write().unwrap_or_else(|e| e.into_inner()) = keys;
        *self.file_stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
        Ok(n)
    }

    async fn refresh_remote(&self, base: &Validation) {
        let Some(url) = &self.url else { return };
        match fetch(url)
            .await
            .and_then(|text| parse_jwks(&text, base, false))
        {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "refreshed JWT_JWKS_URL");
                *self.from_url.write().unwrap_or_else(|e| e.into_inner()) = keys;
            }
            Err(err) => {
                tracing::warn!(error = %err, "JWT_JWKS_URL unavailable; keeping the previous keys")
            }
        }
    }
}

async fn fetch(url: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let resp = client.get(url).send().await?.error_for_status()?;
    Ok(resp.text().await?)
}

/// Parses a JWKS into verification keys by `kid`. Keys without a `kid`, for encryption, or
/// of an unsupported type are skipped; symmetric (`oct`) keys only from a local file.
fn parse_jwks(
    text: &str,
    base: &Validation,
    allow_symmetric: bool,
) -> anyhow::Result<HashMap<String, Arc<VerifyKey>>> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
    let set: JwkSet = serde_json::from_str(text).context("not a JWKS (`{\"keys\": [...]}`)")?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let by_type = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Some(Algorithm::ES256)
            }
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                Some(Algorithm::ES384)
            }
            AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
            AlgorithmParameters::OctetKey(_) if allow_symmetric => Some(Algorithm::HS256),
            _ => None,
        };
        let algorithm = match jwk.common.key_algorithm {
            Some(alg) => Algorithm::try_from(alg).ok(),
            None => by_type,
        };
        let (Some(algorithm), Some(_)) = (algorithm, by_type) else {
            tracing::warn!(%kid, "skipping a JWKS key of an unsupported type or algorithm");
            continue;
        };
        if !allow_symmetric && algorithm.family() == jsonwebtoken::AlgorithmFamily::Hmac {
            continue;
        }
        match DecodingKey::from_jwk(jwk) {
            Ok(decoding) => {
                keys.insert(
                    kid,
                    Arc::new(VerifyKey {
                        decoding,
                        validation: with_algorithm(base, algorithm),
                    }),
                );
            }
            Err(err) => tracing::warn!(%kid, error = %err, "skipping an unreadable JWKS key"),
        }
    }
    Ok(keys)
}

fn public_key(pem: &[u8]) -> anyhow::Result<(Algorithm, DecodingKey)> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Ok((Algorithm::ES256, key));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Ok((Algorithm::EdDSA, key));
    }
    bail!("JWT_PUBLIC_KEY is not an RSA, P-256 or Ed25519 public key in PEM form")
}

fn private_key(algorithm: Algorithm, path: &Path) -> anyhow::Result<EncodingKey> {
    let pem =
        fs::read(path).with_context(|| format!("reading JWT_PRIVATE_KEY {}", path.display()))?;
    Ok(match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem)?,
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem)?,
        _ => EncodingKey::from_ed_pem(&pem)?,
    })
}

/// Reads the generated development secret, creating it (mode 0600) on first use.
fn generated_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    use base64::Engine as _;
    let path = data_dir.join(GENERATED_SECRET_FILE);
    if let Ok(text) = fs::read_to_string(&path) {
        return base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .with_context(|| format!("{} is not base64", path.display()));
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let secret: [u8; 32] = rand::random();
    let text = base64::engine::general_purpose::STANDARD.encode(secret);
    write_private(&path, text.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a development JWT secret");
    Ok(secret.to_vec())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::{io::Write as _, os::unix::fs::OpenOptionsExt as _};
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("creating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "u1".into(),
            role: "customer".into(),
            org: Some("acme".into()),
            email: None,
            name: None,
            exp,
            iss: None,
            aud: None,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn round_trip_and_expiry() {
        let keys = Keys::from_config(&Config::for_database(
            "sqlite::memory:",
            "0123456789abcdef0123",
        ))
        .unwrap();
        let token = keys.sign(&claims(now() + 60)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "u1");
        let expired = keys.sign(&claims(now() - 3600)).unwrap();
        assert_eq!(keys.verify(&expired).unwrap_err().code(), "UNAUTHENTICATED");
    }

    #[test]
    fn refused_from_is_where_verify_starts_refusing() {
        let mut config = Config::for_database("sqlite::memory:", "0123456789abcdef0123");
        config.jwt_leeway_secs = 5;
        let keys = Keys::from_config(&config).unwrap();
        assert_eq!(keys.refused_from(1_000), 1_006);
        assert_eq!(keys.refused_from(u64::MAX), u64::MAX);
        // At the boundary, on both sides; a second ticking over mid-check is tried again.
        loop {
            let at = now();
            let last = keys.sign(&claims(at - 5)).unwrap();
            let first = keys.sign(&claims(at - 6)).unwrap();
            let (accepted, refused) = (keys.verify(&last).is_ok(), keys.verify(&first).is_err());
            if now() != at {
                continue;
            }
            assert_eq!(keys.refused_from(at - 5), at + 1);
            assert_eq!(keys.refused_from(at - 6), at);
            assert!(accepted && refused);
            break;
        }
    }

    #[test]
    fn generated_secret_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_database("sqlite::memory:", "x");
        config.jwt_secret = None;
        config.data_dir = dir.path().to_path_buf();
        let a = Keys::from_config(&config).unwrap();
        let b = Keys::from_config(&config).unwrap();
        let token = a.sign(&claims(now() + 60)).unwrap();
        assert!(b.verify(&token).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(GENERATED_SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn issuer_and_audience_are_checked_when_configured() {
        let mut config = Config::for_database("sqlite::memory:", "0123456789abcdef0123");
        config.jwt_issuer = Some("https://idp".into());
        config.jwt_audience = Some("tier3".into());
        let keys = Keys::from_config(&config).unwrap();
        let mut good = claims(now() + 60);
        good.iss = Some("https://idp".into());
        good.aud = Some("tier3".into());
        assert!(keys.verify(&keys.sign(&good).unwrap()).is_ok());
        let mut bad_iss = good.clone();
        bad_iss.iss = Some("https://evil".into());
        assert!(keys.verify(&keys.sign(&bad_iss).unwrap()).is_err());
        let mut bad_aud = good.clone();
        bad_aud.aud = Some("other".into());
        assert!(keys.verify(&keys.sign(&bad_aud).unwrap()).is_err());
        let mut many = good.clone();
        many.aud = Some(Audience::Many(vec!["other".into(), "tier3".into()]));
        assert!(keys.verify(&keys.sign(&many).unwrap()).is_ok());
        let mut missing = good.clone();
        missing.iss = None;
        assert!(keys.verify(&keys.sign(&missing).unwrap()).is_err());
        let mut missing = good;
        missing.aud = None;
        assert!(keys.verify(&keys.sign(&missing).unwrap()).is_err());
    }
}
