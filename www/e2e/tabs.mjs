// End-to-end test of Tabs mode: pages of one browser context are ZAB peers (zabra-wasm in a
// dedicated worker each), connected over BroadcastChannel, durable in IndexedDB.
//
//   node tabs.mjs <base-url> <screenshot-dir>
//
// One scenario, step by step (each wait bounded in time): three tabs elect a leader; a write
// through a follower commits on all three; a fourth tab claiming the leader's sid is refused;
// a follower reloaded while the leader takes another write recovers its log from IndexedDB
// and follows again, caught up; closing the leader's tab leads to a new leader with a higher
// epoch, and both writes survive.
// The contract (www/src/tabs.rs): `tab-peer` with data-sid/role/epoch/leader/committed/peers,
// `tab-refused`, `tab-write-path`, `tab-write-data`, `tab-write`, `tab-writes` (data-ok,
// data-path), `tab-timers`.

import { launch, watchdog } from './lib.mjs';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node tabs.mjs <base-url> <screenshot-dir>');
  process.exit(2);
}
const tabsUrl = new URL('?mode=tabs', base).href;

function assert(ok, msg) {
  if (!ok) throw new Error(msg);
}

/// What a tab shows of its peer (null until the peer runs), read in the page.
async function peerOf(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="tab-peer"]');
    const refused = document.querySelector('[data-testid="tab-refused"]');
    const failed = document.querySelector('[data-testid="tab-failed"]');
    const timers = document.querySelector('[data-testid="tab-timers"]');
    const a = (k) => (el ? el.getAttribute(`data-${k}`) : null);
    return {
      sid: a('sid'),
      role: a('role'),
      epoch: a('epoch') === null ? null : Number(a('epoch')),
      leader: a('leader'),
      committed: a('committed'),
      peers: a('peers'),
      late: timers ? Number(timers.getAttribute('data-late')) : null,
      hidden: timers ? timers.getAttribute('data-hidden') : null,
      refused: refused ? refused.textContent : null,
      failed: failed ? failed.textContent : null,
      text: document.body.innerText,
    };
  });
}

