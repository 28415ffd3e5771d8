// The web UI in headless Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core, against a real `eddy serve` that ui_browser_test.cc
// started with jobs running. Prints one "ok: ..." line per check and
// "figure: ..." lines with what it measured; exits 1 at the first failure.
//
// Environment: EDDY_URL, ADMIN_TOKEN, READ_TOKEN, LOCAL_URL and LOCAL_JOB
// (an `eddy run --ui`), JOBS (comma-separated ids;
// the last is the one stopped from the page), LEARNER (its learning job),
// WIDE (a 50-operator job), DEAD (a job with dead letters), SCREENSHOTS (a folder), NODE_MODULES (where
// `npm ci` put playwright-core), CHROMIUM.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = process.env;
const { chromium } = createRequire(join(env.NODE_MODULES, 'noop.js'))('playwright-core');
const url = env.EDDY_URL;
const jobs = env.JOBS.split(',');
const started = Date.now();

function fail(message) {
  console.error('FAILED: ' + message);
  process.exit(1);
}
function ok(message) {
  console.log(`ok: ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
async function until(what, check, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`${what}: not within ${seconds} s (last: ${JSON.stringify(last)})`);
}
async function api(path, token, method = 'GET') {
  const res = await fetch(url + '/api/v1' + path, { method, headers: { Authorization: 'Bearer ' + token }, body: method === 'GET' ? undefined : '' });
  return { status: res.status, body: await res.json() };
}

const profile = mkdtempSync(join(tmpdir(), 'eddy-ui-chromium-'));
// A fresh profile: playwright passes it as --user-data-dir.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 1000 },
  colorScheme: 'light',
});
try {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // 0. `eddy run --ui`: no tokens, so no sign-in; the job's page at once.
  const local = await context.newPage();
  local.on('pageerror', (e) => errors.push(e.message));
  await local.goto(env.LOCAL_URL + '/ui/');
  await local.waitForSelector(`#jobs tr[data-job="${env.LOCAL_JOB}"]`, { timeout: 10000 });
  if (await local.$('#login')) fail('the local UI asks for a token');
  await local.click(`#jobs tr[data-job="${env.LOCAL_JOB}"] a`);
  await until('the local job page shows rates on both nodes', async () =>
    local.$$eval('#dag g[data-node]', (gs) => gs.length === 2 && gs.every((g) => Number(g.dataset.rowsOutPerSecond) > 0 || Number(g.dataset.rowsInPerSecond) > 0)));
  if (!(await local.$('button[data-action="stop"]'))) fail('the local UI has no stop button');
  if (!local.url().endsWith('/ui/jobs/' + env.LOCAL_JOB)) fail('the link did not lead to the job page: ' + local.url());
  await local.screenshot({ path: join(env.SCREENSHOTS, 'ui-local-job.png'), fullPage: true });
  await local.close();
  ok('eddy run --ui: no sign-in, the job page shows its DAG with rates and a stop button');

  // 1. Tokens are configured: the page asks for one; a read token lists the jobs.
  await page.goto(url + '/ui/');
  await page.waitForSelector('#login', { timeout: 10000 });
  ok('the page asks for a token');
  await page.fill('#token', env.READ_TOKEN);
  await page.click('#login button[type=submit]');
  for (const id of jobs) await page.waitForSelector(`#jobs tr[data-job="${id}"]`, { timeout: 10000 });
  await until('the job list shows RUNNING jobs with a rate', async () =>
    page.$$eval('#jobs tbody tr', (rows) => rows.every((r) => r.cells[1].textContent === 'RUNNING' && r.cells[3].textContent.endsWith('/s'))));
  if ((await page.textContent('#role')) !== 'read') fail('role shown is not read');
  ok(`the job list shows ${jobs.length} running jobs`);
  await page.screenshot({ path: join(env.SCREENSHOTS, 'ui-job-list.png') });

  // 2. A read token: the job page (a deep link) has no buttons, and the API refuses it a stop.
  const target = jobs[jobs.length - 1];
  await page.goto(url + '/ui/jobs/' + target);
  await page.waitForSelector('#dag g[data-node]', { timeout: 10000 });
  await page.waitForSelector('#job-state');
  if ((await page.$$('button[data-action]')).length !== 0) fail('a read token sees action buttons');
  const refused = await page.evaluate(async ([id, token]) => {
    const res = await fetch(`/api/v1/jobs/${id}/stop`, { method: 'POST', body: '', headers: { Authorization: 'Bearer ' + token } });
    return res.status;
  }, [target, env.READ_TOKEN]);
  if (refused !== 403) fail(`a stop with the read token answered ${refused}, not 403`);
  ok('a read token sees no buttons and its stop is refused (403)');

  // 3. An admin token: every job's page.
  await page.evaluate((token) => localStorage.setItem('eddy-token', token), env.ADMIN_TOKEN);
  for (const id of [...jobs, env.WIDE]) {
    const dag = (await api(`/jobs/${id}/dag`, env.ADMIN_TOKEN)).body.nodes.map((n) => n.name);
    const opened = Date.now();
    await page.goto(url + '/ui/jobs/' + id);
    await page.waitForFunction((count) => document.querySelectorAll('#dag g[data-node]').length >= count &&
      document.querySelector('.chart[data-points]') && Number(document.querySelector('.chart').dataset.points) > 0, dag.length);
    const openMs = Date.now() - opened;
    // The page's own clock: from the navigation's start to now.
    const pageMs = Math.round(await page.evaluate(() => performance.now()));
    const loadMs = Math.round(await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd));
    console.log(`figure: page of ${id} (${dag.length} DAG nodes) drawn with data in ${openMs} ms (page clock ${pageMs} ms, of which loading the page ${loadMs} ms)`);
    if (id === env.WIDE) {
      if (dag.length !== 50) fail(`the wide job has ${dag.length} nodes, not 50`);
      if (openMs > 5000) fail(`the 50-node page took ${openMs} ms`);
      continue;
    }
    // Every node of the DAG is drawn and passes rows.
    const rates = await until(`every node of ${id} shows a non-zero rate`, async () => {
      const seen = await page.$$eval('#dag g[data-node]', (gs) => Object.fromEntries(gs.map((g) => [g.dataset.node, Math.max(Number(g.dataset.rowsInPerSecond || 0), Number(g.dataset.rowsOutPerSecond || 0))])));
      return dag.every((name) => seen[name] > 0) ? seen : null;
    });
    ok(`${id}: DAG has all ${dag.length} nodes, each with a non-zero rate (${Object.entries(rates).map(([k, v]) => `${k} ${v.toFixed(0)}/s`).join(', ')})`);
    // The live charts have points.
    const charts = await until(`${id}: the live charts have points`, async () => {
      const got = await page.$$eval('#charts .chart', (cs) => cs.map((c) => [c.dataset.title, Number(c.dataset.points)]));
      return got.length >= 4 && got.every(([, n]) => n >= 3) ? got : null;
    });
    ok(`${id}: charts ${charts.map(([t, n]) => `"${t}" ${n} points`).join(', ')}`);
    // The checkpoint table grows.
    const first = await until(`${id}: a checkpoint is listed`, async () => {
      const n = await page.$$eval('#checkpoints tbody tr', (rs) => rs.length);
      return n > 0 ? n : null;
    });
    const grown = await until(`${id}: the checkpoint table grows`, async () => {
      const n = await page.$$eval('#checkpoints tbody tr', (rs) => rs.length);
      return n > first ? n : null;
    });
    ok(`${id}: checkpoint table grew from ${first} to ${grown} rows`);
    if (id === env.DEAD) {
      const letter = await until(`${id}: the dead letters are listed with their reasons`, async () =>
        page.$$eval('#dead-letters tbody tr', (rs) => (rs.length ? [rs[0].cells[2].textContent, rs[0].cells[4].textContent] : null)));
      if (letter[0] !== 'shaped' || !letter[1].includes("cannot cast 'n/a' to int64")) fail(`${id}: dead letter ${JSON.stringify(letter)}`);
      ok(`${id}: dead letters listed, the newest from ${letter[0]}: ${letter[1]}`);
    }
    if (id === env.LEARNER) {
      const quality = await until(`${id}: the model-quality chart shows accuracy`, async () =>
        page.evaluate(() => {
          const chart = document.querySelector('#models .model .chart');
          if (!chart || Number(chart.dataset.points) < 2) return null;
          const labels = [...chart.querySelectorAll('.u-legend .u-label')].map((l) => l.textContent);
          return labels.some((l) => l.startsWith('accuracy')) ? { points: Number(chart.dataset.points), labels } : null;
        }));
      const accuracy = (await api(`/jobs/${id}/history`, env.ADMIN_TOKEN)).body.learners[0].points.at(-1).figures.accuracy;
      if (!(accuracy > 0.5 && accuracy <= 1)) fail(`accuracy ${accuracy}`);
      ok(`${id}: model quality chart (${quality.labels.join(', ')}) with ${quality.points} points; accuracy now ${accuracy.toFixed(3)}`);
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(env.SCREENSHOTS, `ui-job-${id}.png`), fullPage: true });
      // Down to the model quality: the picture in docs/ui-job-page.png.
      const bottom = await page.evaluate(() => document.querySelector('#models').getBoundingClientRect().bottom + window.scrollY + 16);
      await page.screenshot({ path: join(env.SCREENSHOTS, `ui-job-${id}-top.png`), fullPage: true, clip: { x: 0, y: 0, width: 1400, height: Math.ceil(bottom) } });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(env.SCREENSHOTS, `ui-job-${id}-dark.png`), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
    }
    if ((await page.textContent('#job-file')).indexOf('name: ' + id) < 0) fail(`${id}: the job file is not shown`);
  }

  // 4. An admin stops a job from its page.
  await page.goto(url + '/ui/jobs/' + target);
  await page.waitForSelector('button[data-action="stop"]:not([disabled])', { timeout: 10000 });
  await page.click('button[data-action="stop"]');
  await until(`${target} shows STOPPED`, async () => (await page.textContent('#job-state')) === 'STOPPED', 30);
  ok(`an admin stopped ${target} from its page`);
  await page.screenshot({ path: join(env.SCREENSHOTS, `ui-job-${target}-stopped.png`), fullPage: true });
  if (errors.length) fail('page errors: ' + errors.join('; '));
  ok('no script errors on any page');
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`all checks passed: ui_browser_test.mjs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
