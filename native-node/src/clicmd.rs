//! The commands of `zabra cli`, as zkCli 3.8 spells them, parsed from a shell-quoted line
//! (so data may hold spaces: `set /a "hello world"`) into [`Cmd`], then run over the
//! ZooKeeper wire protocol with the `zookeeper-client` crate: the same shell works against
//! Zabra and against Apache ZooKeeper.

use std::time::Duration;
use zookeeper_client as zk;

/// One parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    Ls {
        path: String,
        watch: bool,
        stat: bool,
        recursive: bool,
    },
    Get {
        path: String,
        watch: bool,
        stat: bool,
    },
    Stat {
        path: String,
        watch: bool,
    },
    Set {
        path: String,
        data: String,
        version: Option<i32>,
        stat: bool,
    },
    Create {
        path: String,
        data: Option<String>,
        ephemeral: bool,
        sequential: bool,
        container: bool,
        ttl: Option<u64>,
        acl: Option<String>,
    },
    Delete {
        path: String,
        version: Option<i32>,
    },
    DeleteAll {
        path: String,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: String,
        version: Option<i32>,
    },
    AddAuth {
        scheme: String,
        auth: String,
    },
    Sync {
        path: String,
    },
    AddWatch {
        path: String,
        recursive: bool,
    },
    GetEphemerals {
        path: String,
    },
    WhoAmI,
}

pub const HELP: &str = "ZooKeeper -server host:port,... cmd args
\tls [-s] [-w] [-R] path
\tget [-s] [-w] path
\tstat [-w] path
\tset [-s] [-v version] path data
\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]
\tdelete [-v version] path
\tdeleteall path
\tgetAcl path
\tsetAcl [-v version] path acl
\taddauth scheme auth
\tsync path
\taddWatch [-m mode] path     (mode: PERSISTENT or PERSISTENT_RECURSIVE)
\tgetEphemerals [path]
\twhoami
\thistory | help | quit
Data with spaces goes in quotes: set /a \"hello world\". An acl is scheme:id:perms[,...], e.g. world:anyone:cdrwa.";

/// A command's flags: `-x`, or `-x VALUE`.
type Flags<'a> = Vec<(&'a str, Option<&'a str>)>;

/// Splits the words of a command into its flags (`-x`, `-x VALUE` for the flags in
/// `valued`) and its other arguments.
fn flags<'a>(words: &'a [String], valued: &[&str]) -> Result<(Flags<'a>, Vec<&'a str>), String> {
    let (mut fl, mut rest) = (Vec::new(), Vec::new());
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if w.starts_with('-') && w.len() > 1 && rest.is_empty() {
            if valued.contains(&w.as_str()) {
                let v = it.next().ok_or(format!("{w} needs a value"))?;
                fl.push((w.as_str(), Some(v.as_str())));
            } else {
                fl.push((w.as_str(), None));
            }
        } else {
            rest.push(w.as_str());
        }
    }
    Ok((fl, rest))
}

fn has(fl: &[(&str, Option<&str>)], f: &str) -> bool {
    fl.iter().any(|(k, _)| *k == f)
}

fn value<'a>(fl: &[(&str, Option<&'a str>)], f: &str) -> Option<&'a str> {
    fl.iter().find(|(k, _)| *k == f).and_then(|(_, v)| *v)
}

fn version(v: Option<&str>) -> Result<Option<i32>, String> {
    v.map(|v| v.parse().map_err(|_| format!("bad version {v:?}"))).transpose()
}

