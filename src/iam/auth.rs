//! API key → bearer token, reused until 80% of its lifetime, refreshed by one caller while
//! the others wait (so a 40-way concurrent read makes one token call, not forty).
//!
//! The token's JWT payload is decoded (no signature check: it is only read, never trusted
//! for access decisions) for the caller's `iam_id` and account (`account.bss`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::error::IamError;
use super::wire::{JwtClaims, TokenResponse};
use crate::model::{AccountId, IamId};

/// Refresh once this share of the lifetime has passed (what IBM's SDK cores do).
const REFRESH_AT: f64 = 0.8;
/// When the service says nothing usable about the lifetime, assume this much.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);
/// After a failed refresh while the old token is still valid, wait this long before
/// trying again, instead of hammering the token service on every call.
const REFRESH_RETRY_PAUSE: Duration = Duration::from_secs(10);
/// A token is not used in its last seconds: a request could arrive after it expired.
const EXPIRY_MARGIN: Duration = Duration::from_secs(2);

/// A bearer token and what it says about its holder.
pub(crate) struct Token {
    pub bearer: SecretString,
    pub generation: u64,
    pub refresh_at: Instant,
    pub expires_at: Instant,
    pub iam_id: Option<IamId>,
    pub account_id: Option<AccountId>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("bearer", &"[redacted]")
            .field("generation", &self.generation)
            .field("iam_id", &self.iam_id)
            .field("account_id", &self.account_id)
            .finish()
    }
}

#[derive(Default)]
struct Slot {
    token: Option<Arc<Token>>,
    /// Set after a failed refresh: keep using the old token until then.
    pause_until: Option<Instant>,
}

pub(crate) struct TokenManager {
    pub(crate) api_key: SecretString,
    slot: tokio::sync::Mutex<Slot>,
    generations: AtomicU64,
}

impl fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenManager")
            .field("api_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub(crate) fn new(api_key: SecretString) -> Self {
        TokenManager {
            api_key,
            slot: tokio::sync::Mutex::new(Slot::default()),
            generations: AtomicU64::new(0),
        }
    }

    /// The current token, fetching a new one through `fetch` when there is none or it is
    /// due for refresh. The lock is held across the fetch: that is the single flight.
    pub(crate) async fn current<F, Fut>(&self, fetch: F) -> Result<Arc<Token>, IamError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<TokenResponse, IamError>>,
    {
        let mut slot = self.slot.lock().await;
        let now = Instant::now();
        if let Some(token) = &slot.token {
            let paused = slot.pause_until.is_some_and(|until| now < until);
            if now < token.refresh_at || (paused && now + EXPIRY_MARGIN < token.expires_at) {
                return Ok(token.clone());
            }
        }
        match fetch().await {
            Ok(response) => {
                let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                let token = Arc::new(token_from_response(response, generation, Instant::now())?);
                tracing::debug!(
                    lifetime_s = token.expires_at.saturating_duration_since(now).as_secs(),
                    "new IAM token"
                );
                slot.token = Some(token.clone());
                slot.pause_until = None;
                Ok(token)
            }
            Err(err) => match slot.token.clone() {
                Some(old) if Instant::now() + EXPIRY_MARGIN < old.expires_at => {
                    tracing::warn!("refreshing the IAM token failed, using the current one: {err}");
                    slot.pause_until = Some(Instant::now() + REFRESH_RETRY_PAUSE);
                    Ok(old)
                }
                _ => Err(err),
            },
        }
    }

    /// Forgets the token of `generation` (IBM refused it with 401), unless another caller
    /// already replaced it.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot
            .token
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            slot.token = None;
            slot.pause_until = None;
        }
    }
}

