// The job's DAG as an SVG graph laid out by dagre: sources, operators and
// sinks as boxes (side outputs as dashed, labelled edges), each box showing
// rows/s in and out, dead letters and time per batch; the slowest node is
// marked. The layout is computed once per page; updates only change text.

import { graphlib, layout } from '@dagrejs/dagre';
import { rate, num, seconds } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 200;
const HEIGHT = 74;

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

// The edges of `nodes` (from GET /jobs/{id}/dag): an input is a node's name;
// a side-output node (a window's W.late, a learner's P.metrics) is fed by
// the operator named in its side_output_of.
export function edgesOf(nodes) {
  const names = new Set(nodes.map((n) => n.name));
  const edges = [];
  for (const node of nodes) {
    // A side output's rows come from its operator, whatever that reads.
    if (node.side_output_of) {
      edges.push({ from: node.side_output_of, to: node.name, side: node.name.slice(node.side_output_of.length + 1) || 'side' });
      continue;
    }
    for (const input of node.inputs) {
      if (names.has(input)) {
        edges.push({ from: input, to: node.name, side: null });
        continue;
      }
      const dot = input.lastIndexOf('.');
      const from = dot > 0 ? input.slice(0, dot) : input;
      edges.push({ from: names.has(from) ? from : input, to: node.name, side: input.slice(dot + 1) });
    }
  }
  return edges;
}

export class DagView {
  constructor(parent, nodes) {
    this.box = document.createElement('div');
    this.box.className = 'dag';
    parent.append(this.box);
    this.nodes = new Map();
    const graph = new graphlib.Graph({ multigraph: true });
    graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const node of nodes) graph.setNode(node.name, { width: WIDTH, height: HEIGHT });
    const edges = edgesOf(nodes);
    edges.forEach((edge, idx) => {
      if (!graph.hasNode(edge.from)) graph.setNode(edge.from, { width: WIDTH, height: HEIGHT });
      graph.setEdge(edge.from, edge.to, edge.side ? { label: edge.side, width: 40, height: 14 } : {}, 'e' + idx);
    });
    layout(graph);
    const { width, height } = graph.graph();
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'job DAG' });
    const defs = s('defs');
    const marker = s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }));
    defs.append(marker);
    svg.append(defs);
    edges.forEach((edge, idx) => {
      const laid = graph.edge(edge.from, edge.to, 'e' + idx);
      const d = laid.points.map((p, i) => (i === 0 ? 'M' : 'L') + p.x.toFixed(1) + ' ' + p.y.toFixed(1)).join(' ');
      svg.append(s('path', { d, class: edge.side ? 'edge side' : 'edge', 'marker-end': 'url(#arrow)' }));
      if (edge.side && laid.x !== undefined) svg.append(s('text', { x: laid.x, y: laid.y + 4, class: 'edge-label' }, '.' + edge.side));
    });
    const kinds = new Map(nodes.map((n) => [n.name, n]));
    for (const name of graph.nodes()) {
      const laid = graph.node(name);
      const info = kinds.get(name) || { kind: 'operator', stateful: false };
      const kindLabel = info.side_output_of ? 'side output' : info.kind;
      const x = laid.x - WIDTH / 2;
      const y = laid.y - HEIGHT / 2;
      const g = s('g', { class: `node kind-${info.kind}${info.side_output_of ? ' side-output' : ''}`, 'data-node': name, transform: `translate(${x},${y})` });
      g.append(s('title', {}, `${name} (${kindLabel}${info.stateful ? ', stateful' : ''})\n${info.schema || ''}`));
      g.append(s('rect', { width: WIDTH, height: HEIGHT, rx: 6 }));
      g.append(s('text', { x: 10, y: 18, class: 'name' }, name.length > 24 ? name.slice(0, 23) + '…' : name));
      g.append(s('text', { x: WIDTH - 10, y: 18, class: 'kind', 'text-anchor': 'end' }, kindLabel + (info.stateful ? ' ◆' : '')));
      const io = s('text', { x: 10, y: 38, class: 'figure rates' }, 'in — · out —');
      const extra = s('text', { x: 10, y: 56, class: 'figure extra' }, '');
      g.append(io, extra);
      svg.append(g);
      this.nodes.set(name, { g, io, extra, kind: info.kind });
    }
    this.box.append(svg);
  }

  // figures: GET /jobs/{id}/operators' nodes.
  update(figures) {
    let slowest = null;
    for (const figure of figures) {
      if (figure.seconds_per_batch !== null && (!slowest || figure.seconds_per_batch > slowest.seconds_per_batch)) slowest = figure;
    }
    for (const figure of figures) {
      const view = this.nodes.get(figure.name);
      if (!view) continue;
      const input = view.kind === 'source' ? 'read' : 'in';
      view.io.textContent = `${input} ${rate(figure.rows_in_per_second)} · out ${rate(figure.rows_out_per_second)}`;
      const parts = [];
      parts.push(figure.seconds_per_batch === null ? 'time/batch —' : 'time/batch ' + seconds(figure.seconds_per_batch));
      parts.push('dead ' + num(figure.total_dead_letters));
      if (figure.state_bytes !== null) parts.push('state ' + num(figure.state_bytes) + 'B');
      view.extra.textContent = parts.join(' · ');
      view.g.dataset.rowsInPerSecond = String(figure.rows_in_per_second);
      view.g.dataset.rowsOutPerSecond = String(figure.rows_out_per_second);
      view.g.classList.toggle('dead', figure.total_dead_letters > 0);
      view.g.classList.toggle('slowest', slowest !== null && figure === slowest);
    }
  }
}
