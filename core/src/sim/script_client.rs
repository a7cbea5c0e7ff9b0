//! The `client` command of scenario scripts: ZooKeeper operations in zkCli-like words.
//!
//! ```text
//! client 1 create [-e] [-s] [-c] [-t MS] /path [data]
//! client 1 set /path data [version] | delete /path [version] | check-only inside multi
//! client 1 get /path [watch] | exists /path [watch] | ls /path [watch]
//! client 1 getacl /path | setacl /path world:anyone:cdrwa[,digest:u:hash:r] [version]
//! client 1 addauth digest user:password | whoami
//! client 1 addwatch /path [recursive] | removewatches /path [data|children|any|persistent|recursive]
//! client 1 ephemerals [/prefix] | count /path | sync | ping | close
//! client 1 disconnect | move 2 (reattach the session at peer 2) | vanish 5s (session may expire)
//! client 1 multi create /a x ; set /b y 0 ; check /c 1 ; delete /d
//! client 1 multiread get /a ; ls /b
//! client 1 setwatches data=/a exist=/b child=/c persistent=/d recursive=/e   (since the
//!   client's last seen zxid, as clients do after reconnecting)
//! ```

use crate::datatree::Data;
use crate::peer::ClientOp;
use crate::txn::{CreateMode, Op};
use crate::watch::{AddWatchMode, WatcherType};

fn version(a: Option<&&str>) -> Result<i32, String> {
    a.map_or(Ok(-1), |v| v.parse::<i32>().map_err(|_| format!("bad version {v:?}")))
}

fn parse_create(a: &[&str]) -> Result<Op, String> {
    let (mut e, mut s, mut c, mut ttl) = (false, false, false, None);
    let mut i = 0;
    while let Some(w) = a.get(i).filter(|w| w.starts_with('-')) {
        match *w {
            "-e" => e = true,
            "-s" => s = true,
            "-c" => c = true,
            "-t" => {
                i += 1;
                ttl = Some(a.get(i).and_then(|t| t.parse::<u64>().ok()).ok_or("-t needs milliseconds")?);
            }
            _ => return Err(format!("unknown create flag {w:?}")),
        }
        i += 1;
    }
    let path = a.get(i).ok_or("path needed")?;
    let data = a.get(i + 1).map(|d| d.as_bytes().to_vec()).unwrap_or_default();
    let mode = CreateMode::from_flags(e, s, c, ttl).ok_or("that combination of create flags has no mode")?;
    Ok(Op::create(path, &data, mode))
}

fn parse_write(a: &[&str]) -> Result<Op, String> {
    let path = || a.get(1).map(|s| s.to_string()).ok_or("path needed".to_string());
    Ok(match *a.first().ok_or("op needed")? {
        "create" => parse_create(&a[1..])?,
        "set" => Op::SetData {
            path: path()?,
            data: a.get(2).map_or_else(Data::empty, |d| Data::from(*d)),
            version: version(a.get(3))?,
        },
        "delete" => Op::Delete { path: path()?, version: version(a.get(2))? },
        "check" => Op::Check { path: path()?, version: version(a.get(2))? },
        "setacl" => Op::SetAcl {
            path: path()?,
            acl: crate::acl::parse_acl_spec(a.get(2).ok_or("acl needed")?)?,
            version: version(a.get(3))?,
        },
        "close" => Op::CloseSession,
        other => return Err(format!("unknown write {other:?}")),
    })
}

fn watcher_type(s: Option<&&str>) -> Result<WatcherType, String> {
    Ok(match s.copied().unwrap_or("any") {
        "data" => WatcherType::Data,
        "children" => WatcherType::Children,
        "any" => WatcherType::Any,
        "persistent" => WatcherType::Persistent,
        "recursive" => WatcherType::PersistentRecursive,
        o => return Err(format!("unknown watcher type {o:?}")),
    })
}

/// Everything after `client N`.
pub fn parse_client_op(a: &[&str]) -> Result<ClientOp, String> {
    let path = || a.get(1).map(|s| s.to_string()).ok_or("path needed".to_string());
    let watch = a.contains(&"watch");
    Ok(match *a.first().ok_or("client op needed")? {
        "get" => ClientOp::GetData { path: path()?, watch },
        "exists" => ClientOp::Exists { path: path()?, watch },
        "ls" => ClientOp::GetChildren { path: path()?, watch },
        "getacl" => ClientOp::GetAcl { path: path()? },
        "ephemerals" => ClientOp::GetEphemerals { prefix: a.get(1).unwrap_or(&"/").to_string() },
        "count" => ClientOp::GetAllChildrenNumber { path: path()? },
        "sync" => ClientOp::Sync,
        "ping" => ClientOp::Ping,
        "whoami" => ClientOp::WhoAmI,
        "addauth" => ClientOp::AddAuth {
            scheme: a.get(1).ok_or("scheme needed")?.to_string(),
            auth: a.get(2).ok_or("credentials needed")?.as_bytes().to_vec(),
        },
        "addwatch" => {
            let mode =
                if a.contains(&"recursive") { AddWatchMode::PersistentRecursive } else { AddWatchMode::Persistent };
            ClientOp::AddWatch { path: path()?, mode }
        }
        "removewatches" => ClientOp::RemoveWatches { path: path()?, kind: watcher_type(a.get(2))? },
        "multiread" => {
            let text = a[1..].join(" ");
            let ops = text.split(';').map(|o| parse_client_op(&o.split_whitespace().collect::<Vec<_>>()));
            ClientOp::MultiRead(ops.collect::<Result<_, _>>()?)
        }
        "setwatches" => {
            // setwatches data=/a,/b exist=/c child=/d persistent=/e recursive=/f
            let list = |k: &str| -> Vec<String> {
                a[1..]
                    .iter()
                    .filter_map(|w| w.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                    .flat_map(|v| v.split(',').map(str::to_string))
                    .collect()
            };
            ClientOp::SetWatches {
                relative_zxid: crate::zxid::Zxid::ZERO,
                data: list("data"),
                exist: list("exist"),
                child: list("child"),
                persistent: list("persistent"),
                recursive: list("recursive"),
            }
        }
        "multi" => {
            let text = a[1..].join(" ");
            let ops = text.split(';').map(|o| parse_write(&o.split_whitespace().collect::<Vec<_>>()));
            ClientOp::Write(Op::Multi(ops.collect::<Result<_, _>>()?))
        }
        _ => ClientOp::Write(parse_write(a)?),
    })
}