fn token_from_response(
    response: TokenResponse,
    generation: u64,
    received: Instant,
) -> Result<Token, IamError> {
    let Some(access_token) = response
        .access_token
        .clone()
        .filter(|t| !t.trim().is_empty())
    else {
        return Err(IamError::Malformed {
            call: "POST /identity/token".into(),
            detail: "the token response has no access_token".into(),
            transaction_id: None,
        });
    };
    let claims = decode_jwt_claims(&access_token).unwrap_or_default();
    let lifetime = lifetime(&response, &claims, unix_now());
    Ok(Token {
        bearer: SecretString::from(access_token),
        generation,
        refresh_at: received + lifetime.mul_f64(REFRESH_AT),
        expires_at: received + lifetime,
        iam_id: claims
            .iam_id
            .or(claims
                .sub
                .filter(|s| s.starts_with("IBMid-") || s.starts_with("iam-")))
            .filter(|s| !s.is_empty())
            .map(IamId::new),
        account_id: claims
            .account
            .and_then(|a| a.bss)
            .filter(|s| !s.is_empty())
            .map(AccountId::new),
    })
}

/// The token's remaining lifetime: the relative one (`expires_in`, else the JWT's
/// `exp - iat`), shortened to the absolute expiry (`exp`, else `expiration`) when that comes
/// sooner. The absolute one matters for short tokens: IBM's `exp` is whole seconds, so a
/// 2-second token received late in a second has barely more than one second left. It is
/// ignored when already past (this machine's clock runs ahead), to not refetch per request.
pub(crate) fn lifetime(response: &TokenResponse, claims: &JwtClaims, now_epoch: f64) -> Duration {
    let relative = response
        .expires_in
        .filter(|s| *s > 0)
        .or_else(|| match (claims.iat, claims.exp) {
            (Some(iat), Some(exp)) if exp > iat => Some(exp - iat),
            _ => None,
        })
        .map(|s| s as f64);
    let absolute = claims
        .exp
        .or(response.expiration)
        .map(|e| e as f64 - now_epoch)
        .filter(|left| *left > 0.0);
    let secs = match (relative, absolute) {
        (Some(r), Some(a)) => Some(r.min(a)),
        (r, a) => r.or(a),
    };
    // Bounded both ways: a day at most (a lying value must not pin a token forever), and
    // half a second at least (so a tiny lifetime does not fetch a token per request).
    secs.map(|s| Duration::from_secs_f64(s.clamp(0.5, 86_400.0)))
        .unwrap_or(FALLBACK_LIFETIME)
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The JWT's payload claims; `None` when the token is not a three-segment JWT with a JSON
/// payload.
pub(crate) fn decode_jwt_claims(token: &str) -> Option<JwtClaims> {
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload = payload.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The form body of the token call. Lives here so the key is exposed in exactly one place.
pub(crate) fn token_form(api_key: &SecretString) -> [(&'static str, &str); 3] {
    [
        ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
        ("apikey", api_key.expose_secret()),
        ("response_type", "cloud_iam"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &serde_json::Value) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            enc.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            enc.encode(payload.to_string())
        )
    }

    #[test]
    fn jwt_payload_of_ibms_documented_service_id_token_yields_iam_id_and_account() {
        let payload = serde_json::json!({
          "iam_id": "iam-ServiceId-c1e45eff-8df9-49b7-af73-d9c6e6f99a69",
          "id": "iam-ServiceId-c1e45eff-8df9-49b7-af73-d9c6e6f99a69",
          "realmid": "iam",
          "sub": "ServiceId-c1e45eff-8df9-49b7-af73-d9c6e6f99a69",
          "sub_type": "ServiceId",
          "account": {"valid": true, "bss": "f71446b6474d45bf81196da45de13940", "frozen": true},
          "iat": 1746519454, "exp": 1746523054,
          "acr": 1, "amr": ["pwd"]
        });
        let response = TokenResponse {
            access_token: Some(jwt(&payload)),
            expires_in: None,
            expiration: None,
        };
        let token = token_from_response(response, 1, Instant::now()).unwrap();
        assert_eq!(
            token.iam_id.as_ref().map(IamId::as_str),
            Some("iam-ServiceId-c1e45eff-8df9-49b7-af73-d9c6e6f99a69")
        );
        assert_eq!(
            token.account_id.as_ref().map(AccountId::as_str),
            Some("f71446b6474d45bf81196da45de13940")
        );
        // No expires_in: the lifetime comes from exp - iat (3600 s), refresh at 80%.
        let life = token.expires_at - token.refresh_at;
        assert_eq!(life.as_secs(), 720);
    }

    #[test]
    fn lifetime_is_the_relative_one_cut_short_by_an_earlier_absolute_expiry() {
        let r = |expires_in, expiration| TokenResponse {
            access_token: None,
            expires_in,
            expiration,
        };
        let jwt = |iat, exp| JwtClaims {
            iat: Some(iat),
            exp: Some(exp),
            ..JwtClaims::default()
        };
        let none = JwtClaims::default();
        let secs = |d: Duration| d.as_secs_f64();
        // Relative lifetime when the absolute expiry is later (or this clock is behind).
        assert_eq!(
            secs(lifetime(&r(Some(3600), None), &jwt(0, 9000), 1000.0)),
            3600.0
        );
        // No expires_in: the JWT's exp - iat.
        assert_eq!(
            secs(lifetime(&r(None, None), &jwt(1000, 1060), 1000.0)),
            60.0
        );
        // A 2 s token whose whole-second exp is 1.25 s away lives 1.25 s.
        assert_eq!(
            secs(lifetime(&r(Some(2), None), &jwt(1000, 1002), 1000.75)),
            1.25
        );
        // Only `expiration`: the time left until it.
        assert_eq!(secs(lifetime(&r(None, Some(5000)), &none, 1000.0)), 4000.0);
        // An expiry already past (this clock is ahead) is ignored.
        assert_eq!(secs(lifetime(&r(Some(60), Some(10)), &none, 1000.0)), 60.0);
        assert_eq!(
            lifetime(&r(None, Some(10)), &none, 1000.0),
            FALLBACK_LIFETIME
        );
        assert_eq!(lifetime(&r(None, None), &none, 1000.0), FALLBACK_LIFETIME);
    }

    #[test]
    fn non_jwt_access_tokens_are_used_without_claims() {
        assert!(decode_jwt_claims("opaque-token").is_none());
        assert!(decode_jwt_claims("a.%%%.c").is_none());
        assert!(decode_jwt_claims("a.b.c.d").is_none());
        let response = TokenResponse {
            access_token: Some("opaque".into()),
            expires_in: Some(60),
            expiration: None,
        };
        let token = token_from_response(response, 1, Instant::now()).unwrap();
        assert!(token.iam_id.is_none());
    }

    #[test]
    fn a_token_response_without_access_token_is_a_malformed_error() {
        let err = token_from_response(TokenResponse::default(), 1, Instant::now()).unwrap_err();
        assert!(err.to_string().contains("no access_token"), "{err}");
    }

    #[test]
    fn token_debug_output_hides_the_bearer() {
        let response = TokenResponse {
            access_token: Some("super-secret-bearer".into()),
            expires_in: Some(60),
            expiration: None,
        };
        let token = token_from_response(response, 1, Instant::now()).unwrap();
        let manager = TokenManager::new(SecretString::from("super-secret-key"));
        let shown = format!("{token:?} {manager:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token_fetch() {
        let manager = Arc::new(TokenManager::new(SecretString::from("k")));
        let fetches = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let manager = manager.clone();
            let fetches = fetches.clone();
            tasks.spawn(async move {
                manager
                    .current(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(TokenResponse {
                            access_token: Some("t".into()),
                            expires_in: Some(3600),
                            expiration: None,
                        })
                    })
                    .await
                    .map(|t| t.generation)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            assert_eq!(joined.unwrap().unwrap(), 1);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidating_an_old_generation_keeps_the_newer_token() {
        let manager = TokenManager::new(SecretString::from("k"));
        let ok = || async {
            Ok(TokenResponse {
                access_token: Some("t".into()),
                expires_in: Some(3600),
                expiration: None,
            })
        };
        let first = manager.current(ok).await.unwrap();
        manager.invalidate(first.generation).await;
        let second = manager.current(ok).await.unwrap();
        assert_eq!(second.generation, first.generation + 1);
        // A late 401 on the first token must not throw away the second.
        manager.invalidate(first.generation).await;
        assert_eq!(
            manager.current(ok).await.unwrap().generation,
            second.generation
        );
    }
}
