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
import { pathToFileURL } from 'node:url';
import WS from 'ws';
import { Cluster, apiClient, assert, create, get, sleep, until } from './native.mjs';

const [dist, zabra, work, offsetArg] = process.argv.slice(2);
if (!dist || !zabra || !work || !offsetArg) {
  console.error('usage: node edge.mjs <dist-dir> <zabra-binary> <work-dir> <port-offset>');
  process.exit(2);
}
const OFFSET = Number(offsetArg);
const TOKEN = 'edge-admin';
const SID = 3;
const LIMIT_MS = Number(process.env.EDGE_TIMEOUT_MS || 120_000);

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
  if (cluster && cluster.child.exitCode === null) {
    try {
      process.kill(cluster.child.pid, 'SIGTERM');
    } catch {}
  }
}

async function main() {
  cluster = new Cluster(zabra, work, OFFSET, TOKEN, ['--nodes', '2', '--browser-voters', '1']);
  console.log(`zabra cluster pid ${cluster.child.pid}: 2 native voters + browser voter ${SID}, port offset ${OFFSET}`);
  const leader = await until('a native leader', 30_000, () => cluster.leader([1, 2]));
  const token = await cluster.joinToken(SID);
  const info = JSON.parse((await get(`${cluster.http(1)}/cluster`)).text);
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
  await cluster.kill(killed);
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
  const api = await apiClient(`127.0.0.1:${8080 + survivor + OFFSET}`);
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
