// The capture page: host × time heatmap, contention timeline on the same axis, linked zoom, host series,
// tables. Used by the coordinator's /ui/ and by `millisampler report`.
import * as echarts from 'echarts/core';
import { BarChart, CustomChart, LineChart, ScatterChart } from 'echarts/charts';
import {
  DataZoomComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { Analysis, CaptureView, HostOutcome, HostView, SyncEvent } from './model';
import { bytes, duration, el, enumText, percent, rate, table, unixTime } from './format';

echarts.use([BarChart, CustomChart, LineChart, ScatterChart, DataZoomComponent, GridComponent, LegendComponent,
  TitleComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

// At most this many heatmap columns: wider captures merge `stride` bins per column (the column shows their
// maximum, so a one-bin burst stays visible).
export const MaxColumns = 2000;

/** The heatmap's colour scale: [lower bound (inclusive), colour, label], ascending; below the first bound is missing. */
function colourScale(theta: number): { gte: number; color: string; label: string }[] {
  return [
    { gte: 0, color: '#f7fbff', label: '< 5%' },
    { gte: 0.05, color: '#c6dbef', label: `5–${percent(theta / 2)}` },
    { gte: theta / 2, color: '#6baed6', label: `${percent(theta / 2)}–${percent(theta)}` },
    { gte: theta, color: '#fd8d3c', label: `burst ≥ θ ${percent(theta)}` },
    { gte: 0.8, color: '#e6550d', label: '80–100%' },
    { gte: 1, color: '#a50f15', label: '≥ 100%' },
  ];
}
const MissingColour = '#d9d9d9';

/** '#rrggbb' as one opaque pixel of a Uint32Array view over ImageData (RGBA bytes, little-endian). */
function pixelOf(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  return ((0xff << 24) | ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff)) >>> 0;
}

/**
 * Which heatmap columns each device-pixel column of the plot shows, for the current zoom. A pixel narrower than a
 * column shows the column under its centre; a pixel wider than a column shows every column it touches (their maximum),
 * so no burst falls between pixels. -1 where the pixel lies outside the columns.
 */
export function pixelColumns(pixels: number, firstPixelLeft: number, pixelWidth: number, col0Centre: number, colWidth: number,
  cols: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(pixels);
  const hi = new Int32Array(pixels);
  for (let px = 0; px < pixels; px++) {
    const left = firstPixelLeft + px * pixelWidth;
    const a = (left - col0Centre) / colWidth + 0.5;
    const b = (left + pixelWidth - col0Centre) / colWidth + 0.5;
    let l: number;
    let h: number;
    if (b - a <= 1) {
      l = h = Math.floor((a + b) / 2);
    } else {
      l = Math.floor(a);
      h = Math.ceil(b) - 1;
    }
    if (h < 0 || l >= cols) {
      lo[px] = hi[px] = -1;
    } else {
      lo[px] = Math.max(0, l);
      hi[px] = Math.min(cols - 1, h);
    }
  }
  return { lo, hi };
}

export interface TestHook {
  ready: boolean;
  /** ms from the bundle's start (data decoded, page built) to the chart's first finished frame. */
  renderMs: number;
  /** ms from navigation start to the chart's first finished frame (performance.now() then). */
  readyAtMs: number;
  /** ms from the bundle's start to renderCapture's start (the data decoded and parsed). */
  dataMs: number;
  /** ms the chart's setOption call took (layout and first paint of the heatmap and timeline). */
  setOptionMs: number;
  stride: number;
  bins: number;
  hosts: string[];
  hotCells(threshold: number): [string, number][];
  zoom(): { startBin: number; endBin: number };
  /** Where the c[b] timeline draws `value` at `bin`, in CSS pixels from the chart box's top-left corner. */
  timelinePoint(bin: number, value: number): [number, number] | null;
  /** Centre of a heatmap cell in CSS pixels from the chart box's top-left corner; null when it is not drawn. */
  cellCenter(host: string, bin: number): [number, number] | null;
  /** The utilization the heatmap holds for a host's column of `bin` (the maximum of its bins; -1 missing), or null. */
  cellValue(host: string, bin: number): number | null;
  /** The heatmap image as last drawn: its device-pixel width and the bins its widest pixel column merges. */
  heatmapImage: { pixels: number; maxBinsPerPixel: number };
  selectedHost: string | null;
  errors: string[];
}

declare global {
  interface Window { __ms?: TestHook }
}

export function renderCapture(root: HTMLElement, view: CaptureView, t0: number): void {
  const entered = performance.now();
  const c = view.capture;
  const a: Analysis = c.analysis ?? { burstThreshold: 0.5, eventMinHosts: 2 };
  const w = Number(c.binWidthNs);
  const bins = c.bins || Math.max(0, ...view.hosts.map((h) => h.ingress.length));
  const hosts = view.hosts.filter((h) => h.linkSpeed > 0).sort((x, y) => (x.host < y.host ? -1 : x.host > y.host ? 1 : 0));
  const stride = Math.max(1, Math.ceil(bins / MaxColumns));
  const cols = Math.ceil(bins / stride);
  const theta = a.burstThreshold || 0.5;

  root.replaceChildren();
  root.append(header(view));

  // Heatmap values, row-major [row * cols + column]: the column's maximum utilization; -1 where the host did not
  // cover the bins. Drawn as one image (below), not one chart element per cell: 92 × 2,000 elements took ECharts 2.5 s.
  const values = new Float32Array(hosts.length * cols);
  hosts.forEach((h, row) => {
    const capBytes = (h.linkSpeed * w) / 8e9;
    for (let col = 0; col < cols; col++) {
      const first = col * stride;
      const last = Math.min(bins, first + stride);
      if (first >= h.binsCovered) {
        values[row * cols + col] = -1;
        continue;
      }
      let max = 0;
      for (let b = first; b < last && b < h.binsCovered; b++) {
        const v = h.ingress[b] ?? 0;
        if (v > max) {
          max = v;
        }
      }
      values[row * cols + col] = max / capBytes;
    }
  });
  const scale = colourScale(theta);
  const scalePixels = scale.map((p) => pixelOf(p.color));
  const missingPixel = pixelOf(MissingColour);
  const pixelOfValue = (u: number) => {
    if (u < 0) {
      return missingPixel;
    }
    let i = 0;
    while (i + 1 < scale.length && u >= scale[i + 1].gte) {
      i++;
    }
    return scalePixels[i];
  };
  const contention = a.contention ?? [];
  const contentionCols: number[] = new Array(cols).fill(0);
  for (let b = 0; b < contention.length; b++) {
    const col = Math.floor(b / stride);
    contentionCols[col] = Math.max(contentionCols[col], contention[b]);
  }
  const colLabels: string[] = new Array(cols);
  for (let col = 0; col < cols; col++) {
    colLabels[col] = duration(col * stride * w);
  }
  const colOf = (bin: number) => Math.min(cols - 1, Math.floor(bin / stride));
  const events = a.events ?? [];
  const incidents = a.incidents ?? [];
  const stalls = a.ingressStalls ?? [];
  const rowOf = new Map(hosts.map((h, i) => [h.host, i]));
  // For each column the event (incident) that covers it, -1 for none; a column of several bins takes the first.
  const spanCols = (spans: { startBin: number; lengthBins: number }[]) => {
    const of: number[] = new Array(cols).fill(-1);
    spans.forEach((x, i) => {
      for (let col = colOf(x.startBin); col <= colOf(x.startBin + x.lengthBins - 1); col++) {
        if (of[col] < 0) {
          of[col] = i;
        }
      }
    });
    return of;
  };
  const eventOfCol = spanCols(events);
  const incidentOfCol = spanCols(incidents);
  const barTop = Math.max(1, ...contentionCols);
  const spanBars = (of: number[]) => of.map((i) => (i >= 0 ? barTop : '-'));
  const spanTip = (kind: string, spans: { startBin: number; lengthBins: number; hosts: string[] }[], i: number) => {
    const x = spans[i];
    return x ? `${kind} ${i}: bins ${x.startBin}–${x.startBin + x.lengthBins - 1} (+${duration(x.startBin * w)}, ${duration(x.lengthBins * w)})`
      + `<br/>${x.hosts.length} hosts; click to zoom` : '';
  };

  // Heatmap rows of 9 px (at least 200 px), then the c[b] grid (40 + 120 px with its axis) and the zoom slider
  // (at +175 px, 22 px high): the box holds all of them.
  const heatHeight = Math.max(200, hosts.length * 9);
  const chartBox = el('div', { id: 'ms-chart', class: 'chart' });
  chartBox.style.height = `${heatHeight + 210}px`;
  root.append(el('h2', {}, 'Host × time: ingress utilization; contention c[b] below'));
  if (stride > 1) {
    root.append(el('p', { class: 'note' }, `${bins} bins shown as ${cols} columns of ${stride} bins (each the maximum of its bins).`));
  }
  const pixelNote = el('p', { class: 'note', id: 'ms-pixel-note' });
  root.append(pixelNote);
  root.append(chartBox);
  const hostPanel = el('div', { id: 'ms-host', class: 'host-panel' });
  root.append(hostPanel);

  const chart = echarts.init(chartBox, undefined, { renderer: 'canvas' });
  // The pointer, for the heatmap's tooltip (ECharts gives an item tooltip no position). Registered before setOption so
  // it runs before the tooltip's own handler.
  let pointer: [number, number] = [0, 0];
  chart.getZr().on('mousemove', (e: { offsetX: number; offsetY: number }) => {
    pointer = [e.offsetX, e.offsetY];
  });

  // The heatmap as one image of the plot's size in device pixels, redrawn on every layout (zoom, resize): each pixel
  // column shows the maximum of the columns it covers (see pixelColumns), each row band one host.
  interface Drawn { left: number; top: number; dpr: number; lo: Int32Array; hi: Int32Array; row0Centre: number; rowHeight: number }
  let drawn: Drawn | null = null;
  const heatmapImage = { pixels: 0, maxBinsPerPixel: 0 };
  const renderHeatmap = (params: echarts.CustomSeriesRenderItemParams, api: echarts.CustomSeriesRenderItemAPI) => {
    const cs = params.coordSys as unknown as { x: number; y: number; width: number; height: number };
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(cs.width * dpr));
    const height = Math.max(1, Math.round(cs.height * dpr));
    const origin = api.coord([0, 0]);
    const size = api.size!([1, 1]) as number[];
    const { lo, hi } = pixelColumns(width, cs.x, 1 / dpr, origin[0], size[0], cols);
    const rowOfPixel = new Int32Array(height);
    for (let py = 0; py < height; py++) {
      const r = Math.floor((cs.y + (py + 0.5) / dpr - origin[1]) / size[1] + 0.5);
      rowOfPixel[py] = r >= 0 && r < hosts.length ? r : -1;
    }
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d')!;
    const image = ctx.createImageData(width, height);
    const px32 = new Uint32Array(image.data.buffer);
    const line = new Uint32Array(width);
    let lastRow = -2;
    let widest = 0;
    for (let px = 0; px < width; px++) {
      widest = Math.max(widest, hi[px] - lo[px] + 1);
    }
    for (let py = 0; py < height; py++) {
      const row = rowOfPixel[py];
      if (row < 0) {
        continue;
      }
      if (row !== lastRow) {
        const base = row * cols;
        for (let px = 0; px < width; px++) {
          if (lo[px] < 0) {
            line[px] = 0;
            continue;
          }
          let u = values[base + lo[px]];
          for (let col = lo[px] + 1; col <= hi[px]; col++) {
            u = Math.max(u, values[base + col]);
          }
          line[px] = pixelOfValue(u);
        }
        lastRow = row;
      }
      px32.set(line, py * width);
    }
    ctx.putImageData(image, 0, 0);
    drawn = { left: cs.x, top: cs.y, dpr, lo, hi, row0Centre: origin[1], rowHeight: size[1] };
    heatmapImage.pixels = width;
    heatmapImage.maxBinsPerPixel = widest * stride;
    pixelNote.textContent = widest > 1
      ? `Zoomed out, the heatmap merges up to ${widest * stride} bins per pixel column, each pixel the maximum of its bins; zoom in for every bin.`
      : `Every heatmap column is ${stride > 1 ? `${stride} bins` : 'one bin'} at this zoom.`;
    return { type: 'image', style: { image: canvas, x: cs.x, y: cs.y, width: cs.width, height: cs.height } } as echarts.CustomSeriesRenderItemReturn;
  };
  // The host row and the columns under a point of the chart box, as drawn; null outside the heatmap.
  const cellsAt = (x: number, y: number): { row: number; lo: number; hi: number } | null => {
    if (!drawn) {
      return null;
    }
    const px = Math.floor((x - drawn.left) * drawn.dpr);
    const row = Math.floor((y - drawn.row0Centre) / drawn.rowHeight + 0.5);
    if (px < 0 || px >= drawn.lo.length || drawn.lo[px] < 0 || row < 0 || row >= hosts.length) {
      return null;
    }
    return { row, lo: drawn.lo[px], hi: drawn.hi[px] };
  };
  const heatTip = () => {
    const at = cellsAt(pointer[0], pointer[1]);
    if (!at) {
      return '';
    }
    let maxCol = at.lo;
    for (let col = at.lo + 1; col <= at.hi; col++) {
      if (values[at.row * cols + col] > values[at.row * cols + maxCol]) {
        maxCol = col;
      }
    }
    const u = values[at.row * cols + maxCol];
    const first = at.lo * stride;
    const last = Math.min(bins, (at.hi + 1) * stride) - 1;
    const binText = last > first ? `bins ${first}–${last}` : `bin ${first}`;
    const value = u < 0 ? 'missing' : `${percent(u)} of line rate`;
    return `${hosts[at.row].host}<br/>${binText} (+${duration(first * w)})<br/>`
      + (last > first ? `maximum ${value} (${stride > 1 ? `bins ${maxCol * stride}–${Math.min(bins, (maxCol + 1) * stride) - 1}` : `bin ${maxCol}`})` : value);
  };
  const option: echarts.EChartsCoreOption = {
    animation: false,
    tooltip: { trigger: 'item', confine: true },
    grid: [
      { left: 130, right: 90, top: 10, height: heatHeight },
      { left: 130, right: 90, top: heatHeight + 40, height: 120 },
    ],
    xAxis: [
      { type: 'category', gridIndex: 0, data: colLabels, axisLabel: { show: false }, splitArea: { show: false } },
      { type: 'category', gridIndex: 1, data: colLabels, name: 'time', nameLocation: 'end' },
    ],
    yAxis: [
      {
        type: 'category', gridIndex: 0, data: hosts.map((h) => h.host), inverse: true, triggerEvent: true,
        axisLabel: { fontSize: 9, interval: hosts.length > 60 ? 1 : 0 },
      },
      { type: 'value', gridIndex: 1, name: 'c[b]', minInterval: 1 },
    ],
    dataZoom: [
      { type: 'inside', xAxisIndex: [0, 1], filterMode: 'none' },
      { type: 'slider', xAxisIndex: [0, 1], filterMode: 'none', top: heatHeight + 175, height: 22 },
    ],
    // The colour legend of the heatmap image (the image colours itself with the same scale).
    visualMap: {
      type: 'piecewise', seriesIndex: 0, dimension: 2, orient: 'vertical', right: 0, top: 10, itemWidth: 12,
      textStyle: { fontSize: 10 }, selectedMode: false,
      pieces: [
        { lt: 0, color: MissingColour, label: 'missing' },
        ...scale.map((p, i) => (i + 1 < scale.length ? { gte: p.gte, lt: scale[i + 1].gte, color: p.color, label: p.label }
          : { gte: p.gte, color: p.color, label: p.label })),
      ],
    },
    series: [
      {
        name: 'utilization', type: 'custom', xAxisIndex: 0, yAxisIndex: 0, data: [[0, 0, 0]], renderItem: renderHeatmap,
        tooltip: { formatter: heatTip },
      },
      {
        name: 'ingress stall', type: 'scatter', xAxisIndex: 0, yAxisIndex: 0, symbol: 'rect', symbolSize: [6, 8],
        itemStyle: { color: '#000' }, z: 5,
        data: stalls.filter((s) => rowOf.has(s.host)).map((s) => [colOf(s.startBin), rowOf.get(s.host)!, s.lengthBins]),
        tooltip: {
          formatter: (p: { dataIndex: number }) => {
            const s = stalls.filter((x) => rowOf.has(x.host))[p.dataIndex];
            return `ingress stall: ${s.host}<br/>bin ${s.startBin}, ${duration(s.lengthBins * w)} with no ingress`;
          },
        },
      },
      // Events and incidents as full-width bars behind c[b]: a bar fills its whole column, as a heatmap cell does, so
      // the shading lines up with the cells above (a markArea on a category axis runs centre to centre, half a bin short).
      {
        name: 'incident', type: 'bar', xAxisIndex: 1, yAxisIndex: 1, data: spanBars(incidentOfCol), barWidth: '100%',
        barGap: '-100%', z: 1, itemStyle: { color: 'rgba(255, 170, 0, 0.2)' },
        tooltip: { formatter: (p: { dataIndex: number }) => spanTip('incident', incidents, incidentOfCol[p.dataIndex]) },
      },
      {
        name: 'event', type: 'bar', xAxisIndex: 1, yAxisIndex: 1, data: spanBars(eventOfCol), barWidth: '100%',
        barGap: '-100%', z: 2, itemStyle: { color: 'rgba(220, 40, 40, 0.3)' },
        tooltip: { formatter: (p: { dataIndex: number }) => spanTip('event', events, eventOfCol[p.dataIndex]) },
      },
      {
        // step 'middle': each value holds from half a column before its centre to half after, over its cell.
        name: 'c[b]', type: 'line', xAxisIndex: 1, yAxisIndex: 1, data: contentionCols, step: 'middle', symbol: 'none',
        sampling: 'max', lineStyle: { width: 1, color: '#333' }, z: 3, tooltip: { show: false },
      },
    ],
  };

  let zoomStart = 0;
  let zoomEnd = cols - 1;
  let selected: string | null = null;
  const zoomToBins = (startBin: number, endBin: number) => {
    const len = endBin - startBin;
    const pad = Math.max(10, 2 * len);
    const s = Math.max(0, startBin - pad);
    const e = Math.min(bins - 1, endBin + pad);
    chart.dispatchAction({ type: 'dataZoom', dataZoomIndex: 0, startValue: colOf(s), endValue: colOf(e) });
    chart.dispatchAction({ type: 'dataZoom', dataZoomIndex: 1, startValue: colOf(s), endValue: colOf(e) });
  };
  const showHost = (name: string) => {
    selected = name;
    const h = view.hosts.find((x) => x.host === name);
    if (h) {
      renderHostSeries(hostPanel, h, w, zoomStart * stride, Math.min(bins, (zoomEnd + 1) * stride));
    }
    if (window.__ms) {
      window.__ms.selectedHost = name;
    }
  };

  chart.on('datazoom', () => {
    const dz = (chart.getOption() as { dataZoom: { startValue: number; endValue: number }[] }).dataZoom[0];
    zoomStart = dz.startValue ?? 0;
    zoomEnd = dz.endValue ?? cols - 1;
    if (selected) {
      showHost(selected);
    }
  });
  chart.on('click', (p: {
    componentType: string; seriesIndex?: number; seriesName?: string; dataIndex?: number; value?: unknown; name?: string;
    event?: { offsetX: number; offsetY: number };
  }) => {
    if (p.componentType === 'yAxis' && typeof p.value === 'string') {
      showHost(p.value);
    } else if (p.componentType === 'series' && p.seriesIndex === 0 && p.event) {
      const at = cellsAt(p.event.offsetX, p.event.offsetY);
      if (at) {
        showHost(hosts[at.row].host);
      }
    } else if (p.componentType === 'series' && (p.seriesName === 'event' || p.seriesName === 'incident') && p.dataIndex !== undefined) {
      const item = p.seriesName === 'event' ? events[eventOfCol[p.dataIndex]] : incidents[incidentOfCol[p.dataIndex]];
      if (item) {
        zoomToBins(item.startBin, item.startBin + item.lengthBins - 1);
      }
    }
  });

  const hook: TestHook = window.__ms ?? ({ errors: [] } as unknown as TestHook);
  Object.assign(hook, {
    ready: false,
    renderMs: 0,
    readyAtMs: 0,
    dataMs: entered - t0,
    setOptionMs: 0,
    stride,
    bins,
    hosts: hosts.map((h) => h.host),
    selectedHost: null,
    hotCells: (threshold: number) => {
      const hot: [string, number][] = [];
      for (let i = 0; i < values.length; i++) {
        if (values[i] >= threshold) {
          hot.push([hosts[Math.floor(i / cols)].host, (i % cols) * stride]);
        }
      }
      return hot;
    },
    cellValue: (host: string, bin: number) => {
      const row = rowOf.get(host);
      return row === undefined || bin < 0 || bin >= bins ? null : values[row * cols + colOf(bin)];
    },
    heatmapImage,
    zoom: () => ({ startBin: zoomStart * stride, endBin: Math.min(bins, (zoomEnd + 1) * stride) - 1 }),
    timelinePoint: (bin: number, value: number) => {
      const p = chart.convertToPixel({ xAxisIndex: 1, yAxisIndex: 1 }, [colOf(bin), value]) as number[] | undefined;
      return p && Number.isFinite(p[0]) && Number.isFinite(p[1]) ? [p[0], p[1]] : null;
    },
    cellCenter: (host: string, bin: number) => {
      const row = rowOf.get(host);
      if (row === undefined || bin < 0 || bin >= bins) {
        return null;
      }
      const p = chart.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [colOf(bin), row]) as number[] | undefined;
      return p && Number.isFinite(p[0]) && Number.isFinite(p[1]) ? [p[0], p[1]] : null;
    },
  });
  window.__ms = hook;
  chart.on('finished', () => {
    if (!hook.ready) {
      hook.readyAtMs = performance.now();
      hook.renderMs = hook.readyAtMs - t0;
      hook.ready = true;
      document.body.setAttribute('data-ms-ready', 'true');
    }
  });
  const before = performance.now();
  chart.setOption(option);
  hook.setOptionMs = performance.now() - before;
  window.addEventListener('resize', () => chart.resize());

  root.append(tables(view, a, w, zoomToBins, showHost));
}

