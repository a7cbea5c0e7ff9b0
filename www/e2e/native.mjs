// Helpers for end-to-end tests against a native `zabra cluster` (edge.mjs, mixed.mjs): start
// and stop it (by its PID), find its leader, get a join token, and a JSON-API client (npm
// `ws`). Loopback only; every wait bounded.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import WS from 'ws';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function assert(ok, msg) {
  if (!ok) throw new Error(msg);
}

export async function get(url, init) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
  return { status: r.status, text: await r.text() };
}

/// Polls `f` every 100 ms until it returns a truthy value; bounded by `ms`.
export async function until(what, ms, f) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await f();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
}

/// A `zabra cluster` under `work` (emptied first), its output in `work/cluster.log`.
export class Cluster {
  constructor(zabra, work, offset, token, args) {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const log = fs.openSync(path.join(work, 'cluster.log'), 'w');
    const all = ['cluster', ...args, '--port-offset', String(offset), '--admin-token', token];
    all.push('--data-dir', path.join(work, 'data'));
    this.child = spawn(zabra, all, { stdio: ['ignore', log, log] });
    this.offset = offset;
    this.token = token;
  }

  http(id) {
    return `http://127.0.0.1:${8080 + id + this.offset}`;
  }

  async leader(ids) {
    for (const id of ids) {
      const h = await get(`${this.http(id)}/healthz`).catch(() => null);
      if (!h || h.status !== 200) continue;
      const st = JSON.parse(h.text).status;
      if (st.state === 'Leading' && st.serving) return id;
    }
    return null;
  }

  async joinToken(sid) {
    const j = await get(`${this.http(1)}/join?sid=${sid}&token=${this.token}`);
    assert(j.status === 200, `GET /join?sid=${sid}: ${j.status} ${j.text}`);
    return JSON.parse(j.text).join_token;
  }

  async kill(id) {
    await this.control(id, 'kill');
  }

  async restart(id) {
    await this.control(id, 'restart');
  }

  async control(id, action) {
    const url = `http://127.0.0.1:${8080 + this.offset}/nodes/${id}/${action}?token=${this.token}`;
    const k = await get(url, { method: 'POST' });
    assert(k.status === 200, `${action} ${id}: ${k.text}`);
  }

  /// Node `id`'s status (`/healthz`) if it serves, else null.
  async serving(id) {
    const h = await get(`${this.http(id)}/healthz`).catch(() => null);
    return h && h.status === 200 ? JSON.parse(h.text).status : null;
  }

  /// SIGTERM to the supervisor (it stops its nodes), then SIGKILL if it is still there.
  async stop() {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    try {
      process.kill(c.pid, 'SIGTERM');
    } catch {}
    const deadline = Date.now() + 6000;
    while (c.exitCode === null && Date.now() < deadline) await sleep(50);
    if (c.exitCode === null) c.kill('SIGKILL');
  }
}

/// One JSON-API session on `ws://addr/api`: `call(op)` waits for its reply.
export async function apiClient(addr) {
  const ws = new WS(`ws://${addr}/api`);
  const inbox = [];
  // Woken on each message, so a reply's latency is not rounded up to a polling interval.
  let wake = () => {};
  ws.on('message', (d) => {
    inbox.push(JSON.parse(d.toString()));
    wake();
  });
  await new Promise((ok, bad) => {
    ws.once('open', ok);
    ws.once('error', bad);
  });
  ws.on('error', () => {});
  const next = async (pred, what) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const i = inbox.findIndex(pred);
      if (i >= 0) return inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: no answer within 15 s`);
      await new Promise((r) => {
        wake = r;
        setTimeout(r, Math.min(left, 1000));
      });
    }
  };
  ws.send(JSON.stringify({ connect: { session: null, timeout_ms: 10000, last_zxid_seen: '0', addr: null } }));
  const c = await next((m) => m.connected, 'a session');
  assert(c.connected.Ok, `no session: ${JSON.stringify(c)}`);
  let xid = 0;
  const call = async (op) => {
    xid += 1;
    const mine = xid;
    ws.send(JSON.stringify({ xid: mine, op }));
    return (await next((m) => m.reply && m.reply.xid === mine, `reply ${mine}`)).reply.result;
  };
  return { call, close: () => ws.close() };
}

const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
export const create = (p, d) => ({ Write: { Create: { path: p, data: [...Buffer.from(d)], acl, mode: 'Persistent' } } });
