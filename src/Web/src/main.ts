// Entry point. In a report file the data sits in <script id="ms-data"> (gzip, base64); served by the coordinator
// the page reads the JSON API.
import css from './style.css';
import type { CaptureView } from './model';
import { renderCapture } from './capture';
import { route } from './app';
import { el } from './format';

const t0 = performance.now();
window.__ms = { errors: [] } as unknown as NonNullable<typeof window.__ms>;
window.addEventListener('error', (e) => window.__ms?.errors.push(String(e.message)));
// A Content-Security-Policy refusal (an inline style or a fetch the page's policy forbids) is an error too.
document.addEventListener('securitypolicyviolation', (e) =>
  window.__ms?.errors.push(`CSP: ${e.violatedDirective} refused ${e.blockedURI || 'inline'}`));

async function readEmbedded(node: HTMLElement): Promise<CaptureView> {
  const raw = atob((node.textContent ?? '').trim());
  const buf = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    buf[i] = raw.charCodeAt(i);
  }
  const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(stream).text()) as CaptureView;
}

async function start(): Promise<void> {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  const root = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));
  const data = document.getElementById('ms-data');
  if (data) {
    renderCapture(root, await readEmbedded(data), t0);
  } else {
    window.addEventListener('hashchange', () => void route(root, performance.now()));
    await route(root, t0);
  }
}

start().catch((e: Error) => {
  window.__ms?.errors.push(e.message);
  document.body.append(el('p', { class: 'error' }, e.message));
});
