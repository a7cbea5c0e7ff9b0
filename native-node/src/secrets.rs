//! Secrets of a node: session passwords, admin and viewer tokens, the cluster secret.
//!
//! Every secret comes from the OS random source (`getrandom`), never from the core's seeded
//! PRNG (which the simulator needs to be deterministic, and which an attacker can invert).
//! Files holding secrets are created with mode 0600; tokens are compared in constant time.

use std::io::Write;
use std::path::Path;

/// `N` bytes from the OS random source. A machine without one cannot run a node safely.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS random source is available");
    b
}

/// A fresh token: 128 random bits as 32 hex digits.
pub fn random_token() -> String {
    random_bytes::<16>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal, compared in time that does not depend on where they differ.
pub fn token_eq(given: &str, expected: &str) -> bool {
    constant_time_eq::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// Write `contents` to `path`, readable and writable by the owner only (0600), replacing
/// any file there (its old mode included).
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn tokens_are_fresh_and_128_bits() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(token_eq(&a, &a.clone()));
        assert!(!token_eq(&a, &b));
        assert!(!token_eq(&a, &a[..31]));
    }

    #[test]
    fn private_files_are_0600_even_over_an_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&p, b"new").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }
}
