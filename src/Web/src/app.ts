// The coordinator's read-only pages: racks and hosts, captures with filters, one capture. Reads the JSON API
// under /api (same authentication as the API itself).
import type { Capture, CaptureView, Rack } from './model';
import { renderCapture } from './capture';
import { duration, el, enumText, rate, table, unixTime } from './format';

// An API answer other than 2xx: the HTTP status and the API's message ({"code", "message"}).
class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

// The API sits beside /ui/: resolved from the bundle's own address (…/ui/millisampler-ui.js → …/api/), so a path prefix
// added by a reverse proxy is kept. Read while the script runs: document.currentScript is null afterwards.
const apiBase = new URL('../api/', (document.currentScript as HTMLScriptElement | null)?.src || location.href);

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(new URL(path, apiBase), { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    let code = '';
    try {
      const body = await r.json() as { code?: string; message?: string };
      message = body.message ?? message;
      code = body.code ?? '';
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(r.status, code, `/api/${path}: ${message}`);
  }
  return await r.json() as T;
}

export async function route(root: HTMLElement, t0: number): Promise<void> {
  const hash = location.hash || '#/';
  const m = /^#\/captures\/([^/?]+)/.exec(hash);
  try {
    if (m) {
      root.replaceChildren(el('p', {}, 'Loading capture…'));
      const view = await getJson<CaptureView>(`captures/${encodeURIComponent(decodeURIComponent(m[1]))}/view`);
      root.replaceChildren();
      const back = el('a', { href: '#/' }, '← racks and captures');
      root.append(back);
      const page = el('div');
      root.append(page);
      renderCapture(page, view, t0);
    } else {
      await home(root);
    }
  } catch (e) {
    const back = el('a', { href: '#/' }, '← racks and captures');
    if (e instanceof ApiError && m) {
      const id = decodeURIComponent(m[1]);
      const title = e.status === 404 ? `Capture not found (HTTP 404)` : `Capture cannot be shown (HTTP ${e.status}${e.code ? ` ${e.code}` : ''})`;
      root.replaceChildren(el('h1', { id: 'ms-error-title' }, title),
        el('p', { class: 'error' }, e.status === 404 ? `No capture has the id '${id}' on this coordinator. ${e.message}` : e.message), back);
    } else {
      root.replaceChildren(el('p', { class: 'error' }, (e as Error).message), back);
    }
  }
}

async function home(root: HTMLElement): Promise<void> {
  const racks = (await getJson<{ racks?: Rack[] }>('racks')).racks ?? [];
  root.replaceChildren(el('h1', {}, 'Millisampler'));
  root.append(el('h2', {}, 'Racks and hosts'));
  const rows: string[][] = [];
  for (const r of racks) {
    for (const h of r.hosts ?? []) {
      const speed = (h.interfaces ?? []).reduce((s, i) => s + Number(i.linkSpeedBitsPerSecond ?? 0), 0);
      rows.push([r.rack, h.host, h.health ?? '-', h.clock?.synchronized === false ? 'unsynchronized'
        : duration(Number(h.clock?.maxErrorNs ?? 0)), speed > 0 ? rate(speed) : 'unknown', unixTime(h.lastSeenUnixNs)]);
    }
  }
  root.append(rows.length ? table(['rack', 'host', 'health', 'clock error', 'link speed', 'last seen'], rows)
    : el('p', {}, 'No agent has registered.'));

  root.append(el('h2', {}, 'Captures'));
  const form = el('form', { class: 'filters', id: 'ms-filters' });
  const rackSel = el('select', { name: 'rack' }, el('option', { value: '' }, 'every rack'));
  for (const r of racks) {
    rackSel.append(el('option', { value: r.rack }, r.rack));
  }
  const from = el('input', { type: 'datetime-local', name: 'from' });
  const to = el('input', { type: 'datetime-local', name: 'to' });
  const origin = el('select', { name: 'origin' }, el('option', { value: '' }, 'any origin'));
  for (const o of ['ENGINEER', 'TRIGGER', 'ALERT', 'SWEEP']) {
    origin.append(el('option', { value: `CAPTURE_ORIGIN_${o}` }, o.toLowerCase()));
  }
  const outcome = el('select', { name: 'outcome' }, el('option', { value: '' }, 'any outcome'));
  for (const o of ['ANALYSED', 'FAILED', 'RUNNING', 'QUEUED', 'SCHEDULED', 'COLLECTING']) {
    outcome.append(el('option', { value: `CAPTURE_STATE_${o}` }, o.toLowerCase()));
  }
  form.append(el('label', {}, 'rack ', rackSel), el('label', {}, 'from ', from), el('label', {}, 'to ', to),
    el('label', {}, 'origin ', origin), el('label', {}, 'outcome ', outcome), el('button', { type: 'submit' }, 'Filter'));
  root.append(form);
  const list = el('div', { id: 'ms-captures' });
  root.append(list);

  const load = async () => {
    const q = new URLSearchParams({ limit: '500' });
    if (rackSel.value) {
      q.set('rack', rackSel.value);
    }
    const ns = (v: string) => `${BigInt(new Date(`${v}Z`).getTime()) * 1000000n}`;
    if (from.value) {
      q.set('from', ns(from.value));
    }
    if (to.value) {
      q.set('to', ns(to.value));
    }
    const captures = ((await getJson<{ captures?: Capture[] }>(`captures?${q}`)).captures ?? [])
      .filter((c) => !origin.value || c.origin === origin.value)
      .filter((c) => !outcome.value || c.state === outcome.value);
    list.replaceChildren(captures.length === 0 ? el('p', {}, 'No capture matches.') : table(
      // No event count: the list API returns captures without their analysis (the capture page has it).
      ['capture', 'rack', 'requested (UTC)', 'origin', 'outcome', 'hosts', 'bins', 'detail'],
      captures.map((c) => [
        el('a', { href: `#/captures/${encodeURIComponent(c.captureId ?? '')}` }, c.captureId ?? ''), c.rack, unixTime(c.requestedAtUnixNs),
        `${enumText(c.origin, 'CAPTURE_ORIGIN_')}${c.originName ? ` (${c.originName})` : ''}`, enumText(c.state, 'CAPTURE_STATE_'),
        `${c.hostsCovered ?? 0}/${c.hostsRequested ?? 0}`, `${c.bins} × ${duration(Number(c.binWidthNs))}`, c.detail ?? '',
      ])));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load().catch((err: Error) => list.replaceChildren(el('p', { class: 'error' }, err.message)));
  });
  await load();
}
