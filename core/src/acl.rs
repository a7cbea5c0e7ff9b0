//! ACLs: permissions, schemes and identities (wire reference §11).

use crate::txn::ErrorCode;
use serde::{Deserialize, Serialize};
// `core::net` holds only address values (parsing, no sockets): the core stays sans-IO.
use core::net::Ipv6Addr;

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

/// `world:anyone` with READ only (ZooDefs.Ids.READ_ACL_UNSAFE), the ACL of `/zookeeper/config`.
pub fn read_acl_unsafe() -> Vec<Acl> {
    vec![Acl { perms: READ, id: Id::new("world", "anyone") }]
}

/// A znode's ACL as stored: shared, so the nodes that carry the same list (nearly all of them,
/// in practice `world:anyone`) hold one copy instead of three allocations each.
pub type SharedAcl = std::sync::Arc<[Acl]>;

/// `acl` as stored in a node. The well-known lists come from one copy each (a create's ACL
/// otherwise cost about a hundred bytes in three allocations per znode).
pub fn shared(acl: Vec<Acl>) -> SharedAcl {
    static OPEN: std::sync::OnceLock<SharedAcl> = std::sync::OnceLock::new();
    static READ_ONLY: std::sync::OnceLock<SharedAcl> = std::sync::OnceLock::new();
    let well_known = [(&OPEN, open_acl_unsafe as fn() -> Vec<Acl>), (&READ_ONLY, read_acl_unsafe)];
    for (cell, make) in well_known {
        let one = cell.get_or_init(|| SharedAcl::from(make()));
        if **one == *acl {
            return one.clone();
        }
    }
    SharedAcl::from(acl)
}

/// The identity that passes every check (`ZooKeeperServer.checkACL` looks at the scheme only).
pub fn super_id() -> Id {
    Id::new("super", "")
}

/// `PrepRequestProcessor.fixupACL` (§11.3), run by create and setACL: duplicates go (first one
/// kept), an empty list is InvalidACL, `world` is valid only with `anyone`, `auth` becomes one
/// entry per authenticated identity of the caller (digest, sasl, x509 — not ip, not super; none
/// at all is InvalidACL), `digest` and `ip` ids must be well formed, any other scheme is
/// InvalidACL (no provider). Permissions are not validated. As in ZooKeeper, the expanded list is
/// not de-duplicated again.
pub fn fixup_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mine: Vec<&Id> = auth.iter().filter(|id| is_authenticated_scheme(&id.scheme)).collect();
            if mine.is_empty() {
                return Err(ErrorCode::InvalidAcl);
            }
            out.extend(mine.into_iter().map(|id| Acl { perms: a.perms, id: id.clone() }));
        } else if is_valid_id(&a.id) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// Schemes whose providers say `isAuthenticated()`: what an `auth` ACL expands into.
fn is_authenticated_scheme(scheme: &str) -> bool {
    matches!(scheme, "digest" | "sasl" | "x509")
}

/// `isValid` of the providers ZooKeeper registers by default: digest and ip. Other schemes
/// (world with another id, super, sasl, x509 without their providers) are not valid ACL ids.
pub fn is_valid_id(id: &Id) -> bool {
    match id.scheme.as_str() {
        "digest" => java_split_count(&id.id, ':') == 2,
        "ip" => parse_cidr(&id.id).is_some(),
        _ => false,
    }
}

/// `s.split(c).length` in Java: trailing empty strings are dropped, so `"u:"` has 1 part and
/// `"u:h:"` has 2 (`DigestAuthenticationProvider.isValid` wants exactly 2).
fn java_split_count(s: &str, c: char) -> usize {
    let parts: Vec<&str> = s.split(c).collect();
    parts.iter().rposition(|p| !p.is_empty()).map_or(0, |last| last + 1)
}