function header(view: CaptureView): HTMLElement {
  const c = view.capture;
  const w = Number(c.binWidthNs);
  const box = el('section', { class: 'header' });
  box.append(el('h1', {}, `Capture ${c.captureId || ''} — rack ${c.rack}`));
  const facts: [string, string][] = [
    ['state', enumText(c.state, 'CAPTURE_STATE_')],
    ['bins', `${c.bins} × ${duration(w)} = ${duration(c.bins * w)}`],
    ['hosts', `${c.hostsCovered ?? view.hosts.length} of ${c.hostsRequested ?? view.hosts.length} covered`],
    ['requested', unixTime(c.requestedAtUnixNs)],
    ['origin', `${enumText(c.origin, 'CAPTURE_ORIGIN_')}${c.originName ? ` (${c.originName})` : ''}`],
    ['θ / k', `${percent(c.analysis?.burstThreshold ?? 0.5)} / ${c.analysis?.eventMinHosts ?? 2}`],
  ];
  if (c.requestedBy) {
    facts.push(['requested by', c.requestedBy]);
  }
  if (view.source) {
    facts.push(['source', view.source]);
  }
  const dl = el('dl');
  for (const [k, v] of facts) {
    dl.append(el('dt', {}, k), el('dd', {}, v));
  }
  box.append(dl);
  if (c.detail) {
    box.append(el('p', { class: 'warning' }, c.detail));
  }
  return box;
}

