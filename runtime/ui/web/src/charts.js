// Time-series charts on uPlot: one small canvas chart per figure, coloured
// from the page's theme (CSS variables), resized with their box.

import uPlot from 'uplot';

const PALETTE = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export class Chart {
  // series: [{label, color?}]; format: value -> text for the axis.
  constructor(parent, { title, series, format = (v) => v }) {
    this.box = document.createElement('div');
    this.box.className = 'chart';
    this.box.dataset.title = title;
    this.box.dataset.points = '0';
    parent.append(this.box);
    this.title = title;
    this.series = series;
    this.format = format;
    this.data = [[], ...series.map(() => [])];
    this.build();
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.box);
  }

  build() {
    if (this.plot) this.plot.destroy();
    const text = cssVar('--muted');
    const grid = cssVar('--grid');
    const axis = (extra = {}) => ({
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: '11px system-ui, sans-serif',
      ...extra,
    });
    const opts = {
      title: this.title,
      width: Math.max(this.box.clientWidth, 200),
      height: 180,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      series: [
        { label: 'time', value: (u, v) => (v === null || v === undefined ? '—' : new Date(v * 1000).toLocaleTimeString()) },
        ...this.series.map((s, idx) => ({
          label: s.label,
          stroke: s.color || cssVar(PALETTE[idx % PALETTE.length]),
          width: 1.5,
          spanGaps: false,
          points: { show: false },
          value: (u, v) => (v === null || v === undefined ? '—' : this.format(v)),
        })),
      ],
      axes: [axis(), axis({ size: 70, values: (u, vals) => vals.map((v) => this.format(v)) })],
    };
    this.plot = new uPlot(opts, this.data, this.box);
  }

  resize() {
    const width = Math.max(this.box.clientWidth, 200);
    if (this.plot && Math.abs(this.plot.width - width) > 2) this.plot.setSize({ width, height: 180 });
  }

  // xs: unix seconds; ys: one array per series (null for no value).
  set(xs, ys) {
    this.data = [xs, ...ys];
    this.box.dataset.points = String(xs.length);
    this.plot.setData(this.data);
  }

  destroy() {
    this.observer.disconnect();
    this.plot.destroy();
    this.box.remove();
  }
}

// Rebuilds every chart when the system switches between dark and light.
export function onThemeChange(callback) {
  const query = window.matchMedia('(prefers-color-scheme: dark)');
  query.addEventListener('change', callback);
  return () => query.removeEventListener('change', callback);
}
