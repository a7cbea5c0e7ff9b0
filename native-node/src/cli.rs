//! `zabra cli`: a zkCli-like shell over the ZooKeeper wire protocol (the `zookeeper-client`
//! crate), so it works against Zabra and against Apache ZooKeeper alike. Interactive with
//! line editing and history (rustyline), or one command from the arguments. Lines are
//! shell-quoted: `set /a "hello world"`. The commands are in `clicmd.rs`.

use crate::clicmd::{self, Cmd, HELP};
use std::time::Duration;
use zookeeper_client as zk;

#[derive(clap::Args, Debug)]
pub struct CliArgs {
    /// The ZooKeeper connect string: client ports, comma-separated (Zabra's or Apache
    /// ZooKeeper's), e.g. 127.0.0.1:2181,127.0.0.1:2182.
    #[arg(long, default_value = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")]
    pub server: String,
    /// Session timeout in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: u64,
    /// One command to run (otherwise: an interactive shell), e.g. `create -e /a x`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

async fn connect(server: &str, timeout_ms: u64) -> Result<zk::Client, String> {
    let connect = zk::Client::connector()
        .with_session_timeout(Duration::from_millis(timeout_ms))
        .with_connection_timeout(Duration::from_secs(5))
        .connect(server);
    match tokio::time::timeout(Duration::from_secs(20), connect).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("cannot connect to {server}: {e}")),
        Err(_) => Err(format!("cannot connect to {server} within 20 s")),
    }
}

/// Ends the session (its ephemerals go at once, as when zkCli quits): dropping the last
/// handle sends CloseSession; wait briefly for the session to say it closed.
async fn close(c: zk::Client) {
    let mut state = c.state_watcher();
    drop(c);
    let closed = async { while !state.changed().await.is_terminated() {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), closed).await;
}

/// Runs one line; `Ok(false)` asks the shell to end.
async fn line(c: &zk::Client, text: &str) -> Result<bool, String> {
    match text.split_whitespace().next() {
        None => Ok(true),
        Some("quit" | "exit") => Ok(false),
        Some("help") => {
            println!("{HELP}");
            Ok(true)
        }
        Some(_) => {
            if let Some(cmd) = clicmd::parse(text)? {
                print!("{}", clicmd::run(c, &cmd).await?);
            }
            Ok(true)
        }
    }
}

pub async fn run(a: CliArgs) -> Result<(), String> {
    let c = connect(&a.server, a.timeout_ms).await?;
    if !a.command.is_empty() {
        // The words are already split by the shell that started us: quote them back.
        let text = shell_words::join(&a.command);
        let cmd = clicmd::parse(&text)?.ok_or("no command given")?;
        let out = clicmd::run(&c, &cmd).await;
        // A watch set by a one-shot command fires only while we wait: wait briefly for it.
        if matches!(cmd, Cmd::Get { watch: true, .. } | Cmd::Ls { watch: true, .. } | Cmd::Stat { watch: true, .. }) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        close(c).await;
        return out.map(|o| print!("{o}"));
    }
    println!("Connected to {} (session {:#x}). Type help.", a.server, c.session_id().0);
    let mut rl = rustyline::DefaultEditor::new().map_err(|e| format!("no line editor: {e}"))?;
    let history = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".zabra_cli_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut n = 0;
    loop {
        let prompt = format!("[zk: {}({:?}) {n}] ", a.server, c.state());
        // rustyline blocks; the runtime's other workers keep the session and watches going.
        let read = tokio::task::block_in_place(|| rl.readline(&prompt));
        let text = match read {
            Ok(t) => t,
            Err(rustyline::error::ReadlineError::Interrupted | rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(format!("cannot read a line: {e}")),
        };
        if !text.trim().is_empty() {
            let _ = rl.add_history_entry(text.as_str());
            n += 1;
        }
        if text.trim() == "history" {
            for (i, h) in rl.history().iter().enumerate() {
                println!("{i} - {h}");
            }
            continue;
        }
        match line(&c, &text).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => println!("{e}"),
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    close(c).await;
    Ok(())
}
