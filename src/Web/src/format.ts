// Text for numbers, sizes, rates and times; the same units as the CLI (src/Cli/Units).

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    e.setAttribute(k, v);
  }
  for (const c of children) {
    e.append(c);
  }
  return e;
}

export function bytes(v: number | string): string {
  const n = Number(v);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let x = n;
  let i = 0;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${i === 0 ? x.toFixed(0) : x.toFixed(x < 10 ? 2 : 1)} ${units[i]}`;
}

export function rate(bitsPerSecond: number | string): string {
  const n = Number(bitsPerSecond);
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
  let x = n;
  let i = 0;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x.toFixed(x < 10 && i > 0 ? 2 : x < 100 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function duration(ns: number): string {
  if (ns === 0) {
    return '0';
  }
  const abs = Math.abs(ns);
  if (abs < 1e3) {
    return `${ns} ns`;
  }
  if (abs < 1e6) {
    return `${trim(ns / 1e3)} µs`;
  }
  if (abs < 1e9) {
    return `${trim(ns / 1e6)} ms`;
  }
  return `${trim(ns / 1e9)} s`;
}

function trim(x: number): string {
  return Number(x.toFixed(3)).toString();
}

export function percent(f: number): string {
  return `${(f * 100).toFixed(f < 0.1 ? 1 : 0)}%`;
}

export function unixTime(ns: string | number | undefined): string {
  const n = Number(ns ?? 0);
  if (!n) {
    return '-';
  }
  return new Date(n / 1e6).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function enumText(v: string | undefined, prefix: string): string {
  if (!v) {
    return '-';
  }
  return v.startsWith(prefix) ? v.substring(prefix.length).toLowerCase() : v.toLowerCase();
}

export function table(headers: string[], rows: (string | Node)[][], onRow?: (i: number) => void): HTMLTableElement {
  const t = el('table');
  const head = el('tr');
  for (const h of headers) {
    head.append(el('th', {}, h));
  }
  t.append(el('thead', {}, head));
  const body = el('tbody');
  rows.forEach((r, i) => {
    const tr = el('tr');
    for (const c of r) {
      tr.append(el('td', {}, c));
    }
    if (onRow) {
      tr.classList.add('clickable');
      tr.addEventListener('click', () => onRow(i));
    }
    body.append(tr);
  });
  t.append(body);
  return t;
}