/// Parses one shell line; `Ok(None)` for an empty line.
pub fn parse(line: &str) -> Result<Option<Cmd>, String> {
    let words = shell_words::split(line).map_err(|e| format!("cannot read that line: {e}"))?;
    let Some((name, args)) = words.split_first() else { return Ok(None) };
    let (fl, rest) = flags(args, &["-v", "-t", "-m"])?;
    let path = |what: &str| -> Result<String, String> {
        let p = rest.first().ok_or(format!("{what} needs a path"))?;
        if !p.starts_with('/') {
            return Err(format!("Path must start with / character: {p}"));
        }
        Ok(p.to_string())
    };
    Ok(Some(match name.as_str() {
        "ls" => Cmd::Ls { path: path("ls")?, watch: has(&fl, "-w"), stat: has(&fl, "-s"), recursive: has(&fl, "-R") },
        "get" => Cmd::Get { path: path("get")?, watch: has(&fl, "-w"), stat: has(&fl, "-s") },
        "stat" => Cmd::Stat { path: path("stat")?, watch: has(&fl, "-w") },
        "set" => Cmd::Set {
            path: path("set")?,
            data: rest.get(1).ok_or("set needs data")?.to_string(),
            version: version(value(&fl, "-v"))?,
            stat: has(&fl, "-s"),
        },
        "create" => Cmd::Create {
            path: path("create")?,
            data: rest.get(1).map(|d| d.to_string()),
            ephemeral: has(&fl, "-e"),
            sequential: has(&fl, "-s"),
            container: has(&fl, "-c"),
            ttl: value(&fl, "-t").map(|t| t.parse().map_err(|_| format!("bad ttl {t:?}"))).transpose()?,
            acl: rest.get(2).map(|a| a.to_string()),
        },
        "delete" => Cmd::Delete { path: path("delete")?, version: version(value(&fl, "-v"))? },
        "deleteall" | "rmr" => Cmd::DeleteAll { path: path("deleteall")? },
        "getAcl" => Cmd::GetAcl { path: path("getAcl")? },
        "setAcl" => Cmd::SetAcl {
            path: path("setAcl")?,
            acl: rest.get(1).ok_or("setAcl needs an acl")?.to_string(),
            version: version(value(&fl, "-v"))?,
        },
        "addauth" => Cmd::AddAuth {
            scheme: rest.first().ok_or("addauth needs a scheme")?.to_string(),
            auth: rest.get(1).ok_or("addauth needs credentials")?.to_string(),
        },
        "sync" => Cmd::Sync { path: path("sync")? },
        "addWatch" => Cmd::AddWatch {
            path: path("addWatch")?,
            recursive: value(&fl, "-m").is_some_and(|m| m.eq_ignore_ascii_case("persistent_recursive")),
        },
        "getEphemerals" => Cmd::GetEphemerals { path: rest.first().map_or("/".to_string(), |p| p.to_string()) },
        "whoami" => Cmd::WhoAmI,
        other => return Err(format!("unknown command {other:?}; try help")),
    }))
}

/// `scheme:id:perms[,...]` (perms from `cdrwa`) as ACL entries.
pub fn parse_acl(spec: &str) -> Result<Vec<zk::Acl>, String> {
    spec.split(',')
        .map(|e| {
            let (rest, perms) = e.rsplit_once(':').ok_or(format!("bad acl {e:?}: scheme:id:perms"))?;
            let (scheme, id) = rest.split_once(':').ok_or(format!("bad acl {e:?}: scheme:id:perms"))?;
            let mut p = zk::Permission::NONE;
            for c in perms.chars() {
                p = p | match c {
                    'c' => zk::Permission::CREATE,
                    'd' => zk::Permission::DELETE,
                    'r' => zk::Permission::READ,
                    'w' => zk::Permission::WRITE,
                    'a' => zk::Permission::ADMIN,
                    _ => return Err(format!("bad permission {c:?} in {e:?} (use cdrwa)")),
                };
            }
            Ok(zk::Acl::new(p, zk::AuthId::new(scheme, id)))
        })
        .collect()
}

/// A Stat as zkCli prints it.
pub fn stat_text(s: &zk::Stat) -> String {
    format!(
        "cZxid = {:#x}\nctime = {}\nmZxid = {:#x}\nmtime = {}\npZxid = {:#x}\ncversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = {:#x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid, s.ctime, s.mzxid, s.mtime, s.pzxid, s.cversion, s.version, s.aversion, s.ephemeral_owner, s.data_length, s.num_children
    )
}

fn err(e: zk::Error, path: &str) -> String {
    match e {
        zk::Error::NoNode => format!("Node does not exist: {path}"),
        zk::Error::NodeExists => format!("Node already exists: {path}"),
        zk::Error::NotEmpty => format!("Node not empty: {path}"),
        zk::Error::BadVersion => format!("version No is not valid : {path}"),
        zk::Error::NoAuth => format!("Insufficient permission : {path}"),
        other => format!("{other}: {path}"),
    }
}

