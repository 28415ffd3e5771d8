// Number, size and time formatting, and a tiny DOM builder.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function num(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e9) return (value / 1e9).toFixed(digits) + 'G';
  if (abs >= 1e6) return (value / 1e6).toFixed(digits) + 'M';
  if (abs >= 1e3) return (value / 1e3).toFixed(digits) + 'k';
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(abs < 10 ? 2 : digits);
}

export function rate(value) {
  return value === null || value === undefined ? '—' : num(value) + '/s';
}

export function bytes(value) {
  if (value === null || value === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let idx = 0;
  let size = value;
  while (size >= 1024 && idx < units.length - 1) {
    size /= 1024;
    idx++;
  }
  return (idx === 0 ? size : size.toFixed(1)) + ' ' + units[idx];
}

export function seconds(value) {
  if (value === null || value === undefined) return '—';
  const abs = Math.abs(value);
  if (abs === 0) return '0';
  if (abs < 1e-3) return (value * 1e6).toFixed(0) + ' µs';
  if (abs < 0.01) return (value * 1e3).toFixed(2) + ' ms';
  if (abs < 1) return (value * 1e3).toFixed(0) + ' ms';
  if (abs < 120) return value.toFixed(abs < 10 ? 2 : 1) + ' s';
  if (abs < 7200) return (value / 60).toFixed(1) + ' min';
  if (abs < 172800) return (value / 3600).toFixed(1) + ' h';
  return (value / 86400).toFixed(1) + ' d';
}

export function duration(ms) {
  if (!ms || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + (s % 60) + 's';
  const hours = Math.floor(m / 60);
  if (hours < 48) return hours + 'h ' + (m % 60) + 'm';
  return Math.floor(hours / 24) + 'd ' + (hours % 24) + 'h';
}

export function ago(unixMs) {
  if (!unixMs) return '—';
  return duration(Date.now() - unixMs) + ' ago';
}

export function time(unixMs) {
  return unixMs ? new Date(unixMs).toLocaleTimeString() : '—';
}

export function stateClass(state) {
  return 'state state-' + String(state || '').toLowerCase();
}
