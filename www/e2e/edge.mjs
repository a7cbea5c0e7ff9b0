// Edge: the same WASM peer as a browser tab's worker (zabra-wasm's worker_main, from the web
// build of zabra-www), run under Node.js, joins a native cluster as a voter and commits writes
// with it while one native node is down.
//
//   node edge.mjs <dist-dir> <zabra-binary> <work-dir> <port-offset>
//
// A `zabra cluster` of 2 native voters plus browser voter 3 (3 voters, quorum 2): the peer
// gets sid 3's join token from GET /join (admin token), the peer ports from GET /cluster, and
// dials both nodes (npm `ws` stands in for the browser's WebSocket; storage is memory). Once it
// follows, the native leader is killed (SIGKILL, through the supervisor): the peer and the
// surviving native node must elect a leader between them, and writes through the peer's own
// client and through the survivor's JSON API must commit. Every wait is bounded; the cluster
// (started here) is stopped by its PID whatever happens. Prints one JSON line of figures.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import WS from 'ws';

const [dist, zabra, work, offsetArg] = process.argv.slice(2);
if (!dist || !zabra || !work || !offsetArg) {
  console.error('usage: node edge.mjs <dist-dir> <zabra-binary> <work-dir> <port-offset>');
  process.exit(2);
}
const OFFSET = Number(offsetArg);
const TOKEN = 'edge-admin';
const SID = 3;
const LIMIT_MS = Number(process.env.EDGE_TIMEOUT_MS || 120_000);
const http = (id) => `http://127.0.0.1:${8080 + id + OFFSET}`;
const supervisor = `http://127.0.0.1:${8080 + OFFSET}`;