/// Prints a watch's event when it fires, as zkCli does.
fn show_event(e: zk::WatchedEvent) {
    println!("\nWATCHER::\n\nWatchedEvent state:{:?} type:{:?} path:{}", e.session_state, e.event_type, e.path);
}

fn watch_once(w: zk::OneshotWatcher) {
    tokio::spawn(async move { show_event(w.changed().await) });
}

/// Runs one command; the text zkCli would print.
pub async fn run(c: &zk::Client, cmd: &Cmd) -> Result<String, String> {
    Ok(match cmd {
        Cmd::Ls { path, watch, stat, recursive } if *recursive => {
            let mut out = String::new();
            let mut todo = vec![path.clone()];
            while let Some(p) = todo.pop() {
                out.push_str(&p);
                out.push('\n');
                let mut kids = c.list_children(&p).await.map_err(|e| err(e, &p))?;
                kids.sort();
                for k in kids.into_iter().rev() {
                    todo.push(if p == "/" { format!("/{k}") } else { format!("{p}/{k}") });
                }
            }
            let _ = (watch, stat);
            out
        }
        Cmd::Ls { path, watch, stat, .. } => {
            let (mut kids, st) = if *watch {
                let (k, st, w) = c.get_and_watch_children(path).await.map_err(|e| err(e, path))?;
                watch_once(w);
                (k, st)
            } else {
                c.get_children(path).await.map_err(|e| err(e, path))?
            };
            kids.sort();
            let mut out = format!("[{}]\n", kids.join(", "));
            if *stat {
                out.push_str(&stat_text(&st));
            }
            out
        }
        Cmd::Get { path, watch, stat } => {
            let (data, st) = if *watch {
                let (d, st, w) = c.get_and_watch_data(path).await.map_err(|e| err(e, path))?;
                watch_once(w);
                (d, st)
            } else {
                c.get_data(path).await.map_err(|e| err(e, path))?
            };
            // zkCli prints absent data as `null`.
            let mut out = if data.is_empty() && st.data_length <= 0 {
                "null\n".to_string()
            } else {
                format!("{}\n", String::from_utf8_lossy(&data))
            };
            if *stat {
                out.push_str(&stat_text(&st));
            }
            out
        }
        Cmd::Stat { path, watch } => {
            let st = if *watch {
                let (st, w) = c.check_and_watch_stat(path).await.map_err(|e| err(e, path))?;
                watch_once(w);
                st
            } else {
                c.check_stat(path).await.map_err(|e| err(e, path))?
            };
            st.map_or_else(|| format!("Node does not exist: {path}\n"), |s| stat_text(&s))
        }
        Cmd::Set { path, data, version, stat } => {
            let st = c.set_data(path, data.as_bytes(), *version).await.map_err(|e| err(e, path))?;
            if *stat {
                stat_text(&st)
            } else {
                String::new()
            }
        }
        Cmd::Create { path, data, ephemeral, sequential, container, ttl, acl } => {
            let mode = match (ephemeral, sequential, container) {
                (false, false, false) => zk::CreateMode::Persistent,
                (false, true, false) => zk::CreateMode::PersistentSequential,
                (true, false, false) => zk::CreateMode::Ephemeral,
                (true, true, false) => zk::CreateMode::EphemeralSequential,
                (false, false, true) => zk::CreateMode::Container,
                _ => return Err("those create flags do not combine".into()),
            };
            let acls = match acl {
                Some(a) => parse_acl(a)?,
                None => zk::Acls::anyone_all().to_vec(),
            };
            let mut opts = mode.with_acls(zk::Acls::new(&acls));
            if let Some(t) = ttl {
                opts = opts.with_ttl(Duration::from_millis(*t));
            }
            let bytes = data.as_deref().unwrap_or("").as_bytes();
            let (_, seq) = c.create(path, bytes, &opts).await.map_err(|e| err(e, path))?;
            if *sequential {
                format!("Created {path}{seq}\n")
            } else {
                format!("Created {path}\n")
            }
        }
        Cmd::Delete { path, version } => {
            c.delete(path, *version).await.map_err(|e| err(e, path))?;
            String::new()
        }
        Cmd::DeleteAll { path } => {
            delete_all(c, path).await?;
            String::new()
        }
        Cmd::GetAcl { path } => {
            let (acls, _) = c.get_acl(path).await.map_err(|e| err(e, path))?;
            acls.iter().map(|a| format!("'{},'{}\n: {}\n", a.scheme(), a.id(), perms(a.permission()))).collect()
        }
        Cmd::SetAcl { path, acl, version } => {
            let acls = parse_acl(acl)?;
            c.set_acl(path, &acls, *version).await.map_err(|e| err(e, path))?;
            String::new()
        }
        Cmd::AddAuth { scheme, auth } => {
            c.auth(scheme, auth.as_bytes()).await.map_err(|e| format!("{e}"))?;
            String::new()
        }
        Cmd::Sync { path } => {
            c.sync(path).await.map_err(|e| err(e, path))?;
            "Sync is OK\n".to_string()
        }
        Cmd::AddWatch { path, recursive } => {
            let mode = if *recursive { zk::AddWatchMode::PersistentRecursive } else { zk::AddWatchMode::Persistent };
            let mut w = c.watch(path, mode).await.map_err(|e| err(e, path))?;
            tokio::spawn(async move {
                loop {
                    let e = w.changed().await;
                    let end = e.event_type == zk::EventType::Session && e.session_state.is_terminated();
                    show_event(e);
                    if end {
                        break;
                    }
                }
            });
            String::new()
        }
        Cmd::GetEphemerals { path } => {
            let mut es = c.list_ephemerals(path).await.map_err(|e| err(e, path))?;
            es.sort();
            format!("[{}]\n", es.join(", "))
        }
        Cmd::WhoAmI => {
            let users = c.list_auth_users().await.map_err(|e| format!("{e}"))?;
            users.iter().map(|u| format!("Auth scheme: User\n{}: {}\n", u.scheme(), u.user())).collect()
        }
    })
}

