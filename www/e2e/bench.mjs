// The UI benchmark: open the built page with 7 peers and time window.zabraBench(n), which runs
// n simulator steps with a render after each.
//
//   node www/e2e/bench.mjs http://127.0.0.1:PORT/ [STEPS] [NODES]
//
// Prints one JSON line: {"steps":…, "ms":…, "peers":…, "chromium":…}. `cargo xtask bench ui`
// runs this and reports rendered events per second and frame time per event.

import { PEERS, launch, newPage, open, watchdog } from './lib.mjs';

const [base, stepsArg = '2000', nodesArg = '7'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node bench.mjs http://127.0.0.1:PORT/ [STEPS] [NODES]');
  process.exit(2);
}
const steps = Number(stepsArg);
const url = new URL(base);
// The page keeps its shareable state (seed, nodes, lesson, actions) in the hash; the query
// parameter is set too, for a page that reads it there.
url.searchParams.set('nodes', nodesArg);
url.hash = `nodes=${nodesArg}`;

const browserRef = {};
watchdog(Number(process.env.BENCH_TIMEOUT_MS || 240_000), browserRef);
let code = 0;
try {
  const browser = await launch();
  browserRef.browser = browser;
  const log = [];
  const page = await newPage(browser, log);
  page.setDefaultTimeout(180_000);
  await open(page, url.toString());
  const peers = await page.locator(PEERS).count();
  if (peers !== Number(nodesArg)) {
    throw new Error(`${url} shows ${peers} peers, not ${nodesArg}`);
  }
  const hasBench = await page.evaluate(() => typeof window.zabraBench === 'function');
  if (!hasBench) throw new Error('the page has no window.zabraBench');
  // A short warm-up (JIT, first layouts), then the measured run.
  await page.evaluate((n) => window.zabraBench(n), Math.min(50, steps));
  const r = await page.evaluate((n) => window.zabraBench(n), steps);
  if (log.length) console.error(log.join('\n'));
  console.log(JSON.stringify({ steps: r.steps, ms: r.ms, peers, chromium: browser.version() }));
} catch (e) {
  console.error(`bench ui: ${e.stack || e.message}`);
  code = 1;
} finally {
  await browserRef.browser?.close().catch(() => {});
}
process.exit(code);
