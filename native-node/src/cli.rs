//! `zabra cli`: a zkCli-like shell (interactive, or one command from the arguments), over
//! a node's JSON API (`--server` takes HTTP addresses, e.g. 127.0.0.1:8081,127.0.0.1:8082).
//!
//! Commands: ls [-w] PATH | get [-w] PATH | stat PATH | set PATH DATA [VERSION] |
//! create [-e] [-s] [-c] [-t TTL] PATH [DATA] | delete PATH [VERSION] | deleteall PATH |
//! getAcl PATH | setAcl PATH scheme:id:perms[,..] [VERSION] | addauth SCHEME AUTH | sync PATH |
//! addWatch [-m persistent|persistent_recursive] PATH | whoami | quit

use crate::apiclient::ApiClient;
use zabra_core::datatree::Data;
use zabra_core::peer::{ClientOp, ClientResult};
use zabra_core::txn::{CreateMode, Op};
use zabra_core::watch::AddWatchMode;

#[derive(clap::Args, Debug)]
pub struct CliArgs {
    /// HTTP addresses of nodes (comma-separated); the first that answers is used.
    #[arg(long, default_value = "127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083")]
    pub server: String,
    /// One command to run (otherwise: an interactive shell on stdin), e.g. `create -e /a x`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub async fn run(a: CliArgs) -> Result<(), String> {
    let mut c = ApiClient::connect(&a.server, 30_000).await?;
    if !a.command.is_empty() {
        let words: Vec<&str> = a.command.iter().map(String::as_str).collect();
        return exec(&mut c, &words).await.map(|out| print!("{out}"));
    }
    println!("Connected to {} (session {}). Type help.", c.server, c.session["session"]);
    let mut line = String::new();
    loop {
        line.clear();
        eprint!("[zabra: {}] ", c.server);
        if std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            None => {}
            Some("quit" | "exit") => return Ok(()),
            Some("help") => println!("{}", HELP),
            Some(_) => match exec(&mut c, &words).await {
                Ok(out) => print!("{out}"),
                Err(e) => println!("{e}"),
            },
        }
        for e in c.events.drain(..) {
            println!("WATCHER:: {e}");
        }
    }
}

const HELP: &str =
    "ls [-w] PATH | get [-w] PATH | stat PATH | set PATH DATA [V] | create [-e] [-s] [-c] [-t TTL] PATH [DATA]
delete PATH [V] | deleteall PATH | getAcl PATH | setAcl PATH scheme:id:perms[,...] [V] | addauth SCHEME AUTH
sync PATH | addWatch [-m persistent|persistent_recursive] PATH | whoami | quit";

fn create_op(args: &[&str]) -> Result<ClientOp, String> {
    let (mut e, mut s, mut c, mut ttl, mut rest) = (false, false, false, None, Vec::new());
    let mut it = args.iter();
    while let Some(w) = it.next() {
        match *w {
            "-e" => e = true,
            "-s" => s = true,
            "-c" => c = true,
            "-t" => ttl = Some(it.next().and_then(|t| t.parse().ok()).ok_or("-t needs milliseconds")?),
            other => rest.push(other),
        }
    }
    let path = rest.first().ok_or("create needs a path")?;
    // zkCli creates with null data when none is given.
    let data = rest.get(1).map_or(Data::NULL, |d| Data::from(*d));
    let mode = CreateMode::from_flags(e, s, c, ttl).ok_or("those create flags do not combine")?;
    Ok(ClientOp::Write(Op::Create { path: path.to_string(), data, acl: zabra_core::acl::open_acl_unsafe(), mode }))
}

fn version(v: Option<&&str>) -> Result<i32, String> {
    v.map_or(Ok(-1), |v| v.parse().map_err(|_| format!("bad version {v:?}")))
}