/// Polls every page until `done(views)` holds; bounded by `timeoutMs`. Returns the views.
async function until(pages, done, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let views = [];
  while (Date.now() < deadline) {
    views = await Promise.all(pages.map(peerOf));
    const failed = views.find((v) => v.failed);
    if (failed) throw new Error(`a tab failed: ${failed.failed}`);
    if (done(views)) return views;
    await new Promise((r) => setTimeout(r, 100));
  }
  const show = views.map((v) => ({ ...v, text: undefined }));
  throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(show)}`);
}

const agreed = (views) => {
  const leaders = views.filter((v) => v.role === 'LEADING');
  if (leaders.length !== 1) return false;
  const l = leaders[0];
  return views.every((v) => (v.role === 'FOLLOWING' || v.role === 'LEADING') && v.leader === l.sid && v.epoch === l.epoch);
};

async function shot(page, name) {
  const file = `${shots}/${name}`;
  await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
  console.log(`  screenshot ${file}`);
}

async function openTab(context, url, log) {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') log.push(`console.error: ${m.text()}`);
  });
  await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  return page;
}

async function scenario(browser, log) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    // The first tab comes from the classroom, one click away; the others open Tabs mode.
    const first = await openTab(context, base, log);
    await first.click('[data-testid="mode-tabs"]');
    const pages = [first];
    for (let i = 0; i < 2; i++) pages.push(await openTab(context, tabsUrl, log));
    const t0 = Date.now();
    let views = await until(pages, agreed, 'three tabs agree on one leader');
    const sids = views.map((v) => v.sid).sort();
    assert(sids.join() === '1,2,3', `the tabs claimed sids ${sids}, not 1,2,3`);
    const leaderAt = views.findIndex((v) => v.role === 'LEADING');
    const leader = views[leaderAt];
    console.log(`  leader ${leader.sid} in epoch ${leader.epoch}, elected within ${Date.now() - t0} ms of the third tab`);
    await shot(pages[leaderAt], 'tabs-1-leader.png');
    await shot(pages[(leaderAt + 1) % 3], 'tabs-1-follower.png');

    // A write through a follower commits everywhere.
    const writer = pages[(leaderAt + 1) % 3];
    await writer.fill('[data-testid="tab-write-path"]', '/kept');
    await writer.fill('[data-testid="tab-write-data"]', 'v1');
    const w0 = Date.now();
    await writer.click('[data-testid="tab-write"]');
    await writer.locator('[data-testid="tab-writes"] li[data-path="/kept"][data-ok="true"]').waitFor({ timeout: 15_000 });
    console.log(`  /kept written through a follower, acknowledged in ${Date.now() - w0} ms`);
    views = await until(pages, (vs) => vs.every((v) => v.text.includes('/kept') && v.committed === vs[0].committed),
      'the write committed on every tab');
    const committed = views[0].committed;
    // The leader's tab counts the ACKs of its own proposal (the shared view model).
    assert(/\/kept[^\n]*\d+ acks \(need 2\)/.test(views[leaderAt].text), 'the leader tab shows no ACK count for /kept');

    // A tab claiming the leader's sid is refused (its lock is held).
    const dup = await openTab(context, new URL(`?mode=tabs&sid=${leader.sid}`, base).href, log);
    const [refused] = await until([dup], ([v]) => v.refused !== null, 'a second tab of a taken sid refused', 15_000);
    assert(refused.refused.includes('taken'), `refusal says: ${refused.refused}`);
    console.log(`  a tab asking for sid ${leader.sid}: ${refused.refused.trim()}`);
    await shot(dup, 'tabs-2-refused.png');
    await dup.close();

    // Reload a follower while the leader takes a write: it recovers its log from IndexedDB
    // (a reload is a crash and a recovery) and catches up with what it missed.
    const fAt = views.findIndex((v) => v.role === 'FOLLOWING');
    const follower = pages[fAt];
    const fSid = views[fAt].sid;
    const reloading = follower.reload({ waitUntil: 'load', timeout: 20_000 });
    const lead = pages[leaderAt];
    await lead.fill('[data-testid="tab-write-path"]', '/while-away');
    await lead.fill('[data-testid="tab-write-data"]', 'v2');
    await lead.click('[data-testid="tab-write"]');
    await reloading;
    await lead.locator('[data-testid="tab-writes"] li[data-path="/while-away"][data-ok="true"]').waitFor({ timeout: 15_000 });
    views = await until(pages, (vs) => agreed(vs) && vs[fAt].sid === fSid && vs[fAt].text.includes('/while-away'),
      'the reloaded tab follows again, caught up');
    const loaded = views[fAt].text.match(/loaded accepted epoch \d+, current epoch \d+, (\d+) log entries/);
    assert(loaded && Number(loaded[1]) >= 2, `the reloaded tab did not load its log from IndexedDB: ${loaded && loaded[0]}`);
    assert(views[fAt].text.includes('/kept'), 'the reloaded tab lost /kept');
    console.log(`  tab ${fSid} reloaded: ${loaded[0]}; follows ${views[fAt].leader}, committed ${views[fAt].committed} (was ${committed})`);
    await shot(follower, 'tabs-3-reloaded.png');

    // Close the leader's tab: the other two elect a new leader with a higher epoch.
    const k0 = Date.now();
    await pages[leaderAt].close();
    const rest = pages.filter((_, i) => i !== leaderAt);
    views = await until(rest, (vs) => agreed(vs) && vs[0].epoch > leader.epoch, 'a new leader with a higher epoch');
    const newLeader = views.find((v) => v.role === 'LEADING');
    console.log(`  leader tab ${leader.sid} closed; tab ${newLeader.sid} leads in epoch ${newLeader.epoch} (${Date.now() - k0} ms later)`);
    for (const path of ['/kept', '/while-away']) {
      assert(views.every((v) => v.text.includes(path)), `the committed write ${path} is gone after the failover`);
    }
    // The new leader's tab timed the spell without a leader from its own events.
    const spell = newLeader.text.match(/last time without a leader\s+(\d+) ms[^\n]*/);
    assert(spell, 'the new leader tab shows no time without a leader');
    console.log(`  the new leader tab shows: ${spell[0]}`);
    await shot(rest[views.indexOf(newLeader)], 'tabs-4-new-leader.png');

    // A worker held up for 2.5 s (what a throttled or frozen tab's timers suffer): its timers
    // fire late and the page says so; the cluster takes the peer back. (Freezing the page with
    // CDP does not hold up its dedicated worker in this Chromium, so the worker is kept busy.)
    const fz = rest[1 - views.indexOf(newLeader)];
    const [worker] = fz.workers();
    assert(worker, 'the tab runs no worker');
    await worker.evaluate(() => {
      const t = performance.now();
      while (performance.now() - t < 2_500) {}
    });
    const late = await until([fz], ([v]) => v.late >= 1_000, 'the page showing its late timers', 15_000);
    console.log(`  a worker held up for 2.5 s: the page shows its timers ${late[0].late} ms late`);
    // The page being hidden is shown (the visibility change a real tab switch makes).
    await fz.evaluate(() => {
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hid = await until([fz], ([v]) => v.hidden === 'true', 'the page showing that it is hidden', 10_000);
    assert(hid[0].text.includes('page hidden (hidden 1 times)'), 'the page does not say it is hidden');
    await until(rest, agreed, 'the frozen tab back in the cluster');
    await shot(fz, 'tabs-5-was-frozen.png');
  } finally {
    await context.close().catch(() => {});
  }
}

const browserRef = {};
watchdog(Number(process.env.E2E_TIMEOUT_MS || 240_000), browserRef);
let passed = 0;
let failed = 0;
const log = [];
try {
  const browser = await launch();
  browserRef.browser = browser;
  console.log(`chromium ${browser.version()}, page ${tabsUrl}`);
  console.log('test: a cluster of tabs');
  const began = Date.now();
  await scenario(browser, log);
  passed++;
  console.log(`ok: a cluster of tabs (${((Date.now() - began) / 1000).toFixed(1)}s)`);
} catch (e) {
  failed++;
  console.log(`FAILED: a cluster of tabs: ${e.stack || e.message}`);
  for (const line of log) console.log(`  ${line}`);
} finally {
  await browserRef.browser?.close().catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === 1 ? 0 : 1);