fn perms(p: zk::Permission) -> String {
    [
        (zk::Permission::CREATE, 'c'),
        (zk::Permission::DELETE, 'd'),
        (zk::Permission::READ, 'r'),
        (zk::Permission::WRITE, 'w'),
        (zk::Permission::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(x, _)| p.has(*x))
    .map(|(_, c)| *c)
    .collect()
}

async fn delete_all(c: &zk::Client, path: &str) -> Result<(), String> {
    let kids = match c.list_children(path).await {
        Ok(k) => k,
        Err(zk::Error::NoNode) => return Ok(()),
        Err(e) => return Err(err(e, path)),
    };
    for k in kids {
        let p = if path == "/" { format!("/{k}") } else { format!("{path}/{k}") };
        Box::pin(delete_all(c, &p)).await?;
    }
    if path == "/" {
        return Ok(());
    }
    match c.delete(path, None).await {
        Ok(()) | Err(zk::Error::NoNode) => Ok(()),
        Err(e) => Err(err(e, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_as_zkcli_spells_them() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(
            parse("set -v 3 /a \"hello world\"").unwrap(),
            Some(Cmd::Set { path: "/a".into(), data: "hello world".into(), version: Some(3), stat: false })
        );
        assert_eq!(
            parse("create -e -s /q/item- 'x y'").unwrap(),
            Some(Cmd::Create {
                path: "/q/item-".into(),
                data: Some("x y".into()),
                ephemeral: true,
                sequential: true,
                container: false,
                ttl: None,
                acl: None
            })
        );
        assert_eq!(
            parse("ls -w -s /").unwrap(),
            Some(Cmd::Ls { path: "/".into(), watch: true, stat: true, recursive: false })
        );
        assert_eq!(
            parse("addWatch -m PERSISTENT_RECURSIVE /a").unwrap(),
            Some(Cmd::AddWatch { path: "/a".into(), recursive: true })
        );
        assert!(parse("get a").unwrap_err().contains("must start with /"));
        assert!(parse("frob /a").unwrap_err().contains("unknown command"));
        assert!(parse("set /a \"unclosed").is_err());
        assert!(parse("set -v x /a b").unwrap_err().contains("bad version"));
    }

    #[test]
    fn acls_parse() {
        let a = parse_acl("world:anyone:cdrwa,digest:bob:xyz=:r").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!((a[1].scheme(), a[1].id()), ("digest", "bob:xyz="));
        assert_eq!(perms(a[0].permission()), "cdrwa");
        assert_eq!(perms(a[1].permission()), "r");
        assert!(parse_acl("world:anyone:q").is_err());
    }
}
