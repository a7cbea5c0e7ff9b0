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
    hex(&prf(secret, DOMAIN, cluster, &[sid]))
}

/// Separates the browser bus keys, and their masks, from any other use of the same keys.
const BUS_DOMAIN: &str = "zabra browser bus key v1";
const MASK_DOMAIN: &str = "zabra browser bus key mask v1";

/// The key browser members `a` and `b` of a native cluster authenticate each other with on
/// their BroadcastChannel (the same handshake as every peer link, keyed by this instead of the
/// secret): `HMAC-SHA256(secret, BUS_DOMAIN ‖ cluster ‖ min ‖ max)`. One key per pair, so a
/// tab knows only the keys of its own pairs: it cannot pose to `b` as `a` (nor to anyone as
/// a native member), exactly as its join token is good for its own sid only.
pub fn bus_key(secret: &[u8], cluster: &str, a: u64, b: u64) -> [u8; 32] {
    prf(secret, BUS_DOMAIN, cluster, &[a.min(b), a.max(b)])
}

/// `bus_key(me, other)` masked with `HMAC-SHA256(join token of me, MASK_DOMAIN ‖ cluster ‖ me ‖
/// other)`, in hex: what a native node publishes (`GET /bus-keys`) so the tab holding `me`'s
/// join token, and only it, learns the key with nothing more to hand out. Each mask is a
/// pseudo-random pad used for one fixed key, so the published value tells nothing without
/// the token.
pub fn wrap_bus_key(secret: &[u8], cluster: &str, me: u64, other: u64) -> String {
    let token = join_token(secret, cluster, me);
    let key = bus_key(secret, cluster, me, other);
    hex(&xor(&key, &prf(token.as_bytes(), MASK_DOMAIN, cluster, &[me, other])))
}

/// The bus key of `me` and `other` from its published wrapping and `me`'s join token (its
/// text); None if `wrapped` is not 64 hex digits.
pub fn unwrap_bus_key(token: &str, cluster: &str, me: u64, other: u64, wrapped: &str) -> Option<[u8; 32]> {
    let w = wrapped.trim();
    if w.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(w.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(xor(&bytes, &prf(token.trim().as_bytes(), MASK_DOMAIN, cluster, &[me, other])))
}

fn prf(key: &[u8], domain: &str, cluster: &str, ids: &[u64]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(domain.as_bytes());
    m.update(&(cluster.len() as u64).to_le_bytes());
    m.update(cluster.as_bytes());
    for id in ids {
        m.update(&id.to_le_bytes());
    }
    m.finalize().into_bytes().into()
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn a_bus_key_is_per_pair_and_only_its_members_unwrap_it() {
        let s = b"secret-secret-secret-secret-1234";
        let k = bus_key(s, "c", 4, 5);
        assert_eq!(k, bus_key(s, "c", 5, 4), "both members derive the same key");
        assert_ne!(k, bus_key(s, "c", 4, 6));
        assert_ne!(k, bus_key(s, "d", 4, 5));
        let (t4, t5, t6) = (join_token(s, "c", 4), join_token(s, "c", 5), join_token(s, "c", 6));
        let w45 = wrap_bus_key(s, "c", 4, 5);
        assert_eq!(unwrap_bus_key(&t4, "c", 4, 5, &w45), Some(k));
        assert_eq!(unwrap_bus_key(&t5, "c", 5, 4, &wrap_bus_key(s, "c", 5, 4)), Some(k));
        // Another member's token (or a wrong one) unwraps nothing useful.
        assert_ne!(unwrap_bus_key(&t6, "c", 4, 5, &w45), Some(k));
        assert_ne!(unwrap_bus_key(&t5, "c", 4, 5, &w45), Some(k));
        assert_ne!(w45, hex(&k), "the published value is not the key");
        assert_eq!(unwrap_bus_key(&t4, "c", 4, 5, "zz"), None);
    }
}
