//! Access tokens: real three-segment JWTs, as IBM's token service issues them.
//!
//! IBM's Python and Node SDK cores decode the token (without checking the signature) to
//! read `iat` and `exp`, and orgsync reads `iam_id` and `account.bss` from it, so the
//! payload carries the claims IBM puts there. The emulator signs with HS256 and a random
//! key of its process ([`SigningKey::random`]): a token is only good for the process that
//! minted it (a restart invalidates it; orgsync's client fetches a new one on the 401),
//! and nobody can mint one from what they know of the account. A token for another
//! account (the state can be replaced) or a tampered one is refused (401) too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::state::KeyType;

/// What the emulator needs back from a bearer token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub iam_id: String,
    pub kind: KeyType,
}

#[derive(Serialize, Deserialize)]
struct Account {
    valid: bool,
    bss: String,
    frozen: bool,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iam_id: String,
    id: String,
    realmid: String,
    jti: String,
    identifier: String,
    sub: String,
    sub_type: String,
    account: Account,
    iat: u64,
    exp: u64,
    iss: String,
    grant_type: String,
    scope: String,
    client_id: String,
    acr: u8,
    amr: Vec<String>,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // RFC 2104 with a 64-byte block; keys here are 32-byte digests, never longer.
    let mut block = [0u8; 64];
    for (slot, byte) in block.iter_mut().zip(key.iter()) {
        *slot = *byte;
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The key a process signs its tokens with.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    /// 256 bits from the operating system's random source.
    pub fn random() -> SigningKey {
        SigningKey(super::ids::random_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Whom a token is for.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub account_id: &'a str,
    pub iam_id: &'a str,
    /// A user's email, the token's `sub`; a service ID's `sub` is its id.
    pub email: Option<&'a str>,
    pub kind: KeyType,
}

/// Mints a token for `subject` valid from `iat` to `exp` (epoch seconds).
pub fn mint(key: &SigningKey, subject: &Subject<'_>, iat: u64, exp: u64, jti: &str) -> String {
    let Subject {
        account_id,
        iam_id,
        email,
        kind,
    } = *subject;
    let (realm, identifier, sub, sub_type) = match kind {
        KeyType::User => (
            "IBMid",
            iam_id.trim_start_matches("IBMid-").to_string(),
            email.unwrap_or(iam_id).to_string(),
            "",
        ),
        KeyType::Service => {
            let ident = iam_id.trim_start_matches("iam-").to_string();
            ("iam", ident.clone(), ident, "ServiceId")
        }
    };
    let claims = Claims {
        iam_id: iam_id.to_string(),
        id: iam_id.to_string(),
        realmid: realm.to_string(),
        jti: jti.to_string(),
        identifier,
        sub,
        sub_type: sub_type.to_string(),
        account: Account {
            valid: true,
            bss: account_id.to_string(),
            frozen: true,
        },
        iat,
        exp,
        iss: "https://iam.cloud.ibm.com/identity".into(),
        grant_type: "urn:ibm:params:oauth:grant-type:apikey".into(),
        scope: "ibm openid".into(),
        client_id: "default".into(),
        acr: 1,
        amr: vec!["pwd".into()],
    };
    let header = URL_SAFE_NO_PAD.encode(br#"{"kid":"emulator","alg":"HS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = hmac_sha256(&key.0, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Why a bearer token was refused; the message is fit for the 401 body.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Malformed,
    BadSignature,
    OtherAccount,
    Expired,
}

/// Checks a token minted by [`mint`] with `key` for `account_id` at time `now` (epoch
/// seconds).
pub fn verify(
    token: &str,
    key: &SigningKey,
    account_id: &str,
    now: u64,
) -> Result<Caller, Refused> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(Refused::Malformed);
    };
    let expected = hmac_sha256(&key.0, format!("{header}.{payload}").as_bytes());
    let given = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Refused::Malformed)?;
    if given.as_slice() != expected.as_slice() {
        return Err(Refused::BadSignature);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| Refused::Malformed)?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| Refused::Malformed)?;
    if claims.account.bss != account_id {
        return Err(Refused::OtherAccount);
    }
    if now >= claims.exp {
        return Err(Refused::Expired);
    }
    let kind = if claims.sub_type == "ServiceId" {
        KeyType::Service
    } else {
        KeyType::User
    };
    Ok(Caller {
        iam_id: claims.iam_id,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn minted_token_verifies_until_it_expires() {
        let subject = Subject {
            account_id: ACCOUNT,
            iam_id: "IBMid-A",
            email: Some("a@x.com"),
            kind: KeyType::User,
        };
        let key = SigningKey::random();
        let token = mint(&key, &subject, 100, 200, "j");
        assert_eq!(token.split('.').count(), 3);
        let caller = verify(&token, &key, ACCOUNT, 150).expect("valid");
        assert_eq!(caller.iam_id, "IBMid-A");
        assert_eq!(caller.kind, KeyType::User);
        assert_eq!(
            verify(&token, &key, ACCOUNT, 200).err(),
            Some(Refused::Expired)
        );
    }

    #[test]
    fn token_of_another_account_or_tampered_is_refused() {
        let subject = Subject {
            account_id: ACCOUNT,
            iam_id: "iam-ServiceId-1",
            email: None,
            kind: KeyType::Service,
        };
        let key = SigningKey::random();
        let token = mint(&key, &subject, 1, 9_999, "j");
        assert_eq!(
            verify(&token, &key, "ffffffffffffffffffffffffffffffff", 5).err(),
            Some(Refused::OtherAccount)
        );
        assert_eq!(
            verify("a.b", &key, ACCOUNT, 5).err(),
            Some(Refused::Malformed)
        );
        let (head, rest) = token.split_at(token.len() - 4);
        let tampered = format!("{head}{}", if rest == "AAAA" { "BBBB" } else { "AAAA" });
        assert_eq!(
            verify(&tampered, &key, ACCOUNT, 5).err(),
            Some(Refused::BadSignature)
        );
        let caller = verify(&token, &key, ACCOUNT, 5).expect("valid");
        assert_eq!(caller.kind, KeyType::Service);
    }

    /// Issue 13: a key derived from the account id let anyone who knows the id mint a
    /// token. Another process's key, and that old derivation, are refused.
    #[test]
    fn only_the_minting_process_key_verifies() {
        let subject = Subject {
            account_id: ACCOUNT,
            iam_id: "IBMid-ADMIN00001",
            email: None,
            kind: KeyType::User,
        };
        let derived = SigningKey(
            Sha256::digest(format!("orgsync-emulator-token-key:{ACCOUNT}").as_bytes()).into(),
        );
        let key = SigningKey::random();
        assert_ne!(key.0, SigningKey::random().0, "a fresh key per process");
        for other in [derived, SigningKey::random()] {
            let forged = mint(&other, &subject, 1, 9_999, "j");
            assert_eq!(
                verify(&forged, &key, ACCOUNT, 5).err(),
                Some(Refused::BadSignature)
            );
        }
    }
}
