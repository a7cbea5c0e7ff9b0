// End-to-end test of tabs joining a native cluster (issue 9, shape 2): a `zabra cluster` of
// 3 native voters with browser voter 4 and browser observer 5 (so 4 voters, quorum 3).
//
//   node mixed.mjs <base-url> <screenshot-dir> <zabra-binary> <work-dir> <port-offset> <python> <kazoo_writes.py>
//
// 1. A tab with a wrong join token for sid 4 is refused by every node, saying why; the page
//    becomes a plain client (shape 3) with one click: create and read.
// 2. A tab joins as observer 5 and receives the commits of writes kazoo (a real ZooKeeper
//    client, tests/clients/kazoo_writes.py) makes through the native nodes' client ports:
//    its committed zxid reaches the zxids kazoo read back, and its tree shows the znodes.
// 3. A tab joins as voter 4; tabs 4 and 5 also connect to each other over the
//    BroadcastChannel (each pair of browser members with its own key, GET /bus-keys).
// 4. Voter 4's page leaves and comes back (a reload that misses 3 kazoo writes): it shows the
//    state it recovered from IndexedDB and catches up with the native leader.
// 5. A native follower is killed, so every quorum (3 of the 3 voters left) needs the tab:
//    writes through the JSON API and through the tab's own form commit (latency printed).
// 6. The follower restarts and the native leader is killed: tab 4 is elected, and observer 5
//    follows it over the bus (it cannot reach it any other way); kazoo's writes commit under
//    the tab leader and reach the observer. Closing tab 4 then leaves a write uncommitted.
// The page is served by the ui-e2e cluster's node 1; the nodes allow its origin. Every wait is
// bounded; the browser is closed and the cluster stopped (by PID) whatever happens.

import { execFile } from 'node:child_process';
import { launch, watchdog } from './lib.mjs';
import { Cluster, apiClient, assert, create, until } from './native.mjs';

const [base, shots, zabra, work, offsetArg, python, kazooWrites] = process.argv.slice(2);
if (!base || !shots || !zabra || !work || !offsetArg || !python || !kazooWrites) {
  console.error('usage: node mixed.mjs <base-url> <screenshot-dir> <zabra-binary> <work-dir> <port-offset> <python> <kazoo_writes.py>');
  process.exit(2);
}
const OFFSET = Number(offsetArg);
const TOKEN = 'mixed-admin';
const nodeAddr = (id) => `127.0.0.1:${8080 + id + OFFSET}`;
const clientAddr = (id) => `127.0.0.1:${2180 + id + OFFSET}`;

/// kazoo creates `prefix-1..n` through the native nodes' client ports: their paths and zxids.
function kazooWritesOf(n, prefix) {
  const hosts = [1, 2, 3].map(clientAddr).join(',');
  return new Promise((ok, bad) => {
    execFile(python, [kazooWrites, hosts, String(n), prefix], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) bad(new Error(`kazoo_writes.py: ${err.message}\n${stderr}`));
      else ok(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

/// A zxid as the page shows it (`0x` epoch, 8 hex digits of counter) as a number.
const zxidOf = (text) => (text ? BigInt(text) : -1n);

/// What a tab shows of its peer, read in the page.
async function peerOf(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="tab-peer"]');
    const bad = document.querySelector('[data-testid="tab-refused"]') || document.querySelector('[data-testid="tab-failed"]');
    const a = (k) => (el ? el.getAttribute(`data-${k}`) : null);
    return { role: a('role'), leader: a('leader'), epoch: a('epoch'), committed: a('committed'), peers: a('peers'),
      bad: bad ? bad.textContent : null, text: document.body.innerText };
  });
}

async function tabUntil(page, what, ms, ok) {
  return until(what, ms, async () => {
    const v = await peerOf(page);
    if (v.bad) throw new Error(`the tab says: ${v.bad}`);
    return ok(v) ? v : null;
  });
}

async function openTab(context, sid, token, log) {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && log.push(`console.error: ${m.text()}`));
  // The token in the fragment, as the page keeps it: never sent to the page's server.
  const url = new URL(`?mode=tabs&join=${nodeAddr(1)}&sid=${sid}#token=${token}`, base).href;
  await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  return page;
}