function assert(ok, msg) {
  if (!ok) throw new Error(msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function get(url, init) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
  return { status: r.status, text: await r.text() };
}

/// Polls `f` every 100 ms until it returns a truthy value; bounded by `ms`.
async function until(what, ms, f) {
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

async function nativeLeader(ids) {
  for (const id of ids) {
    const h = await get(`${http(id)}/healthz`).catch(() => null);
    if (!h || h.status !== 200) continue;
    const st = JSON.parse(h.text).status;
    if (st.state === 'Leading' && st.serving) return id;
  }
  return null;
}

// ---- the peer: the wasm module's worker entry point, with Node's globals for a worker's ----
const fromWorker = [];
let status = null;
const written = [];
/// Called on each write result (so a write's latency is not rounded up to a polling interval).
const waiters = [];

async function startPeer(start) {
  // Browser WebSocket semantics from `ws`; the bytes are copied at once (the wasm glue hands a
  // view of its memory, which a later call may reuse).
  globalThis.WebSocket = class extends WS {
    constructor(url) {
      super(url);
      // A browser reports a failed connection as error then close events; `ws` would throw
      // an unheard 'error'. The peer acts on the close event.
      this.on('error', () => {});
    }

    send(d) {
      super.send(Buffer.from(d));
    }
  };
  globalThis.postMessage = (text) => {
    const m = JSON.parse(text);
    if (m === 'Ready') fromWorker.push('Ready');
    else if (m.Status) status = m.Status;
    else if (m.Written) {
      written.push(m.Written);
      waiters.splice(0).forEach((w) => w());
    }
    else if (m.Failed) fromWorker.push({ failed: m.Failed });
    else if (m.Started) fromWorker.push('Started');
  };
  const mod = await import(pathToFileURL(path.resolve(dist, 'zabra_www.js')).href);
  await mod.default({ module_or_path: fs.readFileSync(path.resolve(dist, 'zabra_www_bg.wasm')) });
  mod.worker_main();
  assert(fromWorker.includes('Ready'), 'worker_main did not say Ready');
  globalThis.onmessage({ data: JSON.stringify({ Start: start }) });
  await until('the peer started', 10_000, () => {
    const f = fromWorker.find((m) => m.failed);
    if (f) throw new Error(`the peer failed: ${f.failed}`);
    return fromWorker.includes('Started');
  });
}

/// A write through the peer's own client; resolves to its result (ok and zxid) and latency.
async function peerWrite(p, data) {
  const t0 = performance.now();
  globalThis.onmessage({ data: JSON.stringify({ Write: { path: p, data } }) });
  const mine = () => written.find((w) => w.path === p);
  const arrived = new Promise((ok) => waiters.push(ok));
  await Promise.race([arrived, sleep(20_000)]);
  let w = mine();
  const ms = performance.now() - t0;
  w = w || (await until(`the write of ${p}`, 1_000, mine));
  return { ...w, ms };
}

/// One JSON-API session on a native node: connect, then each op waits for its reply.
async function apiClient(id) {
  const ws = new WS(`ws://127.0.0.1:${8080 + id + OFFSET}/api`);
  const inbox = [];
  ws.on('message', (d) => inbox.push(JSON.parse(d.toString())));
  await new Promise((ok, bad) => {
    ws.once('open', ok);
    ws.once('error', bad);
  });
  const next = (pred, what) => until(what, 15_000, () => {
    const i = inbox.findIndex(pred);
    return i >= 0 ? inbox.splice(i, 1)[0] : null;
  });
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
const create = (p, d) => ({ Write: { Create: { path: p, data: [...Buffer.from(d)], acl, mode: 'Persistent' } } });

// ---- the run ----
process.on('uncaughtException', (e) => {
  console.error(`edge FAILED (uncaught): ${e.stack || e}`);
  stop();
  process.exit(1);
});
let cluster = null;
const watchdog = setTimeout(() => {
  console.error(`edge: not done within ${LIMIT_MS} ms`);
  stop();
  process.exit(1);
}, LIMIT_MS);

function stop() {
  if (cluster && cluster.exitCode === null) {
    try {
      process.kill(cluster.pid, 'SIGTERM');
    } catch {}
  }
}

async function main() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const log = fs.openSync(path.join(work, 'cluster.log'), 'w');
  const args = ['cluster', '--nodes', '2', '--browser-voters', '1', '--port-offset', String(OFFSET)];
  args.push('--admin-token', TOKEN, '--data-dir', path.join(work, 'data'));
  cluster = spawn(zabra, args, { stdio: ['ignore', log, log] });
  console.log(`zabra cluster pid ${cluster.pid}: 2 native voters + browser voter ${SID}, port offset ${OFFSET}`);
  const leader = await until('a native leader', 30_000, () => nativeLeader([1, 2]));
  const join = await get(`${http(1)}/join?sid=${SID}&token=${TOKEN}`);
  assert(join.status === 200, `GET /join: ${join.status} ${join.text}`);
  const token = JSON.parse(join.text).join_token;
  const info = JSON.parse((await get(`${http(1)}/cluster`)).text);
  const natives = info.members.map((m) => [m.id, `ws://${m.peer}/peer`]);
  const voters = [...info.members, ...info.browser_members].filter((m) => !m.observer).map((m) => m.id);
  await startPeer({
    cluster: info.cluster, sid: SID, voters, observers: [], secret: '', storage: 'Memory',
    join: { token, natives },
  });
  const t0 = performance.now();
  await until('the peer follows', 30_000, () => status && status.role === 'FOLLOWING' && status.serving && status);
  const joinMs = performance.now() - t0;
  console.log(`peer ${SID} FOLLOWING leader ${status.leader} in epoch ${status.current_epoch} (${joinMs.toFixed(0)} ms)`);
  const before = await peerWrite('/edge-before', 'one');
  assert(before.ok, `write before the kill: ${before.text}`);

  const epochBefore = status.current_epoch;
  const killed = leader;
  const survivor = leader === 1 ? 2 : 1;
  const k = await get(`${supervisor}/nodes/${killed}/kill?token=${TOKEN}`, { method: 'POST' });
  assert(k.status === 200, `kill ${killed}: ${k.text}`);
  console.log(`killed native leader ${killed}; voters left: native ${survivor} and this peer`);
  const t1 = performance.now();
  await until('a new leader of the two left', 30_000, () => {
    if (!status || !status.serving || status.current_epoch <= epochBefore) return null;
    return (status.role === 'LEADING' || status.leader === survivor) && status.leader !== killed;
  });
  const failoverMs = performance.now() - t1;
  console.log(`new leader ${status.leader} (epoch ${status.current_epoch}) after ${failoverMs.toFixed(0)} ms`);

  const lat = [];
  for (let i = 1; i <= 5; i++) {
    const w = await peerWrite(`/edge-${i}`, `while ${killed} is down`);
    assert(w.ok, `write ${i} through the peer with node ${killed} down: ${w.text}`);
    lat.push(w.ms);
  }
  const api = await apiClient(survivor);
  const r = await api.call(create('/edge-api', 'from a native client'));
  assert(r.Write && r.Write.Created, `JSON-API create on node ${survivor}: ${JSON.stringify(r)}`);
  await api.call('Sync');
  const got = await api.call({ GetData: { path: '/edge-5', watch: false } });
  assert(JSON.stringify(got).includes('Data'), `node ${survivor} reads /edge-5: ${JSON.stringify(got)}`);
  api.close();
  await until('the peer applied the native client write', 10_000, () => status.tree.some((t) => t.path === '/edge-api'));
  lat.sort((a, b) => a - b);
  const figures = { join_ms: Math.round(joinMs), failover_ms: Math.round(failoverMs), write_ms_median: +lat[2].toFixed(1), write_ms_max: +lat[4].toFixed(1), leader_after: status.leader };
  console.log(JSON.stringify(figures));
  console.log('edge: the Node.js WASM peer committed writes with the cluster while a native node was down');
}

main()
  .then(() => {
    clearTimeout(watchdog);
    stop();
    setTimeout(() => process.exit(0), 500);
  })
  .catch((e) => {
    console.error(`edge FAILED: ${e.stack || e}`);
    clearTimeout(watchdog);
    stop();
    setTimeout(() => process.exit(1), 500);
  });