/// `ZooKeeperServer.checkACL` (§11.4): an empty ACL allows everything, a `super` identity
/// passes everything, otherwise some entry granting `perm` must match one of `auth`
/// (`world:anyone` matches everyone, digest by equality, ip by CIDR). `NoAuth` when denied.
pub fn check_acl(acl: &[Acl], perm: u32, auth: &[Id]) -> Result<(), ErrorCode> {
    if acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
        return Ok(());
    }
    let granted = acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        (a.id.scheme == "world" && a.id.id == "anyone")
            || auth.iter().any(|who| who.scheme == a.id.scheme && id_matches(&a.id, &who.id))
    });
    if granted {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// Whether anyone at all may READ under this ACL (`world:anyone` with READ, or an empty ACL):
/// only then may a trace, which every viewer of `/observe` reads, show the node's data, child
/// names and ACL ids.
pub fn grants_world_read(acl: &[Acl]) -> bool {
    check_acl(acl, READ, &[]).is_ok()
}

/// `matches` of the digest and ip providers; schemes without a provider match nothing.
fn id_matches(acl_id: &Id, caller: &str) -> bool {
    match acl_id.scheme.as_str() {
        "digest" => acl_id.id == caller,
        "ip" => ip_matches(&acl_id.id, caller),
        _ => false,
    }
}

/// `IPAuthenticationProvider.matches`: `addr` or `addr/bits` (IPv4 or IPv6) against the
/// caller's address, both masked to `bits`.
pub fn ip_matches(acl_expr: &str, caller: &str) -> bool {
    let Some((mut net, bits)) = parse_cidr(acl_expr) else {
        return false;
    };
    let Some(mut addr) = addr_bytes(caller) else {
        return false;
    };
    if addr.len() != net.len() {
        return false;
    }
    mask(&mut net, bits);
    mask(&mut addr, bits);
    net == addr
}

/// `addr` or `addr/bits`, with `0 <= bits <= address bits` (`IPAuthenticationProvider.isValid`).
fn parse_cidr(expr: &str) -> Option<(Vec<u8>, usize)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let bytes = addr_bytes(addr)?;
    let max = bytes.len() * 8;
    let bits = match bits {
        None => max,
        Some(b) => usize::try_from(b.parse::<i32>().ok()?).ok().filter(|&b| b <= max)?,
    };
    Some((bytes, bits))
}

/// `addr2Bytes`: IPv6 when the text has a `:`, otherwise four dot-separated Java ints in
/// 0..=255 (so `010` is 10, as `Integer.parseInt` reads it).
fn addr_bytes(addr: &str) -> Option<Vec<u8>> {
    if addr.contains(':') {
        return addr.parse::<Ipv6Addr>().ok().map(|a| a.octets().to_vec());
    }
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    parts.iter().map(|p| p.parse::<i32>().ok().and_then(|v| u8::try_from(v).ok())).collect()
}

fn mask(bytes: &mut [u8], bits: usize) {
    for (i, b) in bytes.iter_mut().enumerate() {
        let keep = bits.saturating_sub(i * 8).min(8);
        *b &= if keep == 0 { 0 } else { 0xFFu8 << (8 - keep) };
    }
}

