// End-to-end tests of the built Zabra UI in headless Debian Chromium.
//
//   node www/e2e/run.mjs http://127.0.0.1:PORT/ OUTDIR
//
// `cargo xtask test` (stage ui-e2e) builds the page, serves it on loopback and runs this.
// Every wait is bounded; the browser is closed whatever happens; screenshots go to OUTDIR.
// Ends with "N passed, M failed" and exits non-zero on any failure.

import fs from 'node:fs';
import path from 'node:path';
import { launch, newPage, open, settle, snapshot, step, stepUntil, waitFor, leaders, epochOf, watchdog, supervisorNodes, processGone, waitLive } from './lib.mjs';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node run.mjs http://127.0.0.1:PORT/ OUTDIR');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function shot(page, name) {
  const file = path.resolve(outDir, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 15_000 });
  console.log(`  screenshot ${file}`);
}

const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

/// Steps a fresh page until exactly one peer leads; returns [sid, peer, snap].
async function electLeader(page) {
  const { snap, steps } = await stepUntil(page, (s) => leaders(s).length === 1, {
    maxSteps: 3000,
    timeoutMs: 60_000,
    what: 'a leader elected',
  });
  const [[sid, peer]] = leaders(snap);
  console.log(`  peer ${sid} LEADING in epoch ${peer.epoch} after ${steps} steps (step-index ${snap.step})`);
  return [sid, peer, snap];
}

test('a leader gets elected', async (page) => {
  await open(page, base);
  const first = await snapshot(page);
  const n = Object.keys(first.peers).length;
  assert(n >= 3, `expected at least 3 peers, found ${n}`);
  for (const [sid, p] of Object.entries(first.peers)) {
    assert(['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING', 'DOWN'].includes(p.role), `peer ${sid}: role ${p.role}`);
  }
  const [, , snap] = await electLeader(page);
  const followers = Object.values(snap.peers).filter((p) => p.role === 'FOLLOWING').length;
  console.log(`  ${n} peers, ${followers} FOLLOWING`);
  await shot(page, 'e2e-1-leader-elected.png');
});

test('crashing the leader leads to a new election with a higher epoch', async (page) => {
  await open(page, base);
  const [sid, peer] = await electLeader(page);
  const oldEpoch = epochOf(peer);
  assert(oldEpoch >= 0n, `leader ${sid} shows no epoch (${peer.epoch})`);
  await byTestId(page, `btn-crash-${sid}`).click();
  await settle(page);
  await waitFor(page, (s) => s.peers[sid]?.role === 'DOWN', { what: `peer ${sid} DOWN after btn-crash-${sid}` });
  const { snap, steps } = await stepUntil(
    page,
    (s) => leaders(s).some(([other, p]) => other !== sid && epochOf(p) > oldEpoch),
    { maxSteps: 5000, timeoutMs: 90_000, what: `a new leader with an epoch above ${oldEpoch}` },
  );
  const [[newSid, newPeer]] = leaders(snap);
  console.log(`  crashed ${sid} (epoch ${oldEpoch}); peer ${newSid} LEADING in epoch ${newPeer.epoch} after ${steps} steps`);
  assert(snap.peers[sid].role === 'DOWN', `crashed peer ${sid} is ${snap.peers[sid].role}, not DOWN`);
  await shot(page, 'e2e-2-new-leader-after-crash.png');
});

test('the legend explains the labels; the event log narrates a crash and filters by topic', async (page) => {
  await open(page, base);
  const legend = byTestId(page, 'legend');
  await legend.locator('summary').click();
  const text = await legend.innerText();
  for (const term of ['epoch 1/2', 'committed (1,3)', 'acks (need 2)', 'votes seen (from:for)', 'AckEpoch', 'Finalize', 'after-fsync-before-ack',
    'orange ring', 'brown ring', 'pending write', 'reduced motion']) {
    assert(text.includes(term), `the legend does not explain ${term}`);
  }
  const [sid] = await electLeader(page);
  await byTestId(page, `btn-crash-${sid}`).click();
  await settle(page);
  const log = byTestId(page, 'event-log');
  assert((await log.innerText()).includes(`** ${sid} crashed`), `the event log does not show the crash of ${sid}`);
  await stepUntil(page, (s) => leaders(s).some(([other]) => other !== sid), { maxSteps: 5000, timeoutMs: 90_000, what: 'a new leader' });
  assert(/is LOOKING for a leader/.test(await log.innerText()), 'the event log shows no peer LOOKING');
  // Only elections: every line shown is an election line, and the crash line is gone.
  for (const t of ['faults', 'sync', 'broadcast', 'sessions', 'client']) await byTestId(page, `log-topic-${t}`).uncheck();
  const topics = await log.locator('div').evaluateAll((ds) => [...new Set(ds.map((d) => d.dataset.topic))]);
  assert(topics.length === 1 && topics[0] === 'election', `with only elections checked the log shows ${topics}`);
  await byTestId(page, 'log-topic-faults').check();
  await byTestId(page, 'log-topic-election').uncheck();
  assert((await log.innerText()).includes(`** ${sid} crashed`), 'faults alone do not bring the crash back');
  await byTestId(page, 'log-topic-election').check();
  console.log(`  legend ok; the log narrates the crash of ${sid}; topic filters hide and show lines`);
  await shot(page, 'e2e-legend-and-log.png');
});

