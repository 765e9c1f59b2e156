//! Ids in IBM's shapes (UUIDs, IBMid suffixes, hex digests), derived by hashing their
//! inputs: the synthetic accounts are the same for the same seed, and the ids the store
//! mints look like IBM's without a random generator. The one exception is what must not be
//! guessed ([`random_bytes`]): the token-signing key and temporary file names.

use sha2::{Digest, Sha256};

/// SHA-256 of the parts, each prefixed by its length so that `["ab", "c"]` and
/// `["a", "bc"]` differ.
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A UUID-shaped (version 4 layout) string derived from the inputs.
pub(crate) fn uuid_from(parts: &[&[u8]]) -> String {
    let h = hex(&digest(parts));
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Ten upper-case base-36 characters derived from the inputs, as IBMid suffixes look.
pub(crate) fn ibmid_suffix(parts: &[&[u8]]) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let d = digest(parts);
    d.iter()
        .take(10)
        .map(|b| char::from(ALPHABET[usize::from(*b) % 36]))
        .collect()
}

/// Bytes from the operating system's random source. Without one (which no supported
/// platform lacks) the clock and the process id stand in, hashed.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if getrandom::getrandom(&mut out).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (counter, chunk) in (0u64..).zip(out.chunks_mut(32)) {
            let d = digest(&[
                &now.to_le_bytes(),
                &std::process::id().to_le_bytes(),
                &counter.to_le_bytes(),
            ]);
            chunk.copy_from_slice(&d[..chunk.len()]);
        }
    }
    out
}

pub(crate) fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes::<8>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_ibms_shapes_and_depend_on_every_part() {
        let uuid = uuid_from(&[b"a", b"b"]);
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.chars().nth(14), Some('4'));
        assert_ne!(uuid, uuid_from(&[b"ab"]), "parts are length-prefixed");
        let suffix = ibmid_suffix(&[b"x"]);
        assert_eq!(suffix.len(), 10);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
}
