//! Token keys and verification. The algorithm comes from the configured key, never the token.

use std::{fs, path::Path};

use anyhow::{Context as _, bail};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

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

/// Verification (and, where the key allows, signing) keys, parsed once at startup.
#[derive(Clone)]
pub struct Keys {
    algorithm: Algorithm,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// File name of the development secret generated when no key is configured.
pub const GENERATED_SECRET_FILE: &str = "jwt-secret";

impl Keys {
    /// Loads the configured key: `JWT_SECRET` (HS256), a PEM public key, or a generated
    /// development secret kept in the data directory so that `serve` and `token` agree.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let (algorithm, decoding, encoding) = if let Some(secret) = &config.jwt_secret {
            let bytes = secret.expose().as_bytes();
            if bytes.len() < 16 {
                bail!("JWT_SECRET must be at least 16 bytes");
            }
            (
                Algorithm::HS256,
                DecodingKey::from_secret(bytes),
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
            (algorithm, decoding, encoding)
        } else {
            let secret = generated_secret(&config.data_dir)?;
            (
                Algorithm::HS256,
                DecodingKey::from_secret(&secret),
                Some(EncodingKey::from_secret(&secret)),
            )
        };

        let mut validation = Validation::new(algorithm);
        validation.validate_nbf = true;
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
        Ok(Keys {
            algorithm,
            decoding,
            encoding,
            validation,
        })
    }

    /// Verifies a token and returns its claims; any failure is `UNAUTHENTICATED`.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                tracing::debug!(error = %err, "token rejected");
                AppError::Unauthenticated("invalid or expired token".into())
            })
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

    /// The algorithm tokens must use.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
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