/// The digest identity for `user:password`: `user:base64(sha1("user:password"))` (§11.2).
pub fn digest_id(user_password: &str) -> String {
    use base64::Engine;
    let user = user_password.split(':').next().unwrap_or("");
    let hash = sha1_smol::Sha1::from(user_password.as_bytes()).digest().bytes();
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// Permission letters as zkCli writes them (`crwda`) to bits.
pub fn parse_perms(s: &str) -> Result<u32, String> {
    s.chars().try_fold(0u32, |acc, c| {
        let bit = match c {
            'r' => READ,
            'w' => WRITE,
            'c' => CREATE,
            'd' => DELETE,
            'a' => ADMIN,
            _ => return Err(format!("bad permission {c:?} (use crwda)")),
        };
        Ok(acc | bit)
    })
}

/// zkCli's ACL syntax: `scheme:id:perms`, comma-separated (the id may itself hold ':', as
/// digest ids do).
pub fn parse_acl_spec(s: &str) -> Result<Vec<Acl>, String> {
    s.split(',')
        .map(|e| {
            let (rest, p) = e.rsplit_once(':').ok_or(format!("bad acl {e:?}"))?;
            let (scheme, id) = rest.split_once(':').ok_or(format!("bad acl {e:?}"))?;
            Ok(Acl { perms: parse_perms(p)?, id: Id::new(scheme, id) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(perms: u32, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id::new(scheme, id) }
    }

    /// §11.3: dedupe, empty, world only with anyone, auth expansion, digest and ip validity.
    #[test]
    fn fixup_follows_zookeeper() {
        let none: &[Id] = &[];
        assert_eq!(fixup_acl(&[], none), Err(ErrorCode::InvalidAcl));
        let open = acl(ALL, "world", "anyone");
        assert_eq!(fixup_acl(&[open.clone(), open.clone()], none), Ok(vec![open.clone()]));
        assert_eq!(fixup_acl(&[acl(ALL, "world", "x")], none), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup_acl(&[acl(ALL, "super", "")], none), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup_acl(&[acl(ALL, "sasl", "u")], none), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup_acl(&[acl(ALL, "auth", "")], none), Err(ErrorCode::InvalidAcl));
        let ip_only = [Id::new("ip", "127.0.0.1"), super_id()];
        assert_eq!(fixup_acl(&[acl(ALL, "auth", "")], &ip_only), Err(ErrorCode::InvalidAcl));
        let me = Id::new("digest", &digest_id("user:pass"));
        let two = [Id::new("ip", "127.0.0.1"), me.clone(), Id::new("digest", "b:h")];
        let want = vec![acl(READ, "digest", &me.id), acl(READ, "digest", "b:h"), open.clone()];
        assert_eq!(fixup_acl(&[acl(READ, "auth", "ignored"), open.clone()], &two), Ok(want));
        for good in ["u:h", ":h", "u:h:"] {
            assert!(is_valid_id(&Id::new("digest", good)), "{good}");
        }
        for bad in ["", "u", "u:", ":", "u::", "a:b:c"] {
            assert!(!is_valid_id(&Id::new("digest", bad)), "{bad}");
        }
        for good in ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "010.1.1.1", "::1", "fe80::/10", "1.2.3.4/32"] {
            assert!(is_valid_id(&Id::new("ip", good)), "{good}");
        }
        for bad in ["10.0.0", "10.0.0.256", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/x", "host", "::1/129", ""] {
            assert!(!is_valid_id(&Id::new("ip", bad)), "{bad}");
        }
    }

    /// §11.4: empty ACL, super, world, digest equality, ip CIDR, the needed bit.
    #[test]
    fn checks_follow_zookeeper() {
        let none: &[Id] = &[];
        assert_eq!(check_acl(&[], ADMIN, none), Ok(()));
        assert_eq!(check_acl(&open_acl_unsafe(), ADMIN, none), Ok(()));
        assert_eq!(check_acl(&read_acl_unsafe(), WRITE, none), Err(ErrorCode::NoAuth));
        assert_eq!(check_acl(&read_acl_unsafe(), WRITE, &[Id::new("super", "x")]), Ok(()));
        let d = [acl(READ | WRITE, "digest", &digest_id("user:pass"))];
        let user = [Id::new("digest", "user:smGaoVKd/cQkjm7b88GyorAUz20=")];
        assert_eq!(check_acl(&d, WRITE, &user), Ok(()));
        assert_eq!(check_acl(&d, DELETE, &user), Err(ErrorCode::NoAuth));
        assert_eq!(check_acl(&d, READ, &[Id::new("digest", "user:x")]), Err(ErrorCode::NoAuth));
        let net = [acl(READ, "ip", "10.1.0.0/16")];
        assert_eq!(check_acl(&net, READ, &[Id::new("ip", "10.1.200.3")]), Ok(()));
        assert_eq!(check_acl(&net, READ, &[Id::new("ip", "10.2.0.1")]), Err(ErrorCode::NoAuth));
        assert_eq!(check_acl(&net, READ, &[Id::new("digest", "10.1.0.1")]), Err(ErrorCode::NoAuth));
        assert!(ip_matches("10.1.2.3", "10.1.2.3"));
        assert!(!ip_matches("10.1.2.3", "10.1.2.4"));
        assert!(ip_matches("10.1.2.0/23", "10.1.3.255"));
        assert!(ip_matches("0.0.0.0/0", "192.168.1.1"));
        assert!(ip_matches("fe80::/10", "fe80::1"));
        assert!(!ip_matches("fe80::/10", "10.0.0.1"));
        assert!(!ip_matches("10.0.0.1", "nonsense"));
    }

    #[test]
    fn digest_matches_zookeeper() {
        // ✔wire in the reference: kazoo's make_digest_acl and the server agree.
        assert_eq!(super::digest_id("user:pass"), "user:smGaoVKd/cQkjm7b88GyorAUz20=");
    }
}
