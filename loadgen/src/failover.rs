//! `zabra-loadgen failover`: how long a client waits for its first write after the leader
//! dies (SIGKILL) or falls silent (SIGSTOP).
//!
//! The client is connected to the servers the caller names (the followers, so that the
//! figure is the ensemble's failover and not the client's own detection of a dead server);
//! it writes once to be sure the cluster serves, signals the leader's PID, then writes one
//! request at a time (each bounded by a timeout, a new session if the old one expired) until
//! one issued after the signal succeeds. The time from the signal to that reply is the
//! figure. The caller resumes or restarts the leader afterwards.

use crate::Result;
use nix::sys::signal::Signal;
use serde_json::json;
use std::time::{Duration, Instant};
use zookeeper_client::{Client, Error};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Sig {
    /// SIGKILL: the leader's process ends, its sockets close.
    Kill,
    /// SIGSTOP: the leader stays, silent (its sockets stay open).
    Stop,
}

#[derive(clap::Args, Debug)]
pub struct FailoverArgs {
    /// Connect string of the servers the client may use (the followers).
    #[arg(long)]
    pub servers: String,
    /// PID of the leader's process.
    #[arg(long)]
    pub pid: i32,
    #[arg(long, value_enum)]
    pub signal: Sig,
    /// The znode written (created if missing).
    #[arg(long)]
    pub path: String,
    /// Longest wait for the first write after the signal, in seconds.
    #[arg(long, default_value_t = 90.0)]
    pub timeout: f64,
}

async fn write(client: &Client, path: &str) -> std::result::Result<(), Error> {
    let limit = Duration::from_secs(2);
    match tokio::time::timeout(limit, client.set_data(path, b"failover", None)).await {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(Error::Timeout),
    }
}

pub async fn run(a: FailoverArgs) -> Result<serde_json::Value> {
    let mut client = crate::connect(&a.servers).await?;
    crate::ensure_path(&client, &a.path).await?;
    write(&client, &a.path).await.map_err(|e| format!("write before the signal: {e}"))?;
    let signal = match a.signal {
        Sig::Kill => Signal::SIGKILL,
        Sig::Stop => Signal::SIGSTOP,
    };
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(a.pid), signal).map_err(|e| format!("signal {}: {e}", a.pid))?;
    let until = t0 + Duration::from_secs_f64(a.timeout);
    let (mut attempts, mut sessions) = (0u64, 1u64);
    let mut errors = std::collections::BTreeMap::<String, u64>::new();
    while Instant::now() < until {
        attempts += 1;
        match write(&client, &a.path).await {
            Ok(()) => {
                return Ok(json!({
                    "signal": format!("{:?}", a.signal).to_lowercase(),
                    "first_write_ms": t0.elapsed().as_secs_f64() * 1e3,
                    "attempts": attempts,
                    "sessions": sessions,
                    "errors": errors,
                }));
            }
            Err(e) => {
                *errors.entry(e.to_string()).or_default() += 1;
                if matches!(e, Error::SessionExpired | Error::ClientClosed) {
                    if let Ok(c) = crate::connect(&a.servers).await {
                        client = c;
                        sessions += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    Err(format!("no successful write within {} s of the signal (errors: {errors:?})", a.timeout).into())
}
