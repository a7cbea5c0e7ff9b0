// Live mode's presenter controls against the real 3-node `zabra cluster` that serves the page
// (started by `cargo xtask test`, stage ui-e2e, control enabled, a fresh admin token), after
// run.mjs (which covers the kill key, restart, record and replay):
//
//   node www/e2e/live.mjs http://127.0.0.1:PORT/ OUTDIR     (E2E_LIVE_TOKEN, E2E_LIVE_SUPERVISOR)
//
// pause/resume the leader (SIGSTOP/SIGCONT through the supervisor), partition/heal it (the
// nodes' /control endpoints, called from the page: CORS), a burst of 20 writes (committed,
// readable, under one parent that the next burst cleans), the messages drawn on the way, and
// the znode tree the page reads through the client API; last, kill and restart the leader
// after the writes (the restarted node shows the committed zxid the others show).
// One page for all, in order (each test starts from a cluster with one leader and two
// followers). Every wait is bounded; the browser is closed whatever happens; screenshots go
// to OUTDIR as e2e-live-*.png.

import fs from 'node:fs';
import path from 'node:path';
import { launch, newPage, epochOf, watchdog, supervisorNodes, waitLive } from './lib.mjs';

const [base, outDir] = process.argv.slice(2);
const TOKEN = process.env.E2E_LIVE_TOKEN;
const SUPERVISOR = process.env.E2E_LIVE_SUPERVISOR;
if (!base || !outDir || !TOKEN || !SUPERVISOR) {
  console.error('usage: E2E_LIVE_TOKEN=.. E2E_LIVE_SUPERVISOR=http://.. node live.mjs http://127.0.0.1:PORT/ OUTDIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(page, name) {
  const file = path.resolve(outDir, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
  console.log(`  screenshot ${file}`);
}

const roles = (s) => Object.entries(s.peers).map(([sid, p]) => [sid, p.role]);
const leading = (s) => roles(s).filter(([, r]) => r === 'LEADING').map(([sid]) => sid);
const following = (s) => roles(s).filter(([, r]) => r === 'FOLLOWING').map(([sid]) => sid);

/// Three streams up, one leader shown, two followers, no spell without a leader going on.
function steady(s) {
  return s.streams.length === 3 && s.streams.every((x) => x === 'true') && leading(s).length === 1
    && s.leader === leading(s)[0] && following(s).length === 2 && s.outage?.open !== 'true';
}

async function waitSteady(page, what) {
  return waitLive(page, steady, `${what}: three streams, one leader and two followers`, 45_000);
}

/// The process state letter in /proc (R, S, T for stopped, ...), or null when gone.
function procState(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? null;
  } catch {
    return null;
  }
}

async function pidOf(sid) {
  const nodes = await supervisorNodes(SUPERVISOR);
  const pid = Number(/pid (\d+)/.exec(nodes[sid])?.[1]);
  assert(pid > 0, `no pid for node ${sid}: ${JSON.stringify(nodes)}`);
  return [pid, nodes[sid]];
}

/// Presses `key` against the current leader; waits for a different leader in a higher epoch
/// with the spell closed. Returns [old, new state, ms from the key to the new leader shown].
async function failover(page, key, what) {
  const s0 = await waitSteady(page, `before ${what}`);
  const old = s0.leader;
  const oldEpoch = epochOf(s0.peers[old]);
  const t0 = Date.now();
  await page.keyboard.press(key);
  const s1 = await waitLive(page, (s) => s.outage?.open === 'false' && s.outage.newLeader !== old
    && BigInt(s.outage.epoch ?? -1) > oldEpoch && s.leader === s.outage.newLeader
    && s.peers[s.leader]?.role === 'LEADING' && epochOf(s.peers[s.leader]) > oldEpoch,
  `a new leader above epoch ${oldEpoch} shown after ${what}`, 45_000);
  return [old, oldEpoch, s1, Date.now() - t0];
}

const figures = {};
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('live: P pauses the leader (SIGSTOP), a new leader is shown; U resumes it and it follows', async (page) => {
  const [old, oldEpoch, s1, shownMs] = await failover(page, 'p', 'P (pause the leader)');
  const [pid, sup] = await pidOf(old);
  assert(sup.startsWith('paused'), `the supervisor reports node ${old} as "${sup}", not paused`);
  assert(procState(pid) === 'T', `node ${old}'s process ${pid} is in state ${procState(pid)}, not stopped (T)`);
  assert(s1.paused.includes(old), `the page does not show node ${old} paused: ${JSON.stringify(s1.paused)}`);
  figures.pause = { shownMs, leaderlessMs: Number(s1.outage.ms) };
  console.log(`  paused leader ${old} (pid ${pid}, epoch ${oldEpoch}); node ${s1.leader} LEADING in epoch ${s1.outage.epoch}; `
    + `no leader for ${s1.outage.ms} ms (nodes' clocks, from the followers' last word from ${old}); pause key to new leader shown: ${shownMs} ms`);
  await shot(page, 'e2e-live-pause.png');
  await page.keyboard.press('u');
  const s2 = await waitLive(page, (s) => s.peers[old]?.role === 'FOLLOWING' && s.paused.length === 0 && steady(s),
    `node ${old} following again after U`, 45_000);
  assert(s2.leader === s1.leader, `the leader changed on resume: ${s1.leader} → ${s2.leader}`);
  assert(procState(pid) !== 'T', `node ${old}'s process is still stopped`);
  console.log(`  resumed node ${old}: FOLLOWING leader ${s2.leader}`);
  await shot(page, 'e2e-live-resumed.png');
  // A node stopped behind the page's back (as `kill -STOP` from a shell would) is shown as
  // silent from its quiet stream, and no longer once it runs again.
  const f = following(s2)[0];
  const control = async (action) => {
    const r = await fetch(`${SUPERVISOR}/nodes/${f}/${action}?token=${encodeURIComponent(TOKEN)}`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    assert(r.ok, `supervisor ${action} of node ${f}: ${r.status} ${await r.text()}`);
  };
  await control('pause');
  try {
    const s3 = await waitLive(page, (s) => s.silent.includes(f) && s.silent.length === 1, `node ${f} (alone), stopped through the supervisor, shown silent`, 15_000);
    assert(!s3.paused.includes(f), 'the page claims it paused the node itself');
    console.log(`  node ${f} stopped behind the page's back: shown silent`);
    await shot(page, 'e2e-live-silent.png');
  } finally {
    await control('resume');
  }
  await waitLive(page, (s) => !s.silent.includes(f) && steady(s), `node ${f} no longer silent after SIGCONT`, 20_000);
});

test('live: S partitions the leader away, the majority elects a new one; H heals to one leader', async (page) => {
  const [old, oldEpoch, s1, shownMs] = await failover(page, 's', 'S (partition the leader)');
  const majority = Object.keys(s1.peers).filter((sid) => sid !== old);
  assert(majority.includes(s1.leader), `the new leader ${s1.leader} is not on the majority side ${majority}`);
  const s1b = await waitLive(page, (s) => s.peers[old]?.role !== 'LEADING', `the cut-off leader ${old} steps down`, 20_000);
  figures.partition = { shownMs, leaderlessMs: Number(s1.outage.ms) };
  console.log(`  cut off leader ${old} (epoch ${oldEpoch}, now ${s1b.peers[old].role}); node ${s1.leader} LEADING in epoch ${s1.outage.epoch}; `
    + `no leader for ${s1.outage.ms} ms; S to new leader shown: ${shownMs} ms`);
  await shot(page, 'e2e-live-partition.png');
  await page.keyboard.press('h');
  const s2 = await waitLive(page, (s) => s.peers[old]?.role === 'FOLLOWING' && steady(s), `node ${old} following after H`, 45_000);
  assert(leading(s2).length === 1, `leaders after heal: ${leading(s2)}`);
  console.log(`  healed: node ${old} FOLLOWING, one leader (${s2.leader})`);
  await shot(page, 'e2e-live-healed.png');
});

/// Reads the burst's znodes through the JSON client API, from the page (a client of its own).
async function readBurst(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/api`);
    const timer = setTimeout(() => { ws.close(); reject(new Error('no answer from /api within 10 s')); }, 10_000);
    const out = { children: null, data: null };
    ws.onopen = () => ws.send(JSON.stringify({ connect: { session: null, timeout_ms: 10000, last_zxid_seen: '0', addr: null } }));
    ws.onmessage = (e) => {
      const v = JSON.parse(e.data);
      if (v.connected) ws.send(JSON.stringify({ xid: 1, op: { GetChildren: { path: '/zabra-live/burst', watch: false } } }));
      else if (v.reply?.xid === 1) {
        out.children = v.reply.result.Children?.children ?? [];
        if (out.children.length === 0) { clearTimeout(timer); ws.close(); resolve(out); return; }
        ws.send(JSON.stringify({ xid: 2, op: { GetData: { path: `/zabra-live/burst/${out.children.sort()[0]}`, watch: false } } }));
      } else if (v.reply?.xid === 2) {
        const d = v.reply.result.Data?.data;
        out.data = Array.isArray(d) ? String.fromCharCode(...d) : d;
        clearTimeout(timer);
        ws.close();
        resolve(out);
      }
    };
    ws.onerror = () => { clearTimeout(timer); reject(new Error('/api: connection error')); };
  }));
}

async function burst(page, n) {
  const seen = new Set();
  await page.keyboard.press('w');
  const deadline = Date.now() + 30_000;
  let s;
  for (;;) {
    s = await waitLive(page, () => true, 'state');
    s.dots.forEach((k) => seen.add(k));
    if (s.burst?.n === n && s.burst.done === 'true' && s.burst.quorum >= 20) break;
    assert(Date.now() < deadline, `burst ${n} not over within 30 s: ${JSON.stringify(s.burst)}`);
    await page.waitForTimeout(40);
  }
  console.log(`  burst ${n}: ${s.burst.text.trim()}; message kinds drawn: ${[...seen].sort().join(', ')}`);
  return [s, seen];
}

test('live: W writes a burst of 20 (ACK quorums shown, readable, under one parent the next burst cleans); messages drawn', async (page) => {
  await waitSteady(page, 'before W');
  const [s1, seen] = await burst(page, 1);
  assert(s1.burst.committed === 20 && s1.burst.read === 20 && !/failed/.test(s1.burst.text), `burst 1: ${JSON.stringify(s1.burst)}`);
  assert(s1.burst.quorum === 20, `the page shows ${s1.burst.quorum} of the burst's proposals with an ACK quorum, not 20`);
  for (const k of ['proposal', 'ack', 'commit']) assert(seen.has(k), `no ${k} message drawn during the burst (saw ${[...seen]})`);
  await shot(page, 'e2e-live-burst.png');
  const r1 = await readBurst(page);
  assert(r1.children.length === 20, `/zabra-live/burst holds ${r1.children.length} znodes after one burst`);
  assert(/^burst write \d+$/.test(r1.data ?? ''), `a burst znode reads ${JSON.stringify(r1.data)}`);
  const [s2] = await burst(page, 2);
  assert(s2.burst.committed === 20 && /20 of the previous burst deleted/.test(s2.burst.text) && !/failed/.test(s2.burst.text), `burst 2: ${s2.burst.text}`);
  const r2 = await readBurst(page);
  assert(r2.children.length === 20 && !r2.children.some((c) => r1.children.includes(c)),
    `after the second burst: ${r2.children.length} znodes, old ones left: ${r2.children.filter((c) => r1.children.includes(c))}`);
  console.log(`  /zabra-live/burst: ${r1.children.length} znodes after burst 1 ("${r1.data}"), ${r2.children.length} new ones after burst 2`);
  // The znode tree the page reads through /api (every 3 s) shows the second burst's znodes.
  const want = r2.children.map((c) => `/zabra-live/burst/${c}`).sort();
  const burstRows = (s) => s.tree.filter((p) => p.startsWith('/zabra-live/burst/')).sort();
  const s3 = await waitLive(page, (s) => JSON.stringify(burstRows(s)) === JSON.stringify(want), 'the znode tree showing the second burst', 15_000);
  console.log(`  znode tree: ${s3.tree.length} znodes shown, the burst's ${want.length} among them`);
  await shot(page, 'e2e-live-tree.png');
});

test('live: after the writes, K then R: the restarted node shows the committed zxid the others show', async (page) => {
  const [old, , s1, shownMs] = await failover(page, 'k', 'K (kill the leader)');
  figures.kill = { shownMs, leaderlessMs: Number(s1.outage.ms) };
  console.log(`  killed leader ${old}; node ${s1.leader} LEADING in epoch ${s1.outage.epoch}; no leader for ${s1.outage.ms} ms; K to new leader shown: ${shownMs} ms`);
  await page.keyboard.press('r');
  const s2 = await waitLive(page, (s) => steady(s) && s.peers[old]?.role === 'FOLLOWING'
    && s.peers[old].committed === s.peers[s.leader].committed, `node ${old} restarted, following, with the leader's committed zxid`, 45_000);
  assert(!/^0x0+$/.test(s2.peers[old].committed), `the cluster shows nothing committed: ${s2.peers[old].committed}`);
  console.log(`  restarted node ${old}: FOLLOWING, committed ${s2.peers[old].committed} as the leader shows`);
  await shot(page, 'e2e-live-restarted-committed.png');
});

const browserRef = {};
watchdog(Number(process.env.E2E_TIMEOUT_MS || 300_000), browserRef);
let passed = 0;
let failed = 0;
try {
  const browser = await launch();
  browserRef.browser = browser;
  const log = [];
  const page = await newPage(browser, log);
  await page.goto(`${base}#live&token=${TOKEN}`, { waitUntil: 'load' });
  for (const t of tests) {
    const began = Date.now();
    try {
      console.log(`test: ${t.name}`);
      await t.fn(page);
      passed++;
      console.log(`ok: ${t.name} (${((Date.now() - began) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAILED: ${t.name}: ${e.message}`);
      for (const line of log.splice(0)) console.log(`  ${line}`);
      await shot(page, `e2e-live-failed-${tests.indexOf(t) + 1}.png`).catch(() => {});
      // Leave the cluster whole for the next test: resume paused nodes, heal partitions.
      await page.keyboard.press('u').catch(() => {});
      await page.keyboard.press('h').catch(() => {});
    }
  }
} catch (e) {
  failed++;
  console.log(`FAILED: ${e.stack || e.message}`);
} finally {
  await browserRef.browser?.close().catch(() => {});
}
console.log(`figures: ${JSON.stringify(figures)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === tests.length ? 0 : 1);
