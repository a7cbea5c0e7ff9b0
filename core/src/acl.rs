//! ACLs: permissions, schemes and identities (wire reference §11).

use serde::{Deserialize, Serialize};

pub const READ: u32 = 1;
pub const WRITE: u32 = 2;
pub const CREATE: u32 = 4;
pub const DELETE: u32 = 8;
pub const ADMIN: u32 = 16;
pub const ALL: u32 = 31;

/// An identity: `scheme:id`, e.g. `world:anyone`, `digest:user:base64hash`, `ip:10.0.0.1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

impl Id {
    pub fn new(scheme: &str, id: &str) -> Id {
        Id { scheme: scheme.to_string(), id: id.to_string() }
    }
}

/// One ACL entry: the permissions granted to an identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    pub perms: u32,
    pub id: Id,
}

/// `world:anyone` with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
pub fn open_acl_unsafe() -> Vec<Acl> {
    vec![Acl { perms: ALL, id: Id::new("world", "anyone") }]
}

/// The digest identity for `user:password`: `user:base64(sha1("user:password"))` (§11.2).
pub fn digest_id(user_password: &str) -> String {
    use base64::Engine;
    let user = user_password.split(':').next().unwrap_or("");
    let hash = sha1_smol::Sha1::from(user_password.as_bytes()).digest().bytes();
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

#[cfg(test)]
mod tests {
    #[test]
    fn digest_matches_zookeeper() {
        // ✔wire in the reference: kazoo's make_digest_acl and the server agree.
        assert_eq!(super::digest_id("user:pass"), "user:smGaoVKd/cQkjm7b88GyorAUz20=");
    }
}
