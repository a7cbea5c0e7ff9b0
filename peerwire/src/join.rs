//! Join tokens: the key a browser peer (or any peer that only dials) proves itself with.
//!
//! A native cluster derives the token of a configured browser member from its cluster secret:
//! `hex(HMAC-SHA256(secret, DOMAIN ‖ cluster ‖ sid))`. Derived rather than random and stored,
//! because every native node must accept the same tab with the same token and they share
//! nothing but the secret and the config: each node computes it alone, across restarts, with
//! no file to distribute or keep in step. HMAC is a pseudo-random function, so a token tells
//! nothing about the secret (nor about another sid's token), and a token is good for one sid of
//! one cluster only: its holder cannot claim another sid or pose as a native member (those
//! prove themselves with the secret). The price: revoking one token means a new cluster secret.
//!
//! The handshake's key is the token's text (its ASCII bytes), which is all a tab holds.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Separates join tokens from any other use of the cluster secret.
const DOMAIN: &str = "zabra join token v1";

/// The join token of `sid` in `cluster`: 64 hex digits.
pub fn join_token(secret: &[u8], cluster: &str, sid: u64) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(DOMAIN.as_bytes());
    m.update(&(cluster.len() as u64).to_le_bytes());
    m.update(cluster.as_bytes());
    m.update(&sid.to_le_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_secret_cluster_and_sid() {
        let t = join_token(b"secret-secret-secret-secret-1234", "c", 4);
        assert_eq!(t.len(), 64);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(t, join_token(b"secret-secret-secret-secret-1234", "c", 4), "every node derives the same");
        assert_ne!(t, join_token(b"secret-secret-secret-secret-1234", "c", 5));
        assert_ne!(t, join_token(b"secret-secret-secret-secret-1234", "d", 4));
        assert_ne!(t, join_token(b"secret-secret-secret-secret-1235", "c", 4));
        assert!(!t.contains("736563726574"), "the secret's hex does not show");
    }
}