function tables(view: CaptureView, a: Analysis, w: number, zoomTo: (s: number, e: number) => void,
  showHost: (h: string) => void): HTMLElement {
  const box = el('section', { class: 'tables' });
  const events = a.events ?? [];
  const incidents = a.incidents ?? [];
  const stalls = a.ingressStalls ?? [];
  const bursts = [...(a.bursts ?? [])].sort((x, y) => Number(y.bytes) - Number(x.bytes));
  const off = (b: number) => `+${duration(b * w)}`;

  // Hosts missing and why; alignment warnings.
  const hostsWithData = new Set(view.hosts.filter((h) => h.linkSpeed > 0).map((h) => h.host));
  const missing = (view.capture.hosts ?? []).filter((h) => !hostsWithData.has(h.host)
    || (h.outcome !== 'HOST_OUTCOME_COLLECTED' && h.outcome !== 'HOST_OUTCOME_PARTIAL') || h.reason);
  box.append(el('h2', {}, `Hosts missing or incomplete: ${missing.length}`));
  if (missing.length > 0) {
    box.append(withId('ms-missing', table(['host', 'outcome', 'bins', 'why'], missing.map((h) => [
      h.host, enumText(h.outcome, 'HOST_OUTCOME_'), `${h.binsCovered ?? 0}/${view.capture.bins}`,
      h.reason || (hostsWithData.has(h.host) ? '' : 'no series with a link speed'),
    ]))));
  }
  const untrusted = a.untrustedAlignmentHosts ?? [];
  box.append(el('h2', {}, 'Alignment'));
  box.append(untrusted.length === 0
    ? el('p', {}, `Every host's clock error is within half a bin (${duration(w / 2)}).`)
    : el('p', { class: 'warning', id: 'ms-alignment' },
      `${untrusted.length} host(s) with clock error above half a bin (${duration(w / 2)}) or unknown: ${untrusted.join(', ')}. `
      + 'Their bins may sit one bin off; doubt contention and events that involve them.'));
  const allHosts = [...(view.capture.hosts ?? [])].sort((x, y) => (x.host < y.host ? -1 : x.host > y.host ? 1 : 0));
  const offCentre = allHosts.filter((h) => h.offsetExceedsHalfBin).map((h) => h.host);
  if (offCentre.length > 0) {
    box.append(el('p', { class: 'warning', id: 'ms-offset-warning' },
      `${offCentre.length} host(s) whose clock the coordinator measured more than half a bin (${duration(w / 2)}) off, beyond the `
      + `measurement's bound: ${offCentre.join(', ')}. Their bins may sit one bin off whatever their own clock error says.`));
  }
  // Every host: its own clock error bound beside the coordinator's measurement of its offset (NTP-style, ± half the
  // round trip) and the flag.
  box.append(withId('ms-hosts', table(['host', 'outcome', 'bins', 'link', 'clock error (own)', 'measured offset', 'alignment'],
    allHosts.map((h) => {
      const data = h.outcome === 'HOST_OUTCOME_COLLECTED' || h.outcome === 'HOST_OUTCOME_PARTIAL';
      const clockError = Number(h.clockErrorNs ?? 0);
      return [
        h.host, enumText(h.outcome, 'HOST_OUTCOME_'), `${h.binsCovered ?? 0}/${view.capture.bins}`,
        Number(h.linkSpeedBitsPerSecond ?? 0) > 0 ? rate(h.linkSpeedBitsPerSecond ?? 0) : '-',
        clockError < 0 ? 'unknown' : data || clockError > 0 ? duration(clockError) : '-',
        measuredOffset(h),
        [...(data ? [h.alignmentTrusted ? 'ok' : 'untrusted'] : []), ...(h.offsetExceedsHalfBin ? ['offset > half a bin'] : [])].join(', ') || '-',
      ];
    }))));

  box.append(el('h2', {}, `Synchronized events: ${events.length} (≥ ${a.eventMinHosts} hosts bursting at once) — click to zoom`));
  box.append(eventTable(events, off, w, zoomTo));
  box.append(el('h2', {}, `Incidents: ${incidents.length} (events less than ${duration((a.incidentGapBins ?? 1) * w)} apart)`));
  box.append(table(['#', 'start', 'length', 'events', 'hosts', 'bytes', 'CE', 'retx', 'peak c'], incidents.map((i, n) => [
    `${n}`, off(i.startBin), duration(i.lengthBins * w), `${i.events.length}`, hostList(i.hosts), bytes(i.bytes), bytes(i.ceBytes),
    bytes(i.retransmitBytes), `${i.peakContention}`,
  ]), (n) => zoomTo(incidents[n].startBin, incidents[n].startBin + incidents[n].lengthBins - 1)));
  box.append(el('h2', {}, `Ingress stalls: ${stalls.length}`));
  box.append(withId('ms-stalls', table(['host', 'start', 'length', 'ingress around (per bin)', 'egress during'], stalls.map((s) => [
    s.host, off(s.startBin), duration(s.lengthBins * w), bytes(s.ingressBytesAround), bytes(s.egressBytes),
  ]), (n) => {
    zoomTo(stalls[n].startBin, stalls[n].startBin + stalls[n].lengthBins - 1);
    showHost(stalls[n].host);
  })));
  const levels = a.contentionLevels ?? [];
  box.append(el('h2', {}, 'Contention levels, CE and retransmissions; long-RTT (cross-region ≥ 50%) against short-RTT bursts'));
  // Two distributions on one axis (docs/analysis.md): a bin counts every host bursting in it, a burst the others it met,
  // so n hosts bursting together show as bins at level n and bursts at level n − 1. Said in the headers and a note.
  box.append(el('p', { class: 'note' }, 'Bins are counted by how many hosts burst in them (c[b]); bursts by the most other hosts '
    + 'they met (a burst alone is at 0). So three hosts bursting together show as bins at level 3 and bursts at level 2.'));
  box.append(withId('ms-levels', table(['level', 'bins with c[b] = level', 'bursts that met level others', 'with CE', 'with retx', 'long-RTT bursts (CE / retx)', 'short-RTT bursts (CE / retx)', 'mean cross-region'],
    levels.map((l) => [
      `${l.level}`, `${l.bins}`, `${l.bursts}`, `${l.burstsWithCe} (${percent(l.ceFraction)})`,
      `${l.burstsWithRetransmits} (${percent(l.retransmitFraction)})`,
      `${l.longRttBursts ?? 0} (${l.longRttBurstsWithCe ?? 0} / ${l.longRttBurstsWithRetransmits ?? 0})`,
      `${l.shortRttBursts ?? 0} (${l.shortRttBurstsWithCe ?? 0} / ${l.shortRttBurstsWithRetransmits ?? 0})`,
      percent(l.meanCrossRegionShare ?? 0),
    ]))));
  const shown = bursts.slice(0, 200);
  box.append(el('h2', {}, `Bursts: ${bursts.length}${bursts.length > shown.length ? ` (the ${shown.length} largest)` : ''} — click to zoom`));
  box.append(table(['host', 'start', 'length', 'bytes', 'peak util', 'CE', 'retx', 'conns', 'met max/mean', 'cross-region'],
    shown.map((b) => [
      b.host, off(b.startBin), duration(b.lengthBins * w), bytes(b.bytes), percent(b.peakUtilization), bytes(b.ceBytes),
      bytes(b.retransmitBytes), `${b.peakConnections}`, `${b.maxContention} / ${b.meanContention.toFixed(1)}`,
      b.crossRegionShare === undefined ? '-' : percent(b.crossRegionShare),
    ]), (n) => {
      zoomTo(shown[n].startBin, shown[n].startBin + shown[n].lengthBins - 1);
      showHost(shown[n].host);
    }));
  return box;
}