test('a pasted scenario runs (an ephemeral create among its commands); an action that cannot run says why', async (page) => {
  await open(page, base);
  const panel = byTestId(page, 'scenario-panel');
  await panel.locator('summary').click();
  const scrubToEnd = async () => {
    await byTestId(page, 'timeline').evaluate((el) => {
      el.value = el.max;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await settle(page);
  };
  await byTestId(page, 'scenario-text').fill('cluster 3 seed=7\nstart\nstabilize\nclient 1 create -e /eph x\nstabilize\n');
  await byTestId(page, 'btn-run-scenario').click();
  await settle(page);
  await scrubToEnd();
  const tree = await byTestId(page, 'selected-peer').innerText();
  assert(tree.includes('/eph'), 'the pasted scenario did not create /eph');
  // "run until stable" with the network in the student's hands cannot run: the page says so.
  await panel.locator('summary').click().catch(() => {});
  if (!(await byTestId(page, 'scenario-text').isVisible())) await panel.locator('summary').click();
  await byTestId(page, 'scenario-text').fill('cluster 3 seed=7 manual\nstart\nstabilize\n');
  await byTestId(page, 'btn-run-scenario').click();
  await settle(page);
  await scrubToEnd();
  const err = await byTestId(page, 'action-error').innerText();
  assert(err.includes('needs the automatic network'), `no reason shown: ${err}`);
  console.log(`  pasted scenario ran; the page says: ${err}`);
  await shot(page, 'e2e-scenario-and-error.png');
});

test('the beginner path: every lesson walks to its end; LOOKING has its step, DIFF names what it sent, an ephemeral goes with its session', async (page) => {
  await open(page, base);
  const select = byTestId(page, 'lesson-select');
  const beginner = await select.locator('optgroup[label="Start here"] option').evaluateAll((os) => os.map((o) => o.value));
  assert(beginner[0] === 'intro' && beginner.includes('sessions-ephemerals-watches') && beginner.includes('partitions'),
    `the beginner path is ${beginner}`);
  // The selected peer's znode tree (its history panel above names paths too).
  const peerText = async () => byTestId(page, 'selected-peer').locator('table.tree').innerText();
  for (const id of beginner) {
    await select.selectOption(id);
    await settle(page);
    const steps = Number((await byTestId(page, 'lesson-step').innerText()).split('/')[1]);
    const seen = [];
    for (let i = 1; i <= steps; i++) {
      const snap = await snapshot(page);
      const sessions = await page.locator('svg.cluster circle.session-timer')
        .evaluateAll((cs) => cs.map((c) => ({ sid: c.dataset.testid, left: Number(c.dataset.left), session: c.dataset.session })));
      seen.push({ roles: Object.values(snap.peers).map((p) => p.role), tree: await peerText(),
        syncs: await byTestId(page, 'sync-modes').innerText(), text: snap.lesson, sessions });
      if (id === 'leader-crash' && seen.filter((x) => x.roles.filter((r) => r === 'LOOKING').length === 2).length === 1) {
        await shot(page, 'lesson-leader-crash-looking.png');
      }
      if (i < steps) {
        await byTestId(page, 'lesson-next').click();
        await settle(page);
      }
    }
    const note = await byTestId(page, 'lesson-note').innerText().catch(() => '');
    assert(note.startsWith('End of the lesson'), `${id}: the last step does not say the lesson ended (${note})`);
    if (id === 'leader-crash') {
      const looking = seen.find((s) => s.roles.filter((r) => r === 'LOOKING').length === 2);
      assert(looking, `${id}: no step shows the followers LOOKING`);
      assert(looking.text.includes('LOOKING'), `${id}: the LOOKING step does not say so: ${looking.text}`);
    }
    if (id === 'sync-diff') {
      assert(/DIFF: learner at 0x700000002; sends the entries after 0x700000002 up to 0x\w+/.test(seen.at(-1).syncs),
        `${id}: the DIFF row does not say what was sent: ${seen.at(-1).syncs}`);
    }
    if (id === 'sessions-ephemerals-watches') {
      assert(seen[3].tree.includes('/workers/w3') && !seen[4].tree.includes('/workers/w3') && seen[4].tree.includes('/workers/w2'),
        `${id}: /workers/w3 does not go with its session: ${JSON.stringify(seen.map((x) => x.tree.match(/\/workers\S*/g)))}`);
      // Session timeouts are drawn as shrinking rings: the silent worker's ring has shrunk
      // while it hangs, and it is gone with its session.
      const rings = seen.map((x) => x.sessions);
      assert(rings[2].length === 3, `${id}: three sessions, three rings: ${JSON.stringify(rings[2])}`);
      const hung = rings[3].reduce((a, b) => (b.left < a.left ? b : a));
      const before = rings[2].find((q) => q.session === hung.session);
      assert(hung.left < 0.8 && before && before.left > hung.left,
        `${id}: no session ring shrinks while w3 hangs: ${JSON.stringify(rings.slice(2, 5))}`);
      assert(rings[4].length === 2 && !rings[4].some((r) => r.session === hung.session),
        `${id}: the expired session's ring is still drawn: ${JSON.stringify(rings[4])}`);
    }
    console.log(`  ${id}: ${steps} steps walked`);
    await shot(page, `lesson-${id}.png`);
  }
});

/// The use-case lessons' recipe clients as the page shows them (recipe-panel rows).
async function recipeClients(page) {
  return page.locator('[data-testid^="recipe-client-"]').evaluateAll((rows) => rows.map((r) => ({
    name: r.dataset.testid.slice('recipe-client-'.length),
    notified: Number(r.dataset.notified),
    phase: r.dataset.phase,
    crashed: r.dataset.crashed === 'true',
    znodes: r.querySelector('[data-testid^="recipe-znodes-"]').textContent,
    watches: r.querySelector('[data-testid^="recipe-watches-"]').textContent,
  })));
}

/// Walks a use-case lesson step by step; returns what each step showed (recipe clients, the
/// selected peer's znode tree, the event log) and leaves its last step on screen.
async function walkRecipeLesson(page, id) {
  const select = byTestId(page, 'lesson-select');
  const uses = await select.locator('optgroup[label^="Use cases"] option').evaluateAll((os) => os.map((o) => o.value));
  assert(uses.includes(id), `the use-case group has no ${id} (has ${uses.join(', ')})`);
  await select.selectOption(id);
  await settle(page);
  const steps = Number((await byTestId(page, 'lesson-step').innerText()).split('/')[1]);
  const seen = [];
  for (let i = 1; i <= steps; i++) {
    await settle(page);
    seen.push({
      clients: await recipeClients(page),
      tree: await byTestId(page, 'selected-peer').locator('table.tree').innerText(),
      log: await byTestId(page, 'event-log').innerText(),
      text: (await byTestId(page, 'lesson-text').innerText()).trim(),
    });
    if (i < steps) await byTestId(page, 'lesson-next').click();
  }
  const note = await byTestId(page, 'lesson-note').innerText().catch(() => '');
  assert(note.startsWith('End of the lesson'), `${id}: the last step does not say the lesson ended (${note})`);
  return seen;
}

const tokenOf = (c) => {
  const m = /fencing token (0x[0-9a-f]+)/.exec(c.phase);
  assert(m, `${c.name} shows no fencing token: ${c.phase}`);
  return BigInt(m[1]);
};
const byName = (step, name) => {
  const c = step.clients.find((x) => x.name === name);
  assert(c, `no recipe client ${name} on the page: ${JSON.stringify(step.clients)}`);
  return c;
};

test('use case: the lock lesson: the holder crashes, its ephemeral goes, only the next in line is notified, the token grows', async (page) => {
  await open(page, base);
  const seen = await walkRecipeLesson(page, 'recipe-lock');
  const [, held, two, three, crashed, expired, released] = seen;
  assert(byName(held, 'a').phase.startsWith('holds the lock'), `a does not hold the lock: ${JSON.stringify(held.clients)}`);
  const aNode = byName(three, 'a').znodes.trim();
  const bNode = byName(three, 'b').znodes.trim();
  assert(aNode.startsWith('/lock/lock-') && bNode.startsWith('/lock/lock-'), `no lock znodes shown: ${aNode} ${bNode}`);
  assert(byName(two, 'b').watches.includes(aNode), `b does not watch a's znode: ${byName(two, 'b').watches}`);
  assert(byName(three, 'c').watches.includes(bNode) && !byName(three, 'c').watches.includes(aNode),
    `c must watch b's znode only: ${byName(three, 'c').watches}`);
  assert(three.tree.includes(aNode.split('/').pop()), `the tree does not show a's znode: ${three.tree}`);
  // The crash: heartbeats stop, the session is not over yet.
  assert(byName(crashed, 'a').crashed && crashed.tree.includes(aNode.split('/').pop()),
    `a's znode should stay until its session expires: ${crashed.tree}`);
  assert(crashed.clients.every((c) => c.notified === 0), `nobody is notified before the expiry: ${JSON.stringify(crashed.clients)}`);
  // The expiry: the ephemeral is gone, one watch fired, b holds with a larger token.
  const counts = expired.clients.map((c) => `${c.name}:${c.notified}`).join(' ');
  assert(counts === 'a:0 b:1 c:0', `after the crash only the next in line should be notified: ${counts}`);
  assert(!expired.tree.includes(aNode.split('/').pop()), `the crashed holder's ephemeral is still in the tree: ${expired.tree}`);
  assert(byName(expired, 'a').znodes.trim() === 'none', `a still owns ${byName(expired, 'a').znodes}`);
  assert(byName(expired, 'b').phase.startsWith('holds the lock') && !byName(expired, 'c').phase.startsWith('holds'),
    `b alone should hold the lock: ${JSON.stringify(expired.clients)}`);
  assert(tokenOf(byName(expired, 'b')) > tokenOf(byName(held, 'a')), 'the fencing token did not grow');
  assert(/watch fired: NodeDeleted \/lock\//.test(expired.log) && /closeSession/.test(expired.log),
    `the event log does not show the expiry and the notification: ${expired.log.slice(-800)}`);
  // A release passes it on: again one notification.
  const after = released.clients.map((c) => `${c.name}:${c.notified}`).join(' ');
  assert(after === 'a:0 b:1 c:1', `a release should wake only c: ${after}`);
  assert(tokenOf(byName(released, 'c')) > tokenOf(byName(expired, 'b')), 'the token did not grow again');
  console.log(`  tokens ${tokenOf(byName(held, 'a')).toString(16)} < ${tokenOf(byName(expired, 'b')).toString(16)} < ${tokenOf(byName(released, 'c')).toString(16)}; notified ${after}`);
  await shot(page, 'lesson-recipe-lock.png');
});

test('use case: group membership: a crashed member disappears from the tree and from the monitor\'s list', async (page) => {
  await open(page, base);
  const seen = await walkRecipeLesson(page, 'recipe-membership');
  const [, empty, one, two, crashed, expired] = seen;
  assert(byName(empty, 'monitor').watches.includes('/group'), `the monitor has no child watch on /group: ${byName(empty, 'monitor').watches}`);
  assert(byName(two, 'monitor').phase === 'sees members [web1, web2]' && byName(two, 'monitor').notified === 2,
    `the monitor should have seen two joins: ${JSON.stringify(byName(two, 'monitor'))}`);
  assert(one.tree.includes('/group/web1') && two.tree.includes('/group/web2'), `the members' znodes are not in the tree: ${two.tree}`);
  assert(byName(crashed, 'web2').crashed && crashed.tree.includes('/group/web2'), `web2's znode should stay until its session expires: ${crashed.tree}`);
  assert(!expired.tree.includes('/group/web2') && expired.tree.includes('/group/web1'), `web2's ephemeral is still in the tree: ${expired.tree}`);
  const m = byName(expired, 'monitor');
  assert(m.phase === 'sees members [web1]' && m.notified === 3, `the monitor did not see web2 go: ${JSON.stringify(m)}`);
  assert(byName(expired, 'web1').notified === 0, 'a member was notified: members set no watches');
  await shot(page, 'lesson-recipe-membership.png');
});

test('use case: every recipe lesson walks to its end with its clients shown, nobody gives up, safety holds', async (page) => {
  await open(page, base);
  const uses = await byTestId(page, 'lesson-select').locator('optgroup[label^="Use cases"] option').evaluateAll((os) => os.map((o) => o.value));
  assert(uses.length >= 5, `too few use-case lessons: ${uses}`);
  for (const id of uses.filter((u) => u !== 'recipe-lock' && u !== 'recipe-membership')) {
    const seen = await walkRecipeLesson(page, id);
    const last = seen.at(-1);
    assert(last.clients.length >= 2 && last.clients.every((c) => !c.phase.startsWith('gave up')),
      `${id}: ${JSON.stringify(last.clients)}`);
    assert((await snapshot(page)).safety === 'true', `${id}: the safety panel is not green`);
    console.log(`  ${id}: ${seen.length} steps; ${last.clients.map((c) => `${c.name}: ${c.phase}`).join('; ')}`);
    await shot(page, `lesson-${id}.png`);
  }
});

test('at 7 peers no two message labels overlap', async (page) => {
  await open(page, base);
  await byTestId(page, 'nodes-select').selectOption('7');
  await settle(page);
  let worst = { labels: 0, pairs: [] };
  for (let round = 0; round < 12; round++) {
    await step(page, 5);
    await settle(page);
    await page.waitForTimeout(500); // the dots' motion ends (positions in between may cross)
    const boxes = await page.locator('svg.cluster .dot text').evaluateAll((ts) => ts.map((t) => {
      const r = t.getBoundingClientRect();
      return { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, text: t.textContent };
    }));
    const pairs = [];
    for (let a = 0; a < boxes.length; a++) {
      for (let b = a + 1; b < boxes.length; b++) {
        const [p, q] = [boxes[a], boxes[b]];
        if (p.x0 < q.x1 - 0.5 && q.x0 < p.x1 - 0.5 && p.y0 < q.y1 - 0.5 && q.y0 < p.y1 - 0.5) pairs.push(`${p.text}/${q.text}`);
      }
    }
    if (boxes.length > worst.labels) worst = { labels: boxes.length, pairs };
    assert(pairs.length === 0, `labels overlap at 7 peers: ${pairs.join(', ')}`);
  }
  const dots = await page.locator('svg.cluster .dot').count();
  console.log(`  up to ${worst.labels} labels drawn at once (${dots} dots now), none overlapping`);
  assert(worst.labels >= 4, `too few labels to tell (${worst.labels})`);
  await shot(page, 'e2e-7-peers-labels.png');
});

test('messages travel along the links between steps; none with prefers-reduced-motion', async (page) => {
  await open(page, base);
  /// The positions of the flights (messages delivered by the last step) now and 120 ms later.
  const flights = () => page.evaluate(async () => {
    const at = () => [...document.querySelectorAll('svg.cluster .flight')].map((f) => {
      const r = f.getBoundingClientRect();
      return { x: r.x, y: r.y, running: f.getAnimations().some((a) => a.playState === 'running'), shown: getComputedStyle(f).display !== 'none' };
    });
    const a = at();
    await new Promise((r) => setTimeout(r, 120));
    return { a, b: at(), entering: document.querySelectorAll('svg.cluster .dot.enter').length };
  });
  let seen = null;
  for (let i = 0; i < 12 && !seen; i++) {
    await step(page, 1);
    const f = await flights();
    if (f.a.length > 0) seen = f;
    if (i === 0) assert(f.entering > 0, 'the first step sends votes, but none enters from its sender');
  }
  assert(seen, 'twelve steps delivered no message to fly');
  const moved = seen.a.some((p, i) => seen.b[i] && Math.hypot(p.x - seen.b[i].x, p.y - seen.b[i].y) > 2);
  assert(seen.a.every((p) => p.running && p.shown), `a delivered message is not animated: ${JSON.stringify(seen.a)}`);
  assert(moved, `a delivered message did not move along its link: ${JSON.stringify(seen)}`);
  // A lesson step of many events replays them as motion too.
  await byTestId(page, 'lesson-select').selectOption('first-election');
  await settle(page);
  await byTestId(page, 'lesson-next').click();
  await settle(page);
  const lessonStep = await flights();
  assert(lessonStep.a.length + lessonStep.entering > 1, `a lesson step of several events shows no motion: ${JSON.stringify(lessonStep)}`);
  // The reader asks for reduced motion: nothing flies, nothing moves.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await byTestId(page, 'lesson-next').click();
  await settle(page);
  const still = await page.evaluate(() => ({
    anims: [...document.querySelectorAll('svg.cluster .flight, svg.cluster .dot')].flatMap((e) => e.getAnimations()).filter((a) => a.playState === 'running').length,
    shown: [...document.querySelectorAll('svg.cluster .flight')].filter((f) => getComputedStyle(f).display !== 'none').length,
  }));
  assert(still.anims === 0 && still.shown === 0, `with reduced motion: ${JSON.stringify(still)}`);
  console.log(`  a step flew ${seen.a.length} message(s) to their receivers (moving); a lesson step moved ${lessonStep.a.length + lessonStep.entering}; reduced motion: none`);
});

test('a write to an isolated leader shows as pending, says why it cannot commit, then that it failed', async (page) => {
  await open(page, base);
  await byTestId(page, 'btn-stabilize').click();
  await settle(page);
  const [[L]] = leaders(await snapshot(page));
  const row = (p) => byTestId(page, 'requests').locator(`li[data-path="${p}"]`);
  await byTestId(page, 'client-peer').selectOption(L);
  await byTestId(page, 'write-path').fill('/pre');
  await byTestId(page, 'btn-write').click();
  await byTestId(page, 'btn-stabilize').click();
  await settle(page);
  assert((await row('/pre').getAttribute('data-state')) === 'ok', `the first write: ${await byTestId(page, 'requests').innerText()}`);
  // Cut leader L off from the others, silently: it still believes it leads.
  await byTestId(page, 'partition-groups').fill(L);
  await byTestId(page, 'partition-silent').check();
  await byTestId(page, 'btn-partition').click();
  await byTestId(page, 'write-path').fill('/iso');
  await byTestId(page, 'btn-write').click();
  await step(page, 2);
  await settle(page);
  assert((await byTestId(page, 'create-mode').inputValue()) === '', 'the create form does not default to a persistent znode');
  const pending = await row('/iso').innerText();
  assert((await row('/iso').getAttribute('data-state')) === 'pending' && /cannot commit/.test(pending) && /quorum/.test(pending),
    `the write to the isolated leader: ${pending}`);
  assert(await page.locator(`svg.cluster [data-testid="pending-${L}"][data-path="/iso"]`).count() === 1, 'no pending marker by the leader');
  await shot(page, 'e2e-isolated-leader-write-pending.png');
  let state = 'pending';
  for (let i = 0; i < 60 && state === 'pending'; i++) {
    await step(page, 10);
    state = await row('/iso').getAttribute('data-state');
  }
  const failed = await row('/iso').innerText();
  assert(state === 'failed' && /never committed/.test(failed), `after the leader gave up: ${state}: ${failed}`);
  assert(await page.locator(`svg.cluster [data-testid="pending-${L}"]`).count() === 0, 'the pending marker stays after the write failed');
  console.log(`  pending: ${pending.slice(0, 90)}…\n  then: ${failed.slice(0, 110)}…`);
});

test('keyboard, dark theme, partitions drawn, and a 1280x720 screen', async (page) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await open(page, base);
  const idx = async () => Number(await byTestId(page, 'step-index').innerText());
  const s0 = await idx();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await settle(page);
  assert((await idx()) === s0 + 2, 'the right arrow does not step');
  await page.keyboard.press('ArrowLeft');
  await settle(page);
  assert((await idx()) === s0 + 1, 'the left arrow does not step back');
  await byTestId(page, 'btn-stabilize').click();
  await settle(page);
  const rings = await page.locator('svg.cluster circle.timer').count();
  assert(rings === 2, `a stable 3-peer cluster shows ${rings} sync-limit rings, not 2 (one per follower)`);
  await byTestId(page, 'btn-isolate-1').click();
  await settle(page);
  const states = await page.locator('svg.cluster line.link').evaluateAll((ls) => ls.map((l) => `${l.dataset.link}:${l.dataset.state}`));
  assert(states.includes('1-2:cut') && states.includes('1-3:cut') && states.includes('2-3:ok'), `links after isolating 1: ${states}`);
  await byTestId(page, 'theme-toggle').click();
  await settle(page);
  assert((await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'the theme did not turn dark');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(wide <= 1280, `the page is ${wide}px wide at 1280x720`);
  console.log(`  keys step and step back; isolating 1 draws its links cut (${states.join(' ')}); dark theme; ${wide}px wide`);
  await page.screenshot({ path: path.resolve(outDir, 'e2e-dark-1280x720.png'), timeout: 15_000 });
  await byTestId(page, 'theme-toggle').click();
});

test('a lesson steps forward and back', async (page) => {
  await open(page, base);
  const select = byTestId(page, 'lesson-select');
  const values = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
  for (const want of ['first-election', 'leader-crash']) {
    assert(values.includes(want), `lesson-select has no option ${want} (has ${values.join(', ')})`);
  }
  await select.selectOption('first-election');
  const lessonText = async () => (await byTestId(page, 'lesson-text').textContent({ timeout: 10_000 })).trim();
  const state = async () => {
    await settle(page);
    const s = await snapshot(page);
    return { step: Number(s.step), text: await lessonText() };
  };
  const s0 = await waitFor(page, (s) => (s.lesson ?? '') !== '', { what: 'lesson-text after choosing first-election' })
    .then(() => state());
  assert(await page.evaluate(() => location.href.includes('first-election')), 'the URL does not name the lesson');

  await byTestId(page, 'lesson-next').click();
  const s1 = await state();
  await byTestId(page, 'lesson-next').click();
  const s2 = await state();
  await byTestId(page, 'lesson-prev').click();
  const s3 = await state();
  const show = (s) => `step ${s.step} "${s.text.slice(0, 60)}"`;
  console.log(`  start ${show(s0)}\n  next  ${show(s1)}\n  next  ${show(s2)}\n  prev  ${show(s3)}`);
  for (const s of [s0, s1, s2, s3]) assert(Number.isFinite(s.step), `step-index is not a number: ${JSON.stringify(s)}`);
  assert(s1.step > s0.step || s1.text !== s0.text, 'lesson-next changed neither step-index nor lesson-text');
  assert(s2.step > s1.step || s2.text !== s1.text, 'the second lesson-next changed neither step-index nor lesson-text');
  assert(s1.step >= s0.step && s2.step >= s1.step, 'lesson-next went backwards');
  assert(s3.step <= s2.step, 'lesson-prev went forwards');
  assert(s3.step === s1.step && s3.text === s1.text, `lesson-prev did not return to ${show(s1)}: ${show(s3)}`);
  await shot(page, 'e2e-3-lesson.png');
});

test('a shared URL restores the same step', async (page, browser, log) => {
  await open(page, base);
  const [sid] = await electLeader(page);
  // A student action (crash the leader) and more steps, so the URL must carry actions too.
  await byTestId(page, `btn-crash-${sid}`).click();
  await settle(page);
  await stepUntil(page, (s) => s.peers[sid]?.role === 'DOWN', { maxSteps: 10, what: 'crash shown' });
  const last = await step(page, 15);
  await byTestId(page, 'btn-share').click(); // may also copy the URL to the clipboard
  await settle(page);
  const shared = await waitFor(page, (s) => s.step === last.step, { what: 'a stable step' });
  const url = await page.evaluate(() => location.href);
  console.log(`  shared at step-index ${shared.step}: ${url}`);
  assert(url !== base && url.length > base.length, `the URL holds nothing: ${url}`);

  const again = await newPage(browser, log);
  try {
    await open(again, url);
    const restored = await waitFor(again, (s) => s.step === shared.step, {
      timeoutMs: 20_000,
      what: `step-index ${shared.step} restored`,
    });
    for (const [p, want] of Object.entries(shared.peers)) {
      const got = restored.peers[p];
      assert(got, `peer ${p} missing after restore`);
      assert(got.role === want.role && got.epoch === want.epoch && got.committed === want.committed,
        `peer ${p}: ${JSON.stringify(got)} after restore, ${JSON.stringify(want)} before`);
    }
    assert(Object.keys(restored.peers).length === Object.keys(shared.peers).length, 'a different number of peers');
    console.log(`  restored step-index ${restored.step} with the same ${Object.keys(restored.peers).length} peers`);
    await shot(again, 'e2e-4-shared-url-restored.png');
  } finally {
    await again.context().close();
  }
});

// Live mode, against the real 3-node `zabra cluster` that serves this page (started by
// `cargo xtask test`, stage ui-e2e, with control enabled and a fresh admin token).
const LIVE_TOKEN = process.env.E2E_LIVE_TOKEN;
const SUPERVISOR = process.env.E2E_LIVE_SUPERVISOR;

const liveFiles = {};

test('live: the kill key kills the native leader; the page shows the new leader and the time without one', async (page) => {
  assert(LIVE_TOKEN && SUPERVISOR, 'E2E_LIVE_TOKEN and E2E_LIVE_SUPERVISOR are not set');
  await page.goto(`${base}#live&token=${LIVE_TOKEN}`, { waitUntil: 'load' });
  const s0 = await waitLive(page, (s) => s.leader !== null && s.leader !== 'none' && s.streams.length === 3 && s.streams.every((x) => x === 'true')
    && Object.values(s.peers).filter((p) => p.role === 'FOLLOWING').length === 2, 'three streams and a leader shown');
  assert(!(await page.evaluate(() => location.href)).includes(LIVE_TOKEN), 'the token stays in the URL');
  const old = s0.leader;
  const oldEpoch = epochOf(s0.peers[old]);
  const nodes = await supervisorNodes(SUPERVISOR);
  const pid = Number(/pid (\d+)/.exec(nodes[old])?.[1]);
  assert(pid > 0, `no pid for node ${old}: ${JSON.stringify(nodes)}`);
  console.log(`  leader ${old} (pid ${pid}) in epoch ${oldEpoch}; pressing K`);
  const t0 = Date.now();
  await page.keyboard.press('k');
  const s1 = await waitLive(page, (s) => s.outage?.open === 'false' && s.outage.newLeader && s.outage.newLeader !== old
    && BigInt(s.outage.epoch) > oldEpoch
    && Object.entries(s.peers).some(([sid, p]) => sid === s.outage.newLeader && p.role === 'LEADING' && epochOf(p) > oldEpoch),
    'a new leader with a higher epoch shown');
  const shown = Date.now() - t0;
  assert((await supervisorNodes(SUPERVISOR))[old] === 'killed', `the supervisor does not report node ${old} killed`);
  const deadline = Date.now() + 10_000;
  while (!processGone(pid) && Date.now() < deadline) await page.waitForTimeout(50);
  assert(processGone(pid), `the leader's process ${pid} is still running`);
  assert(s1.peers[old].role === 'DOWN', `node ${old} shows ${s1.peers[old].role}, not DOWN`);
  console.log(`  node ${s1.outage.newLeader} LEADING in epoch ${s1.outage.epoch}; no leader for ${s1.outage.ms} ms (nodes' clocks); kill to new leader shown in the page: ${shown} ms`);
  await shot(page, 'e2e-live-1-after-kill.png');
  // Bring the killed node back (PgUp, as a remote sends) and see it follow again.
  await page.keyboard.press('PageUp');
  await waitLive(page, (s) => s.peers[old]?.role === 'FOLLOWING', `node ${old} following again after PgUp`);
  await shot(page, 'e2e-live-2-restarted.png');
  const download = page.waitForEvent('download', { timeout: 10_000 });
  await byTestId(page, 'btn-record-download').click();
  liveFiles.recording = path.resolve(outDir, 'live-recording.jsonl');
  await (await download).saveAs(liveFiles.recording);
  liveFiles.old = old;
  liveFiles.oldEpoch = oldEpoch;
  await byTestId(page, 'btn-open-classroom').click();
  await checkReplay(page, old, oldEpoch, 'e2e-live-3-replay.png');
});

/// The replay of a recorded failover: at the end a new leader with a higher epoch; stepping
/// back reaches the old leader; forward again returns to the same end.
async function checkReplay(page, old, oldEpoch, shotName) {
  await byTestId(page, 'replay').waitFor({ timeout: 10_000 });
  const index = async () => Number(await byTestId(page, 'replay-index').textContent());
  const len = Number(await byTestId(page, 'replay-index').getAttribute('data-len'));
  assert(len > 10, `a recording of ${len} lines`);
  await byTestId(page, 'btn-replay-end').click();
  await settle(page);
  const end = await snapshot(page);
  assert(await index() === len, 'the end button reaches the end');
  const endLeaders = leaders(end).filter(([sid, p]) => sid !== old && epochOf(p) > oldEpoch);
  assert(endLeaders.length === 1, `at the end: no new leader above epoch ${oldEpoch}: ${JSON.stringify(end.peers)}`);
  // Step back until the old leader leads again (bounded by the recording).
  let back = 0;
  for (; back < len; back++) {
    const s = await snapshot(page);
    if (s.peers[old]?.role === 'LEADING') break;
    await byTestId(page, back % 2 ? 'btn-replay-prev' : 'btn-replay-back10').click();
    await settle(page);
  }
  const before = await snapshot(page);
  assert(before.peers[old]?.role === 'LEADING', `stepping back never showed node ${old} leading`);
  const at = await index();
  await byTestId(page, 'btn-replay-next').click();
  await settle(page);
  assert(await index() === at + 1, 'step forward moves one line');
  await byTestId(page, 'btn-replay-prev').click();
  await settle(page);
  assert(await index() === at, 'step back moves one line');
  await byTestId(page, 'replay-scrub').fill(String(len));
  await settle(page);
  const again = await snapshot(page);
  assert(JSON.stringify(again.peers) === JSON.stringify(end.peers), 'scrubbing to the end gives the same picture');
  console.log(`  replay: ${len} lines; node ${old} leads at line ${at}; node ${endLeaders[0][0]} leads epoch ${endLeaders[0][1].epoch} at the end`);
  await shot(page, shotName);
}

test('a downloaded recording opens in Classroom from the file input', async (page) => {
  assert(liveFiles.recording, 'the live test saved no recording');
  await open(page, base);
  await byTestId(page, 'replay-file').setInputFiles(liveFiles.recording);
  await checkReplay(page, liveFiles.old, liveFiles.oldEpoch, 'e2e-live-4-replay-from-file.png');
});

// E2E_ONLY=substring runs only the tests whose name contains it (for working on a few).
if (process.env.E2E_ONLY) tests.splice(0, tests.length, ...tests.filter((t) => t.name.includes(process.env.E2E_ONLY)));
const browserRef = {};
watchdog(Number(process.env.E2E_TIMEOUT_MS || 300_000), browserRef);
let passed = 0;
let failed = 0;
try {
  const browser = await launch();
  browserRef.browser = browser;
  console.log(`chromium ${browser.version()}, page ${base}`);
  for (const t of tests) {
    const log = [];
    const page = await newPage(browser, log);
    const began = Date.now();
    try {
      console.log(`test: ${t.name}`);
      await t.fn(page, browser, log);
      passed++;
      console.log(`ok: ${t.name} (${((Date.now() - began) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failed++;
      console.log(`FAILED: ${t.name}: ${e.message}`);
      for (const line of log) console.log(`  ${line}`);
      await shot(page, `e2e-failed-${tests.indexOf(t) + 1}.png`).catch(() => {});
    } finally {
      await page.context().close().catch(() => {});
    }
  }
} catch (e) {
  failed++;
  console.log(`FAILED: ${e.stack || e.message}`);
} finally {
  await browserRef.browser?.close().catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === tests.length ? 0 : 1);