fn op_for(words: &[&str]) -> Result<ClientOp, String> {
    let watch = words.contains(&"-w");
    let args: Vec<&str> = words[1..].iter().copied().filter(|w| *w != "-w").collect();
    let path = || args.first().map(|p| p.to_string()).ok_or_else(|| format!("{} needs a path", words[0]));
    Ok(match words[0] {
        "ls" => ClientOp::GetChildren { path: path()?, watch },
        "get" => ClientOp::GetData { path: path()?, watch },
        "stat" => ClientOp::Exists { path: path()?, watch },
        "set" => ClientOp::Write(Op::SetData {
            path: path()?,
            data: args.get(1).map_or_else(Data::empty, |d| Data::from(*d)),
            version: version(args.get(2))?,
        }),
        "create" => create_op(&words[1..])?,
        "delete" => ClientOp::Write(Op::Delete { path: path()?, version: version(args.get(1))? }),
        "getAcl" => ClientOp::GetAcl { path: path()? },
        "setAcl" => ClientOp::Write(Op::SetAcl {
            path: path()?,
            acl: zabra_core::acl::parse_acl_spec(args.get(1).ok_or("setAcl needs an acl")?)?,
            version: version(args.get(2))?,
        }),
        "addauth" => ClientOp::AddAuth {
            scheme: args.first().ok_or("addauth needs a scheme")?.to_string(),
            auth: args.get(1).ok_or("addauth needs credentials")?.as_bytes().to_vec(),
        },
        "sync" => ClientOp::Sync,
        "whoami" => ClientOp::WhoAmI,
        "addWatch" => {
            let recursive = words.windows(2).any(|w| w == ["-m", "persistent_recursive"]);
            let p = args.iter().rev().find(|a| a.starts_with('/')).ok_or("addWatch needs a path")?;
            let mode = if recursive { AddWatchMode::PersistentRecursive } else { AddWatchMode::Persistent };
            ClientOp::AddWatch { path: p.to_string(), mode }
        }
        other => return Err(format!("unknown command {other:?}; try help")),
    })
}

/// Run one command; the text zkCli would print.
pub async fn exec(c: &mut ApiClient, words: &[&str]) -> Result<String, String> {
    if words.first() == Some(&"deleteall") {
        let path = words.get(1).ok_or("deleteall needs a path")?;
        return delete_all(c, path).await.map(|_| String::new());
    }
    let op = op_for(words)?;
    Ok(show(&c.result(&op).await?))
}

async fn delete_all(c: &mut ApiClient, path: &str) -> Result<(), String> {
    if let ClientResult::Children { children, .. } =
        c.result(&ClientOp::GetChildren { path: path.into(), watch: false }).await?
    {
        for child in children {
            let p = if path == "/" { format!("/{child}") } else { format!("{path}/{child}") };
            Box::pin(delete_all(c, &p)).await?;
        }
    }
    match c.result(&ClientOp::Write(Op::Delete { path: path.into(), version: -1 })).await? {
        ClientResult::Error(e) => Err(format!("{e:?}: {path}")),
        _ => Ok(()),
    }
}

fn show(r: &ClientResult) -> String {
    match r {
        ClientResult::Children { children, .. } => format!("[{}]\n", children.join(", ")),
        // zkCli prints null data as `null`.
        ClientResult::Data { data, stat } => match data.as_option() {
            Some(d) => format!("{}\n{}", String::from_utf8_lossy(d), stat_text(stat)),
            None => format!("null\n{}", stat_text(stat)),
        },
        ClientResult::Exists(Some(stat)) => stat_text(stat),
        ClientResult::Exists(None) => "Node does not exist\n".into(),
        ClientResult::Error(e) => format!("Error: {e:?} ({})\n", e.code()),
        other => format!("{}\n", zabra_core::describe::client_result(other)),
    }
}

fn stat_text(s: &zabra_core::datatree::Stat) -> String {
    format!(
        "cZxid = {}\nctime = {}\nmZxid = {}\nmtime = {}\npZxid = {}\ncversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}\n",
        s.czxid, s.ctime, s.mzxid, s.mtime, s.pzxid, s.cversion, s.version, s.aversion, s.ephemeral_owner, s.data_length, s.num_children
    )
}