function eventTable(events: SyncEvent[], off: (b: number) => string, w: number, zoomTo: (s: number, e: number) => void): HTMLElement {
  const t = table(['#', 'start', 'length', 'hosts', 'bytes', 'CE', 'retx', 'peak rack ingress', 'peak c'], events.map((e, n) => [
    `${n}`, off(e.startBin), duration(e.lengthBins * w), hostList(e.hosts), bytes(e.bytes), bytes(e.ceBytes), bytes(e.retransmitBytes),
    `${rate(e.peakRackIngressBitsPerSecond)} of ${rate(e.rackLinkCapacityBitsPerSecond)}`, `${e.peakContention}`,
  ]), (n) => zoomTo(events[n].startBin, events[n].startBin + events[n].lengthBins - 1));
  t.id = 'ms-events';
  return t;
}

/** The coordinator's measurement of a host's clock offset, to the microsecond: "+100.012 ms ± 1.2 ms"; "-" when none. */
export function measuredOffset(h: HostOutcome): string {
  if (!h.offsetMeasured) {
    return '-';
  }
  const offsetUs = Math.round(Number(h.measuredOffsetNs ?? 0) / 1e3);
  const boundUs = Math.ceil(Math.max(0, Number(h.measuredOffsetBoundNs ?? 0)) / 1e3);
  return `${offsetUs > 0 ? '+' : ''}${duration(offsetUs * 1e3)} ± ${duration(boundUs * 1e3)}`;
}

