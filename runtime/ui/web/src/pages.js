// The pages: the job list and a job's page. Each polls the API while it is
// shown and stops when the router replaces it (destroy()).

import { api, AuthError, jobPath } from './api.js';
import { Chart, onThemeChange } from './charts.js';
import { DagView } from './dag.js';
import { h, num, rate, bytes, seconds, duration, ago, time, stateClass } from './format.js';

const ACTIVE = new Set(['RUNNING', 'SUBMITTED', 'RESTARTING', 'STOPPING', 'CANCELLING']);
const MAX_POINTS = 600;

function uptime(job) {
  return job.state === 'RUNNING' && job.run_started_unix_ms ? duration(Date.now() - job.run_started_unix_ms) : '—';
}

function section(title, ...body) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

function table(headers, rows, attrs = {}) {
  return h('table', attrs, h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

export class JobListPage {
  constructor(root, onAuthError) {
    this.root = root;
    this.onAuthError = onAuthError;
    this.body = h('tbody');
    this.status = h('p', { class: 'muted' }, '');
    root.replaceChildren(
      section('Jobs',
        h('table', { class: 'jobs', id: 'jobs' },
          h('thead', {}, h('tr', {}, ['Job', 'State', 'Uptime', 'Rate', 'Lag', 'Batch', 'Last checkpoint', 'Restarts'].map((t) => h('th', {}, t)))),
          this.body),
        this.status));
    this.tick();
    this.timer = setInterval(() => this.tick(), 2000);
  }

  async tick() {
    let data;
    try {
      data = await api('/jobs');
    } catch (e) {
      this.status.textContent = e.message;
      if (e instanceof AuthError) this.onAuthError(e);
      return;
    }
    this.status.textContent = data.jobs.length === 0 ? 'No jobs yet: submit one with `eddy submit JOB.yaml`.' : '';
    this.body.replaceChildren(...data.jobs.map((job) => {
      const link = h('a', { href: '/ui' + jobPath(job.id), 'data-link': true }, job.id);
      const checkpoint = job.last_checkpoint ? `${job.last_checkpoint.name} (${ago(job.last_checkpoint.created_unix_ms)})` : '—';
      return h('tr', { 'data-job': job.id },
        h('td', {}, link),
        h('td', {}, h('span', { class: stateClass(job.state) }, job.state)),
        h('td', {}, uptime(job)),
        h('td', { class: 'num' }, job.state === 'RUNNING' ? rate(job.records_per_second) : '—'),
        h('td', { class: 'num' }, num(job.lag)),
        h('td', { class: 'num' }, job.current_batch ?? '—'),
        h('td', {}, checkpoint),
        h('td', { class: 'num' }, job.restarts));
    }));
  }

  destroy() {
    clearInterval(this.timer);
  }
}

export class JobPage {
  constructor(root, id, role, onAuthError) {
    this.root = root;
    this.id = id;
    this.role = role;
    this.onAuthError = onAuthError;
    this.points = [];
    this.learners = new Map(); // operator -> {points, chart, box, info}
    this.checkpointMemory = [];
    this.sources = [];
    this.ticks = 0;
    this.build();
    this.start();
  }

  build() {
    this.summary = h('div', { class: 'summary' });
    this.actions = h('div', { class: 'actions' });
    this.message = h('p', { class: 'message', role: 'status' });
    this.error = h('pre', { class: 'error', hidden: true });
    this.dagBox = h('div', { class: 'dag-box', id: 'dag' }, h('p', { class: 'muted' }, 'Loading the DAG…'));
    this.chartBox = h('div', { class: 'charts', id: 'charts' });
    this.modelBox = h('div', { class: 'models', id: 'models' }, h('p', { class: 'muted' }, 'No learning operator has reported (the job may have none).'));
    this.checkpointBody = h('tbody');
    this.letterBody = h('tbody');
    this.letterTotal = h('span', { class: 'muted' });
    this.file = h('pre', { class: 'file', id: 'job-file' }, '…');
    this.root.replaceChildren(
      h('div', { class: 'job-head' }, h('h1', {}, this.id), this.actions),
      this.summary, this.message, this.error,
      section('DAG', this.dagBox),
      section('Live', this.chartBox),
      section('Model quality', this.modelBox),
      section('Checkpoints', h('div', { class: 'scroll' },
        h('table', { id: 'checkpoints' },
          h('thead', {}, h('tr', {}, ['Checkpoint', 'Batch', 'Written', 'Size', 'Duration', 'State per operator'].map((t) => h('th', {}, t)))),
          this.checkpointBody))),
      section('Dead letters', this.letterTotal, h('div', { class: 'scroll' },
        h('table', { id: 'dead-letters' },
          h('thead', {}, h('tr', {}, ['Time', 'Batch', 'Node', 'Origin', 'Reason'].map((t) => h('th', {}, t)))),
          this.letterBody))),
      section('Job file', this.file));
    const secondsFormat = (v) => seconds(v);
    this.charts = {
      rate: new Chart(this.chartBox, { title: 'Input rate (records/s over 1 s)', series: [{ label: 'records/s' }], format: (v) => num(v) }),
      lag: new Chart(this.chartBox, { title: 'Lag (records)', series: [{ label: 'lag' }], format: (v) => num(v) }),
      phases: new Chart(this.chartBox, {
        title: 'Batch duration',
        series: [{ label: 'fetch' }, { label: 'process' }, { label: 'sink' }, { label: 'checkpoint' }],
        format: secondsFormat,
      }),
      watermark: null,
    };
    this.offTheme = onThemeChange(() => this.rebuildCharts());
  }

  rebuildCharts() {
    for (const chart of Object.values(this.charts)) if (chart) chart.build();
    for (const learner of this.learners.values()) learner.chart.build();
    this.drawCharts();
  }

  async start() {
    // The figures and the DAG's structure are asked for at once; the DAG
    // is drawn with the figures already there.
    const first = this.tick();
    try {
      const [dag, file] = await Promise.all([api(jobPath(this.id) + '/dag'), api(jobPath(this.id) + '/file')]);
      if (this.destroyed) return;
      this.dagBox.replaceChildren();
      this.dag = new DagView(this.dagBox, dag.nodes);
      if (this.operators) this.dag.update(this.operators);
      this.file.textContent = file.text;
    } catch (e) {
      if (this.handle(e)) return;
      this.dagBox.replaceChildren(h('p', { class: 'error' }, e.message));
    }
    await first;
    if (!this.destroyed) this.timer = setInterval(() => this.tick(), 1000);
  }

  handle(e) {
    if (e instanceof AuthError) {
      this.destroy();
      this.onAuthError(e);
      return true;
    }
    return false;
  }

  async tick() {
    const path = jobPath(this.id);
    const slow = this.ticks++ % 3 === 0;
    const last = this.points.length ? this.points[this.points.length - 1].batch_id : -1;
    try {
      const [job, operators, history, checkpoints, letters] = await Promise.all([
        api(path),
        api(path + '/operators'),
        api(path + '/history?since_batch=' + last),
        slow ? api(path + '/checkpoints') : null,
        slow ? api(path + '/dead-letters') : null,
      ]);
      if (this.destroyed) return;
      this.showJob(job);
      this.operators = operators.nodes;
      if (this.dag) this.dag.update(operators.nodes);
      this.addHistory(history, job);
      if (checkpoints) this.showCheckpoints(checkpoints.checkpoints);
      if (letters) this.showLetters(letters);
    } catch (e) {
      if (this.handle(e)) return;
      this.message.textContent = e.message;
    }
  }

  showJob(job) {
    const checkpoint = job.last_checkpoint ? `batch ${job.last_checkpoint.batch_id} · ${ago(job.last_checkpoint.created_unix_ms)}` : '—';
    const items = [
      ['State', h('span', { class: stateClass(job.state), id: 'job-state' }, job.state)],
      ['Uptime', uptime(job)],
      ['Rate', job.state === 'RUNNING' ? rate(job.records_per_second) : '—'],
      ['Lag', num(job.lag)],
      ['Batch', job.current_batch ?? '—'],
      ['Records in', num(job.records_in)],
      ['Dead letters', num(job.dead_letters)],
      ['Last checkpoint', checkpoint],
      ['Restarts', job.restarts],
    ];
    this.summary.replaceChildren(...items.map(([k, v]) => h('div', { class: 'item' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v))));
    this.error.hidden = !job.last_error;
    this.error.textContent = job.last_error || '';
    this.showActions(job);
  }

  showActions(job) {
    if (this.role !== 'admin') {
      this.actions.replaceChildren();
      return;
    }
    const active = ACTIVE.has(job.state);
    const key = job.state + (job.savepoint_pending ? '+' : '');
    if (this.actionsKey === key) return;
    this.actionsKey = key;
    const button = (label, action, enabled, title) =>
      h('button', { type: 'button', 'data-action': action, disabled: !enabled || this.busy, title, onclick: () => this.act(action) }, label);
    this.actions.replaceChildren(
      button('Savepoint', 'savepoint', job.state === 'RUNNING' && !job.savepoint_pending, 'Checkpoint at the next batch'),
      button('Stop', 'stop', active, 'Finish the batch, write a final checkpoint, stop'),
      button('Cancel', 'cancel', active, 'Finish the batch and end; not resumed on restart'),
      button('Resume', 'resume', !active, 'Run again from the latest state'));
  }

  async act(action) {
    this.busy = true;
    this.actionsKey = null;
    this.message.textContent = action + '…';
    try {
      await api(jobPath(this.id) + '/' + action, { method: 'POST' });
      this.message.textContent = action === 'savepoint' ? 'Savepoint requested.' : `${action[0].toUpperCase() + action.slice(1)} requested.`;
    } catch (e) {
      if (this.handle(e)) return;
      this.message.textContent = `${action} refused: ${e.message}`;
    } finally {
      this.busy = false;
      this.actionsKey = null;
    }
    this.tick();
  }

  addHistory(history, job) {
    const last = this.points.length ? this.points[this.points.length - 1].batch_id : -1;
    // Resumed from an older checkpoint: batch ids went back; start over.
    if (job.current_batch !== null && job.current_batch < last) {
      this.points = [];
      this.learners.forEach((l) => (l.points = []));
    }
    this.points.push(...history.points);
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.checkpointMemory = history.checkpoints;
    this.sources = history.sources;
    // Only sources with event time have a watermark.
    const timed = this.sources.filter((_, idx) => this.points.some((p) => p.watermark_delay_seconds[idx] !== null && p.watermark_delay_seconds[idx] !== undefined));
    if (timed.join() !== (this.timedSources || []).join()) {
      if (this.charts.watermark) this.charts.watermark.destroy();
      if (this.noWatermark) this.noWatermark.remove();
      this.noWatermark = null;
      this.timedSources = timed;
      this.charts.watermark = timed.length
        ? new Chart(this.chartBox, { title: 'Watermark delay per source', series: timed.map((name) => ({ label: name })), format: (v) => seconds(v) })
        : null;
    }
    if (!timed.length && this.sources.length && !this.noWatermark) {
      this.noWatermark = h('p', { class: 'muted' }, 'Watermark delay: no source has event time (event_time in the job file).');
      this.chartBox.append(this.noWatermark);
    }
    for (const learner of history.learners) this.addLearner(learner);
    this.drawCharts();
  }

  addLearner(learner) {
    let view = this.learners.get(learner.operator);
    if (!view) {
      if (this.learners.size === 0) this.modelBox.replaceChildren();
      const box = h('div', { class: 'model', 'data-operator': learner.operator });
      const info = h('div', { class: 'model-info' });
      box.append(h('h3', {}, learner.operator), info);
      this.modelBox.append(box);
      view = { points: [], box, info, chart: null, keys: [] };
      this.learners.set(learner.operator, view);
    }
    view.points.push(...learner.points);
    if (view.points.length > MAX_POINTS) view.points.splice(0, view.points.length - MAX_POINTS);
    const latest = view.points.length ? view.points[view.points.length - 1] : null;
    if (!latest) return;
    const quality = ['accuracy', 'window_accuracy', 'rmse', 'window_rmse', 'mae', 'window_mae'].filter((k) => k in latest.figures);
    if (!view.chart || quality.join() !== view.keys.join()) {
      if (view.chart) view.chart.destroy();
      view.keys = quality;
      const labels = { accuracy: 'accuracy (whole stream)', window_accuracy: 'accuracy (window)', rmse: 'RMSE (whole stream)', window_rmse: 'RMSE (window)', mae: 'MAE', window_mae: 'MAE (window)' };
      view.chart = new Chart(view.box, { title: 'Quality', series: quality.map((k) => ({ label: labels[k] })), format: (v) => num(v) });
    }
    const f = latest.figures;
    const parts = [['model version', num(f.model_version)], ['rows learned (batch)', num(f.rows_learned)]];
    if ('tree_nodes' in f) parts.push(['tree', `${num(f.tree_nodes)} nodes, depth ${num(f.tree_depth)}`]);
    if (latest.series.cluster_weight) parts.push(['cluster weights', latest.series.cluster_weight.map((w) => num(w)).join(' · ')]);
    view.info.replaceChildren(...parts.map(([k, v]) => h('span', { class: 'item' }, h('span', { class: 'k' }, k + ' '), h('span', { class: 'v' }, v))));
  }

  drawCharts() {
    const xs = this.points.map((p) => p.unix_ms / 1000);
    // Records over the last second of batches (idle time included), so a
    // batch that catches up right after a slow one is no spike. The window
    // opens at the end of the latest batch at least 1 s before.
    const rates = [];
    let start = 0;
    for (let idx = 0; idx < this.points.length; idx++) {
      const p = this.points[idx];
      if (p.run_start) start = idx;
      while (start < idx - 1 && p.unix_ms - this.points[start + 1].unix_ms >= 1000) start++;
      let rows = 0;
      for (let j = start + 1; j <= idx; j++) rows += this.points[j].records_in;
      const span = (p.unix_ms - this.points[start].unix_ms) / 1000;
      rates.push(idx > start && span > 0 ? rows / span : p.seconds > 0 ? p.records_in / p.seconds : null);
    }
    this.charts.rate.set(xs, [rates]);
    this.charts.lag.set(xs, [this.points.map((p) => p.lag)]);
    this.charts.phases.set(xs, ['fetch_seconds', 'process_seconds', 'sink_seconds', 'checkpoint_seconds'].map((k) => this.points.map((p) => p[k])));
    if (this.charts.watermark) {
      const indexes = this.timedSources.map((name) => this.sources.indexOf(name));
      this.charts.watermark.set(xs, indexes.map((idx) => this.points.map((p) => p.watermark_delay_seconds[idx] ?? null)));
    }
    for (const view of this.learners.values()) {
      if (!view.chart) continue;
      view.chart.set(view.points.map((p) => p.unix_ms / 1000), view.keys.map((k) => view.points.map((p) => p.figures[k] ?? null)));
    }
  }

  showCheckpoints(onDisk) {
    const memory = new Map(this.checkpointMemory.map((c) => [c.batch_id, c]));
    this.checkpointBody.replaceChildren(...onDisk.map((c) => {
      const m = memory.get(c.batch_id);
      const state = m && m.state.length ? m.state.map((s) => `${s.operator}: ${bytes(s.bytes)}`).join(', ') : '—';
      return h('tr', { 'data-checkpoint': c.name },
        h('td', {}, c.name), h('td', { class: 'num' }, c.batch_id), h('td', {}, time(c.created_unix_ms)),
        h('td', { class: 'num' }, bytes(c.size_bytes)), h('td', { class: 'num' }, m ? seconds(m.seconds) : '—'), h('td', {}, state));
    }));
  }

  showLetters(letters) {
    this.letterTotal.textContent = letters.total ? `${num(letters.total)} since the server started; the newest ${Math.min(letters.dead_letters.length, 20)}:` : 'None.';
    this.letterBody.closest('table').hidden = !letters.total;
    this.letterBody.replaceChildren(...letters.dead_letters.slice(0, 20).map((l) =>
      h('tr', {}, h('td', {}, time(l.unix_ms)), h('td', { class: 'num' }, l.batch_id), h('td', {}, l.node),
        h('td', {}, l.partition >= 0 ? `${l.topic}[${l.partition}]@${l.offset}` : l.topic || '—'), h('td', { class: 'reason' }, l.reason))));
  }

  destroy() {
    this.destroyed = true;
    clearInterval(this.timer);
    if (this.offTheme) this.offTheme();
    for (const chart of Object.values(this.charts)) if (chart) chart.destroy();
    for (const learner of this.learners.values()) if (learner.chart) learner.chart.destroy();
  }
}