async function shot(page, name) {
  const file = `${shots}/${name}`;
  await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
  console.log(`  screenshot ${file}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/// The storage row's "loaded ..." text: what the peer read from IndexedDB when it started.
function loadedOf(text) {
  const m = /loaded accepted epoch (\d+), current epoch (\d+), (\d+) log entries, snapshot at (0x[0-9a-f]+)/.exec(text);
  return m && { accepted: +m[1], current: +m[2], entries: +m[3], snapshot: m[4] };
}

const peersOf = (v) => (v.peers ? v.peers.split(',').map(Number) : []);
const natives = [1, 2, 3];

async function scenario(browser, cluster, log) {
  const leader = await until('a native leader', 30_000, () => cluster.leader(natives));
  const [t4, t5] = [await cluster.joinToken(4), await cluster.joinToken(5)];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const figures = {};
  try {
    // 1. A wrong token: refused by the nodes, shown in the page, nothing joins.
    const wrong = await openTab(context, 4, '0'.repeat(64), log);
    await tabUntil(wrong, 'the wrong token refused', 15_000, (v) => v.text.includes('token is wrong'));
    const v = await peerOf(wrong);
    assert(v.peers === '', `a tab with a wrong token connected to ${v.peers}`);
    await shot(wrong, 'mixed-0-wrong-token.png');

    // Shape 3, one click from Tabs mode: this page becomes a plain JSON-API client.
    await wrong.fill('[data-testid="native-addr"]', nodeAddr(leader));
    await wrong.click('[data-testid="native-client"]');
    await wrong.locator('[data-testid="client-session"][data-session]:not([data-session=""])').waitFor({ timeout: 15_000 });
    await wrong.fill('[data-testid="client-path"]', '/from-client');
    await wrong.fill('[data-testid="client-data"]', 'typed in the page');
    await wrong.click('[data-testid="client-create"]');
    await wrong.locator('[data-testid="client-results"] li[data-ok="true"]').first().waitFor({ timeout: 15_000 });
    await wrong.click('[data-testid="client-get"]');
    await wrong.locator('[data-testid="client-results"] li', { hasText: 'typed in the page' }).first().waitFor({ timeout: 15_000 });
    const api = await apiClient(nodeAddr(leader));
    const r = await api.call({ GetData: { path: '/from-client', watch: false } });
    assert(JSON.stringify(r).includes('Data'), `the leader reads the client page's write: ${JSON.stringify(r)}`);
    console.log('  client mode (one click from Tabs mode): created and read /from-client over the JSON API');
    await shot(wrong, 'mixed-3-client.png');
    await wrong.close();

    // 2. Observer 5 receives the commits of kazoo's writes.
    const obs = await openTab(context, 5, t5, log);
    await tabUntil(obs, 'observer 5 observing', 30_000, (v) => v.role === 'OBSERVING' && natives.every((n) => peersOf(v).includes(n)));
    const kz = await kazooWritesOf(3, '/from-kazoo');
    const last = kz.zxids.map(zxidOf).reduce((a, b) => (a > b ? a : b));
    const seen = await tabUntil(obs, `the observer committed kazoo's writes (up to ${kz.zxids.at(-1)})`, 15_000,
      (v) => zxidOf(v.committed) >= last && kz.paths.every((p) => v.text.includes(p)));
    console.log(`  observer tab 5 OBSERVING leader ${leader}: committed kazoo's 3 writes ${kz.paths.join(' ')} (zxids ${kz.zxids.join(' ')}; the tab is at ${seen.committed})`);
    await shot(obs, 'mixed-1-observer.png');

    // 3. Voter 4 joins; the two tabs also link to each other over the BroadcastChannel, each
    //    pair with its own bus key.
    const url4 = new URL(`?mode=tabs&join=${nodeAddr(1)}&sid=4#token=${t4}`, base).href;
    const voter = await openTab(context, 4, t4, log);
    await tabUntil(voter, 'voter 4 following, linked to the natives and to tab 5', 30_000,
      (v) => v.role === 'FOLLOWING' && [...natives, 5].every((n) => peersOf(v).includes(n)));
    await tabUntil(obs, 'observer 5 linked to tab 4 over the bus', 15_000, (v) => peersOf(v).includes(4));
    console.log('  voter tab 4 FOLLOWING; tabs 4 and 5 connected over the BroadcastChannel with their pair key');

    // 4. The voter tab reloads (leaves, misses writes, comes back): it recovers its durable
    //    state from IndexedDB, shown in the page, and catches up with the native leader.
    const before = await peerOf(voter);
    await voter.goto('about:blank');
    const missed = await kazooWritesOf(3, '/while-away');
    const missedLast = missed.zxids.map(zxidOf).reduce((a, b) => (a > b ? a : b));
    await voter.goto(url4, { waitUntil: 'load', timeout: 20_000 });
    const back = await tabUntil(voter, `the reloaded voter caught up (to ${missed.zxids.at(-1)})`, 30_000,
      (v) => v.role === 'FOLLOWING' && zxidOf(v.committed) >= missedLast && missed.paths.every((p) => v.text.includes(p)));
    const loaded = loadedOf(back.text);
    assert(loaded, `the reloaded page shows no loaded state: ${back.text.slice(0, 400)}`);
    assert(loaded.accepted >= 1 && (loaded.entries > 0 || zxidOf(loaded.snapshot) > 0n),
      `the reloaded tab recovered nothing from IndexedDB: ${JSON.stringify(loaded)}`);
    console.log(`  voter tab 4 reloaded: recovered ${JSON.stringify(loaded)} from IndexedDB (was at ${before.committed}), caught up to ${back.committed} past the 3 writes it missed`);
    await shot(voter, 'mixed-2-voter-reloaded.png');

    // 5. A native follower down: every quorum (3 of the 3 voters left) needs the tab.
    const victim = natives.find((id) => id !== leader);
    await cluster.kill(victim);
    console.log(`  killed native follower ${victim} (voters left: 2 native + tab 4)`);
    const lat = [];
    for (let i = 1; i <= 10; i++) {
      const t0 = performance.now();
      const r = await api.call(create(`/quorum-${i}`, 'needs the tab'));
      lat.push(performance.now() - t0);
      assert(r.Write && r.Write.Created, `create /quorum-${i} with ${victim} down: ${JSON.stringify(r)}`);
    }
    await voter.fill('[data-testid="tab-write-path"]', '/from-the-tab');
    await voter.fill('[data-testid="tab-write-data"]', 'hi');
    const w0 = performance.now();
    await voter.click('[data-testid="tab-write"]');
    await voter.locator('[data-testid="tab-writes"] li[data-path="/from-the-tab"][data-ok="true"]').waitFor({ timeout: 15_000 });
    const tabMs = performance.now() - w0;
    const got = await api.call({ GetData: { path: '/from-the-tab', watch: false } });
    assert(JSON.stringify(got).includes('Data'), `the leader reads the tab's write: ${JSON.stringify(got)}`);
    await tabUntil(voter, 'the voter applied every write', 15_000,
      (v) => v.text.includes('/quorum-10') && v.text.includes('create /from-the-tab'));
    Object.assign(figures, { follower_tab_quorum_write_ms_median: +median(lat).toFixed(1), follower_tab_quorum_write_ms_max: +Math.max(...lat).toFixed(1), tab_form_write_ms: +tabMs.toFixed(1) });
    console.log(`  10 JSON-API writes committed with node ${victim} down (tab 4, a follower, in every quorum)`);
    await shot(voter, 'mixed-4-voter-quorum.png');

    // 6. The follower comes back; then the native leader dies: tab 4 (highest sid, as up to
    //    date as the natives) is elected, and observer 5 can follow it only over the bus.
    await cluster.restart(victim);
    await until(`node ${victim} back, following`, 30_000, async () => (await cluster.serving(victim))?.state === 'Following');
    api.close();
    await cluster.kill(leader);
    const k0 = performance.now();
    const lead = await tabUntil(voter, 'tab 4 leading', 30_000, (v) => v.role === 'LEADING');
    figures.native_leader_kill_to_tab_leading_ms = +(performance.now() - k0).toFixed(0);
    const o = await tabUntil(obs, 'observer 5 observing tab 4 over the bus', 30_000, (v) => v.role === 'OBSERVING' && v.leader === '4');
    console.log(`  killed native leader ${leader}: tab 4 LEADING in epoch ${lead.epoch}; observer tab 5 OBSERVING it (links ${o.peers})`);
    const kz2 = await kazooWritesOf(5, '/tab-led');
    const last2 = kz2.zxids.map(zxidOf).reduce((a, b) => (a > b ? a : b));
    await tabUntil(obs, `the observer committed the tab leader's commits (to ${kz2.zxids.at(-1)})`, 15_000,
      (v) => zxidOf(v.committed) >= last2 && kz2.paths.every((p) => v.text.includes(p)));
    Object.assign(figures, { tab_leader_kazoo_write_ms_median: median(kz2.ms), tab_leader_kazoo_write_ms_max: Math.max(...kz2.ms) });
    console.log(`  kazoo's 5 writes through the natives commit under tab leader 4 (zxids ${kz2.zxids.join(' ')}); observer 5 has them`);
    await shot(voter, 'mixed-5-tab-leader.png');
    await shot(obs, 'mixed-6-observer-of-tab-leader.png');

    // The tab was needed: without it (2 of 4 voters left) a write does not commit. The
    // session is opened first, while the tab leads.
    const api2 = await apiClient(nodeAddr(victim));
    await voter.close();
    // The page's worker and its sockets go a moment after the page: write once the natives
    // have noticed (they stop following the tab), or the write may still reach it.
    const alive = [1, 2, 3].filter((id) => id !== leader);
    await until('the natives leave the closed tab leader', 30_000, async () => {
      const states = await Promise.all(alive.map((id) => cluster.serving(id)));
      return states.every((s) => !s || s.state !== 'Following');
    });
    const unheard = await Promise.race([
      api2.call(create('/without-the-tab', 'x')).then((r) => JSON.stringify(r), (e) => `failed: ${e.message}`),
      new Promise((r) => setTimeout(() => r('no reply within 5 s'), 5_000)),
    ]);
    assert(!unheard.includes('Created'), `a write committed without the tab: ${unheard}`);
    console.log(`  voter tab closed: a write does not commit without it (${unheard.slice(0, 80)})`);
    console.log(`  figures: ${JSON.stringify(figures)}`);
    api2.close();
  } finally {
    await context.close().catch(() => {});
  }
}

const browserRef = {};
watchdog(Number(process.env.E2E_TIMEOUT_MS || 240_000), browserRef);
let ok = false;
const log = [];
const cluster = new Cluster(zabra, work, OFFSET, TOKEN,
  ['--nodes', '3', '--browser-voters', '1', '--browser-observers', '1', '--allowed-origin', new URL(base).origin]);
try {
  const browser = await launch();
  browserRef.browser = browser;
  console.log(`chromium ${browser.version()}; zabra cluster pid ${cluster.child.pid} (3 native + browser voter 4 + browser observer 5)`);
  console.log('test: tabs join a native cluster');
  const began = Date.now();
  await scenario(browser, cluster, log);
  ok = true;
  console.log(`ok: tabs join a native cluster (${((Date.now() - began) / 1000).toFixed(1)}s)`);
} catch (e) {
  console.log(`FAILED: tabs join a native cluster: ${e.stack || e.message}`);
  for (const line of log) console.log(`  ${line}`);
} finally {
  await browserRef.browser?.close().catch(() => {});
  await cluster.stop();
}
console.log(`${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`);
process.exit(ok ? 0 : 1);