function withId<T extends HTMLElement>(id: string, e: T): T {
  e.id = id;
  return e;
}

function hostList(hosts: string[]): string {
  return hosts.length <= 8 ? hosts.join(', ') : `${hosts.slice(0, 8).join(', ')} (+${hosts.length - 8} more)`;
}

let hostChart: echarts.ECharts | null = null;

function renderHostSeries(panel: HTMLElement, h: HostView, w: number, startBin: number, endBin: number): void {
  panel.replaceChildren(el('h2', {}, `${h.host}: bins ${startBin}–${endBin - 1} (+${duration(startBin * w)} to +${duration(endBin * w)})`));
  const box = el('div', { class: 'chart host-chart' });
  panel.append(box);
  hostChart?.dispose();
  hostChart = echarts.init(box);
  const n = Math.max(0, Math.min(endBin, h.ingress.length) - startBin);
  const step = Math.max(1, Math.ceil(n / 4000));
  const labels: string[] = [];
  for (let b = startBin; b < startBin + n; b += step) {
    labels.push(duration(b * w));
  }
  const toRate = (arr: number[] | undefined) => {
    if (!arr) {
      return [];
    }
    const out: number[] = [];
    for (let b = startBin; b < startBin + n; b += step) {
      let max = 0;
      for (let i = b; i < Math.min(b + step, startBin + n); i++) {
        max = Math.max(max, arr[i] ?? 0);
      }
      out.push((8e9 * max) / w);
    }
    return out;
  };
  const conn = (() => {
    const out: number[] = [];
    for (let b = startBin; b < startBin + n; b += step) {
      out.push(h.conn?.[b] ?? 0);
    }
    return out;
  })();
  const line = (name: string, data: number[], axis = 0) => ({ name, type: 'line', data, yAxisIndex: axis, symbol: 'none', step: 'middle', lineStyle: { width: 1 } });
  hostChart.setOption({
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 80, right: 70, top: 30, bottom: 40 },
    xAxis: { type: 'category', data: labels },
    yAxis: [
      { type: 'value', name: 'rate', axisLabel: { formatter: (v: number) => rate(v) } },
      { type: 'value', name: 'connections', minInterval: 1 },
    ],
    dataZoom: [{ type: 'inside' }],
    series: [
      line('ingress', toRate(h.ingress)),
      line('egress', toRate(h.egress)),
      line('CE', toRate(h.ce)),
      line('retransmits', toRate(h.retx)),
      line('cross-region', toRate(h.crossRegion)),
      line('connections', conn, 1),
    ],
  });
}
