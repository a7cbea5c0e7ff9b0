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

/// The shortest cluster secret accepted, in bytes (whitespace around it ignored).
pub const MIN_CLUSTER_SECRET: usize = 32;

/// The cluster secret in `path`, refused (saying why) if the file is missing, empty, too
/// short, or open to group or others (as ssh refuses such private keys).
pub fn read_cluster_secret(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cluster secret file {shown}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "cluster secret file {shown} has mode {mode:04o}: group and others must have no access (chmod 600 {shown})"
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cluster secret file {shown}: {e}"))?;
    let secret = bytes.trim_ascii();
    if secret.is_empty() {
        return Err(format!("cluster secret file {shown} is empty"));
    }
    if secret.len() < MIN_CLUSTER_SECRET {
        return Err(format!(
            "cluster secret file {shown} holds {} bytes; at least {MIN_CLUSTER_SECRET} are needed",
            secret.len()
        ));
    }
    Ok(secret.to_vec())
}

/// Write a fresh cluster secret (32 bytes from the OS random source, as 64 hex digits, mode
/// 0600) at `path`, unless a file is already there: a restarted cluster keeps its secret.
pub fn ensure_cluster_secret(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let hex: String = random_bytes::<32>().iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, format!("{hex}\n").as_bytes())
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

    #[test]
    fn cluster_secrets_are_fresh_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cluster.secret");
        ensure_cluster_secret(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let first = read_cluster_secret(&p).unwrap();
        assert_eq!(first.len(), 64);
        ensure_cluster_secret(&p).unwrap();
        assert_eq!(read_cluster_secret(&p).unwrap(), first, "an existing secret is kept");
        let q = dir.path().join("other.secret");
        ensure_cluster_secret(&q).unwrap();
        assert_ne!(read_cluster_secret(&q).unwrap(), first);
    }

    #[test]
    fn bad_cluster_secret_files_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let err = |p: &Path| read_cluster_secret(p).unwrap_err();
        assert!(err(&p).contains("No such file"), "{}", err(&p));
        write_private(&p, b"  \n").unwrap();
        assert!(err(&p).contains("is empty"), "{}", err(&p));
        write_private(&p, b"short\n").unwrap();
        assert!(err(&p).contains("at least 32"), "{}", err(&p));
        write_private(&p, &[b'k'; 32]).unwrap();
        assert!(read_cluster_secret(&p).is_ok());
        for mode in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(err(&p).contains("chmod 600"), "{mode:o}: {}", err(&p));
        }
    }
}
