//! Znode paths: ZooKeeper's `PathUtils.validatePath` and the cheaper checks the server runs
//! before it (wire reference §9).
//!
//! ZooKeeper validates Java UTF-16 code units. A Rust `str` is already valid Unicode, and
//! every character outside the BMP would be a surrogate pair in Java (U+D800–U+DFFF, which
//! ZooKeeper forbids), so rejecting chars above U+FFFF gives the same answer.

use crate::txn::ErrorCode;

/// The root and the nodes ZooKeeper creates itself. None of them can be deleted
/// (`DataTree.isSpecialPath`, checked by `PrepRequestProcessor.getParentPathAndValidate`).
pub const ROOT: &str = "/";
pub const ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA: &str = "/zookeeper/quota";
pub const CONFIG: &str = "/zookeeper/config";

/// ZooKeeper's full path validation (`PathUtils.validatePath`): absolute, no trailing `/`,
/// no empty, `.` or `..` segment, and none of the forbidden characters. Any failure is
/// `BadArguments`, the code the server answers with.
pub fn validate_path(path: &str) -> Result<(), ErrorCode> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(ErrorCode::BadArguments);
    };
    if rest.is_empty() {
        return Ok(());
    }
    let segment_ok = |seg: &str| !seg.is_empty() && seg != "." && seg != ".." && !seg.chars().any(is_forbidden_char);
    if rest.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(ErrorCode::BadArguments)
    }
}

/// The characters `PathUtils` rejects: NUL and the C0 controls, DEL and the C1 controls,
/// surrogates and the private use area, the specials block; plus every non-BMP character
/// (a surrogate pair in Java).
fn is_forbidden_char(c: char) -> bool {
    matches!(
        u32::from(c),
        0x0000..=0x001F | 0x007F..=0x009F | 0xD800..=0xF8FF | 0xFFF0..=0xFFFF | 0x1_0000..
    )
}

/// Splits a path at its last `/` into (parent, child name), mapping the empty parent to `/`.
///
/// This mirrors ZooKeeper, whose root is stored under both `""` and `"/"`: `/` itself splits
/// into (`/`, `""`), so a create of `/` finds its "parent" and then fails with NodeExists,
/// exactly as the Java server does. `None` when there is no `/` at all.
pub fn split_parent(path: &str) -> Option<(&str, &str)> {
    let slash = path.rfind('/')?;
    let parent = if slash == 0 { ROOT } else { &path[..slash] };
    Some((parent, &path[slash + 1..]))
}

/// The quick check create and delete run before looking anything up
/// (`PrepRequestProcessor`: `lastIndexOf('/') == -1 || indexOf('\0') != -1`).
pub fn fast_check(path: &str) -> Result<(&str, &str), ErrorCode> {
    if path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    split_parent(path).ok_or(ErrorCode::BadArguments)
}

/// Whether `path` is one of the nodes ZooKeeper refuses to delete.
pub fn is_special(path: &str) -> bool {
    matches!(path, ROOT | ZOOKEEPER | QUOTA | CONFIG)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wire reference §9, rules 1–6, plus the ✔wire probes (`e`, `/.`, `/\x01`).
    #[test]
    fn validate_path_follows_path_utils() {
        let ok = [
            "/",
            "/a",
            "/a/b",
            "/...",
            "/.a",
            "/a.",
            "/a/.b/c.",
            "/zookeeper",
            "/é",
            "/日本",
            "/a b",
            "/\u{A0}",
            "/\u{F900}",
            "/\u{FFEF}",
        ];
        for p in ok {
            assert_eq!(validate_path(p), Ok(()), "{p:?} is valid");
        }
        let bad = [
            "",
            "a",
            "e",
            "a/b",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/./a",
            "/a\0",
            "/\x01",
            "/a\x1f",
            "/\x7f",
            "/\u{9F}",
            "/\u{D7FF}x\u{E000}",
            "/\u{F8FF}",
            "/\u{FFF0}",
            "/\u{FFFF}",
            "/\u{1F600}",
            "/\u{10000}",
        ];
        for p in bad {
            assert_eq!(validate_path(p), Err(ErrorCode::BadArguments), "{p:?} is invalid");
        }
        assert_eq!(validate_path("/\u{D7FF}"), Ok(()), "U+D7FF is just below the surrogates");
    }

    #[test]
    fn split_parent_treats_root_as_its_own_parent() {
        assert_eq!(split_parent("/"), Some(("/", "")));
        assert_eq!(split_parent("/a"), Some(("/", "a")));
        assert_eq!(split_parent("/a/b"), Some(("/a", "b")));
        assert_eq!(split_parent("/e/"), Some(("/e", "")));
        assert_eq!(split_parent("e"), None);
    }

    /// §7.2 step 1: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config` (✔wire for the
    /// first two); children of `/zookeeper` are ordinary.
    #[test]
    fn special_paths() {
        for p in [ROOT, ZOOKEEPER, QUOTA, CONFIG] {
            assert!(is_special(p));
        }
        assert!(!is_special("/zookeeper/x"));
        assert!(!is_special("/zookeeper/quota/x"));
    }

    #[test]
    fn fast_check_only_wants_a_slash_and_no_nul() {
        assert_eq!(fast_check("e"), Err(ErrorCode::BadArguments));
        assert_eq!(fast_check("/a\0b"), Err(ErrorCode::BadArguments));
        assert_eq!(fast_check("/a//b"), Ok(("/a/", "b")));
    }
}
