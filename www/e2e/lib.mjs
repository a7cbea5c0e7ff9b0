// Shared helpers of the end-to-end tests and the UI benchmark: start Debian's Chromium through
// playwright-core (never a downloaded browser), read the page's test contract, step it.
//
// The contract (www/src): peers are [data-testid="peer-<sid>"] with data-role, data-epoch and
// data-committed; buttons btn-play, btn-pause, btn-step, btn-back, btn-crash-<sid>,
// btn-restart-<sid>, btn-heal, btn-write, lesson-next, lesson-prev, btn-share; `timeline`,
// `step-index`, `lesson-select`, `lesson-text`, `safety` (data-ok), `in-flight`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';

/// The peers of the cluster drawing (other elements, like `peer-panel`, share the prefix).
export const PEERS = '[data-testid^="peer-"][data-role]';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Known to work on these machines: without the background-networking flags Chromium keeps
// trying Google's hosts, which this closed network refuses.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium chromium-driver`);
  }
  // A non-persistent launch gets a fresh, empty profile (user data dir) from Playwright.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/// A new page whose console errors and uncaught exceptions are kept (and shown on failure).
export async function newPage(browser, log) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // btn-share may copy the URL: let it (loopback is a secure context).
  await context.grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => {});
  // The snapshot reader, in every document of this context (evaluate cannot pass functions).
  await context.addInitScript({ content: `window.__e2eSnapshot = ${readSnapshot.toString()};` });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(20_000);
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed loads are logged with their address below instead.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) log.push(`console.error: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) log.push(`http ${r.status()}: ${r.url()}`);
  });
  return page;
}

/// Opens `url` and waits (bounded) until the app has drawn its peers.
export async function open(page, url) {
  await page.goto(url, { waitUntil: 'load' });
  await page.locator(PEERS).first().waitFor({ state: 'attached', timeout: 20_000 });
  await settle(page);
}

/// Lets Yew's scheduler render what the last event queued.
export async function settle(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
}

/// What the tests compare: the step index, and every peer's role, epoch and committed zxid.
export async function snapshot(page) {
  return page.evaluate(() => window.__e2eSnapshot());
}

// Runs in the page (serialised by Playwright): keep it self-contained.
function readSnapshot() {
  const text = (id) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    return el ? el.textContent.trim() : null;
  };
  const peers = {};
  // Peers carry data-role (other elements, like peer-panel, share the prefix).
  for (const el of document.querySelectorAll('[data-testid^="peer-"][data-role]')) {
    const sid = el.getAttribute('data-testid').slice('peer-'.length);
    peers[sid] = {
      role: el.getAttribute('data-role'),
      epoch: el.getAttribute('data-epoch'),
      committed: el.getAttribute('data-committed'),
    };
  }
  const safety = document.querySelector('[data-testid="safety"]');
  return {
    step: text('step-index'),
    lesson: text('lesson-text'),
    safety: safety ? safety.getAttribute('data-ok') : null,
    peers,
  };
}

/// Clicks btn-step (in the page, one round trip per step) until `done(snapshot)` holds;
/// bounded by `maxSteps` and `timeoutMs`. Returns the last snapshot and the steps taken.
export async function stepUntil(page, done, { maxSteps = 2000, timeoutMs = 60_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let snap = await snapshot(page);
  for (let steps = 0; steps <= maxSteps; steps++) {
    if (done(snap)) return { snap, steps };
    if (Date.now() > deadline) break;
    snap = await page.evaluate(async () => {
      const btn = document.querySelector('[data-testid="btn-step"]');
      if (!btn) throw new Error('no [data-testid="btn-step"]');
      btn.click();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return window.__e2eSnapshot();
    });
  }
  throw new Error(`${what}: not reached within ${maxSteps} steps / ${timeoutMs} ms; last ${JSON.stringify(snap)}`);
}

/// Clicks btn-step `n` times (each rendered); returns the snapshot after the last.
export async function step(page, n) {
  return page.evaluate(async (n) => {
    const btn = document.querySelector('[data-testid="btn-step"]');
    if (!btn) throw new Error('no [data-testid="btn-step"]');
    for (let i = 0; i < n; i++) {
      btn.click();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    }
    return window.__e2eSnapshot();
  }, n);
}

/// Polls `done(snapshot)` without stepping (for things the page does by itself), bounded.
export async function waitFor(page, done, { timeoutMs = 10_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let snap = await snapshot(page);
  while (!done(snap)) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(snap)}`);
    await page.waitForTimeout(50);
    snap = await snapshot(page);
  }
  return snap;
}

