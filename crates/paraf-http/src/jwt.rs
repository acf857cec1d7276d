//! ES256 (ECDSA P-256 + SHA-256) JSON Web Tokens for the API, in compact JWS form.
//!
//! Hand-rolled on `p256` because the whole format is three base64url parts and one
//! signature; it keeps `ring`/`aws-lc` out of the Lambda binaries. Only `ES256` is
//! accepted when verifying (no `alg: none`, no algorithm confusion).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Lifetime of an API token.
pub const TOKEN_SECONDS: i64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("key is not a P-256 PKCS#8 PEM private key: {0}")]
    Key(String),
    #[error("token malformed")]
    Malformed,
    #[error("token signature invalid")]
    Signature,
    #[error("token expired or not yet valid")]
    Expired,
    #[error("token issued for another issuer or audience")]
    WrongAudience,
}

/// The keypair that signs API tokens. Built from a PKCS#8 PEM so `paraf serve` can keep
/// it in the data dir and Lambda can read it from a secret.
#[derive(Clone)]
pub struct JwtKeys {
    signing: SigningKey,
    verifying: VerifyingKey,
    /// Stable key id (first bytes of the public key's SHA-256), so keys can rotate.
    kid: String,
    /// SHA-256 of tokens whose signature this key has already checked. A client sends the
    /// same token with every request, and one ES256 verification costs about as much CPU
    /// as signing a one-page PDF; claims (issuer, audience, time) are still checked on
    /// every use. Emptied when it reaches [`VERIFIED_CAPACITY`].
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

/// Tokens remembered as verified, at most (32 bytes each).
const VERIFIED_CAPACITY: usize = 16_384;

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The claims paraf puts in (and reads from) its own tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Claims {
    /// Employee id.
    pub sub: String,
    pub email: String,
    pub nip: String,
    pub name: String,
    pub roles: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl JwtKeys {
    pub fn generate() -> Self {
        JwtKeys::from_signing(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// Shortest seed [`JwtKeys::from_seed`] accepts.
    pub const MIN_SEED_BYTES: usize = 32;

    /// The keypair derived from a secret seed (on Lambda `PARAF_SESSION_SECRET`), the same
    /// for every instance that holds the seed. The P-256 scalar is SHA-256 over a
    /// domain-separation label, a counter and the seed, retried with the next counter in
    /// the (about 2^-32 likely) case that it is not a valid scalar, so it is uniform.
    pub fn from_seed(seed: &[u8]) -> Result<Self, JwtError> {
        use sha2::Digest as _;
        if seed.len() < Self::MIN_SEED_BYTES {
            return Err(JwtError::Key(format!(
                "seed shorter than {} bytes",
                Self::MIN_SEED_BYTES
            )));
        }
        for counter in 0u32..=255 {
            let mut h = sha2::Sha256::new();
            h.update(b"paraf-jwt-es256-seed-v1\0");
            h.update(counter.to_be_bytes());
            h.update(seed);
            let bytes = h.finalize();
            if let Ok(signing) = SigningKey::from_bytes(&bytes) {
                return Ok(JwtKeys::from_signing(signing));
            }
        }
        Err(JwtError::Key("no scalar derived from the seed".into()))
    }

    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| JwtError::Key(e.to_string()))?;
        Ok(JwtKeys::from_signing(signing))
    }

    /// The private key as PKCS#8 PEM (store with mode 0600).
    pub fn to_pem(&self) -> Result<String, JwtError> {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| JwtError::Key(e.to_string()))
    }

    /// The public key as SPKI PEM, for other verifiers.
    pub fn public_pem(&self) -> Result<String, JwtError> {
        self.verifying
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| JwtError::Key(e.to_string()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn from_signing(signing: SigningKey) -> Self {
        use sha2::Digest as _;
        let verifying = *signing.verifying_key();
        let point = verifying.to_encoded_point(false);
        let digest = sha2::Sha256::digest(point.as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(&digest[..12]);
        JwtKeys {
            signing,
            verifying,
            kid,
            verified: Arc::default(),
        }
    }

    /// Bytes derived from the private key for other secrets (e.g. the flash-cookie key),
    /// so one key file is all the server keeps.
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 64] {
        use sha2::Digest as _;
        let mut h = sha2::Sha512::new();
        h.update(b"paraf-derive\0");
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(self.signing.to_bytes());
        h.finalize().into()
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let enc = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = serde_json::to_value(claims).map_err(|_| JwtError::Malformed)?;
        let input = format!("{}.{}", enc(&header), enc(&claims));
        let sig: Signature = self.signing.sign(input.as_bytes());
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }

    /// Verifies signature, algorithm, issuer, audience and time (`now` in unix seconds;
    /// 30 s leeway for clock skew).
    pub fn verify(&self, token: &str, iss: &str, aud: &str, now: i64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwtError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("ES256") {
            return Err(JwtError::Malformed);
        }
        let seen: [u8; 32] = {
            use sha2::Digest as _;
            sha2::Sha256::digest(token.as_bytes()).into()
        };
        let known = self.verified_tokens().contains(&seen);
        if !known {
            let sig_bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
            let sig = Signature::from_slice(&sig_bytes).map_err(|_| JwtError::Malformed)?;
            let input_len = h.len() + 1 + c.len();
            let input = token.get(..input_len).ok_or(JwtError::Malformed)?;
            self.verifying
                .verify(input.as_bytes(), &sig)
                .map_err(|_| JwtError::Signature)?;
        }
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(JwtError::Malformed)?;
        if claims.iss != iss || claims.aud != aud {
            return Err(JwtError::WrongAudience);
        }
        if claims.exp + 30 < now || claims.iat - 30 > now {
            return Err(JwtError::Expired);
        }
        if !known {
            let mut verified = self.verified_tokens();
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
            verified.insert(seen);
        }
        Ok(claims)
    }

    fn verified_tokens(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            sub: "e1".into(),
            email: "a@kpu.go.id".into(),
            nip: "198503122010011003".into(),
            name: "A".into(),
            roles: vec!["staff".into()],
            iat: now,
            exp: now + TOKEN_SECONDS,
            iss: "iss".into(),
            aud: "aud".into(),
        }
    }

    #[test]
    fn a_token_survives_a_pem_round_trip_of_its_key() {
        let keys = JwtKeys::generate();
        let again = JwtKeys::from_pem(&keys.to_pem().unwrap()).unwrap();
        let t = keys.sign(&claims(1000)).unwrap();
        assert_eq!(again.verify(&t, "iss", "aud", 1000).unwrap(), claims(1000));
    }

    #[test]
    fn keys_from_one_seed_are_the_same_and_other_seeds_give_other_keys() {
        let seed = b"0123456789abcdef0123456789abcdef";
        let a = JwtKeys::from_seed(seed).unwrap();
        let b = JwtKeys::from_seed(seed).unwrap();
        assert_eq!(a.to_pem().unwrap(), b.to_pem().unwrap());
        assert_eq!(a.kid(), b.kid());
        let t = a.sign(&claims(1000)).unwrap();
        assert_eq!(b.verify(&t, "iss", "aud", 1000).unwrap(), claims(1000));
        let c = JwtKeys::from_seed(b"0123456789abcdef0123456789abcdeF").unwrap();
        assert_ne!(a.kid(), c.kid());
        assert!(matches!(
            c.verify(&t, "iss", "aud", 1000),
            Err(JwtError::Signature)
        ));
    }

    #[test]
    fn the_derived_key_is_pinned_so_a_change_of_derivation_is_noticed() {
        // Changing the derivation would sign every user out and void every API token.
        let keys = JwtKeys::from_seed(&[7u8; 32]).unwrap();
        let again = JwtKeys::from_seed(&[7u8; 32]).unwrap();
        assert_eq!(keys.kid(), again.kid());
        assert_eq!(keys.kid(), PINNED_KID);
    }

    const PINNED_KID: &str = "_uyYQ6kYkJ0JCaux";

    #[test]
    fn a_short_seed_is_refused() {
        assert!(matches!(
            JwtKeys::from_seed(b"too short"),
            Err(JwtError::Key(_))
        ));
    }

    #[test]
    fn a_token_verified_before_still_has_its_claims_checked_and_its_forgeries_refused() {
        let keys = JwtKeys::generate();
        let t = keys.sign(&claims(1000)).unwrap();
        assert_eq!(keys.verify(&t, "iss", "aud", 1000).unwrap(), claims(1000));
        assert_eq!(keys.verified_tokens().len(), 1);
        // Remembered as verified, yet refused once expired or for another audience.
        assert!(matches!(
            keys.clone()
                .verify(&t, "iss", "aud", 1000 + TOKEN_SECONDS + 31),
            Err(JwtError::Expired)
        ));
        assert!(matches!(
            keys.verify(&t, "iss", "other", 1000),
            Err(JwtError::WrongAudience)
        ));
        // The same claims under another signature are checked, not taken as known.
        let (signed, sig) = t.rsplit_once('.').unwrap();
        let mut other = URL_SAFE_NO_PAD.decode(sig).unwrap();
        other[10] ^= 1;
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(other));
        assert!(matches!(
            keys.verify(&forged, "iss", "aud", 1000),
            Err(JwtError::Signature)
        ));
        // Another key never trusts what this one remembers.
        assert!(matches!(
            JwtKeys::generate().verify(&t, "iss", "aud", 1000),
            Err(JwtError::Signature)
        ));
    }

    #[test]
    fn a_tampered_or_expired_or_foreign_token_is_refused() {
        let keys = JwtKeys::generate();
        let t = keys.sign(&claims(1000)).unwrap();
        assert!(matches!(
            keys.verify(&t, "iss", "aud", 1000 + TOKEN_SECONDS + 31),
            Err(JwtError::Expired)
        ));
        assert!(matches!(
            keys.verify(&t, "iss", "other", 1000),
            Err(JwtError::WrongAudience)
        ));
        assert!(matches!(
            JwtKeys::generate().verify(&t, "iss", "aud", 1000),
            Err(JwtError::Signature)
        ));
        let mut forged = claims(1000);
        forged.roles.push("admin".into());
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_string(&forged).unwrap());
        let mut p: Vec<&str> = t.split('.').collect();
        p[1] = &body;
        assert!(matches!(
            keys.verify(&p.join("."), "iss", "aud", 1000),
            Err(JwtError::Signature)
        ));
        assert!(matches!(
            keys.verify("a.b", "iss", "aud", 1000),
            Err(JwtError::Malformed)
        ));
    }
}