export function leaders(snap) {
  return Object.entries(snap.peers).filter(([, p]) => p.role === 'LEADING');
}

/// Epochs as the page shows them (decimal or 0x-hex), as BigInt for comparisons.
export function epochOf(peer) {
  const e = String(peer.epoch ?? '').trim();
  if (e === '') return -1n;
  return BigInt(e);
}

/// Ends the process after `ms` whatever happens (closing the browser first, bounded).
export function watchdog(ms, browserRef) {
  const timer = setTimeout(async () => {
    console.error(`watchdog: gave up after ${ms} ms`);
    try {
      await Promise.race([browserRef.browser?.close(), new Promise((r) => setTimeout(r, 5_000))]);
    } finally {
      process.exit(3);
    }
  }, ms);
  timer.unref();
}

// Live mode (the page watching and controlling a real cluster): its state as the tests read it.

export async function supervisorNodes(supervisor) {
  const r = await fetch(`${supervisor}/nodes`, { signal: AbortSignal.timeout(5_000) });
  return r.json();
}

/// The process is gone (or a zombie its supervisor has not reaped yet).
export function processGone(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.startsWith('Z');
  } catch {
    return true;
  }
}

export async function waitLive(page, done, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await liveState(page);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(s)}`);
    await page.waitForTimeout(50);
  }
}

export async function liveState(page) {
  const snap = await snapshot(page);
  return page.evaluate((peers) => {
    const live = document.querySelector('[data-testid="live"]');
    const o = document.querySelector('[data-testid="live-outage"]');
    const cards = [...document.querySelectorAll('[data-testid^="live-node-"]')];
    const streams = cards.map((c) => c.getAttribute('data-stream'));
    const paused = cards.filter((c) => c.getAttribute('data-paused') === 'true').map((c) => c.getAttribute('data-testid').slice('live-node-'.length));
    const silent = cards.filter((c) => c.getAttribute('data-silent') === 'true').map((c) => c.getAttribute('data-testid').slice('live-node-'.length));
    const b = document.querySelector('[data-testid="live-burst"]');
    const attr = (el, k) => el.getAttribute(k);
    // Messages drawn on the cluster picture, by kind (the dots' k-<kind> class).
    const dots = [...document.querySelectorAll('svg.cluster g.dot')].map((d) => [...d.classList].find((c) => c.startsWith('k-'))?.slice(2));
    const tree = [...document.querySelectorAll('[data-testid="live-tree"] tr[data-path]')].map((r) => r.getAttribute('data-path'));
    return {
      leader: live?.getAttribute('data-leader') ?? null,
      tree,
      streams,
      paused,
      silent,
      dots,
      burst: b ? { n: Number(attr(b, 'data-n')), done: attr(b, 'data-done'), committed: Number(attr(b, 'data-committed')), read: Number(attr(b, 'data-read')), quorum: Number(attr(b, 'data-quorum')), text: b.textContent } : null,
      outage: o ? { open: o.getAttribute('data-open'), ms: o.getAttribute('data-ms'), newLeader: o.getAttribute('data-new-leader'), epoch: o.getAttribute('data-epoch') } : null,
      peers,
    };
  }, snap.peers);
}
