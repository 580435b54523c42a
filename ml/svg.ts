/**
 * Tiny inline-SVG charts and the HTML page shell of the validation and evaluation reports. Everything is a string
 * with no external asset, script or font, so a report is one self-contained file that opens offline and can be
 * stored as an artifact. Every text that comes from data goes through `escapeHtml`.
 */

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A number for humans: integers as they are, others with `digits` significant digits; null/NaN as an en dash. */
export function formatNumber(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '\u2013';
  if (!Number.isFinite(x)) return x > 0 ? '\u221e' : '-\u221e';
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
  '#65a30d',
];

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Draw a dot at each point (for sparse series such as calibration bins). */
  readonly markers?: boolean;
  /** Connect the points; true by default (false with markers: a scatter, such as alert marks). */
  readonly line?: boolean;
  /** Draw the line dashed (a threshold). */
  readonly dashed?: boolean;
  /** A fixed colour instead of the palette's. */
  readonly color?: string;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Axis ranges; [0, 1] by default. */
  readonly xDomain?: readonly [number, number];
  readonly yDomain?: readonly [number, number];
  /** Draw the y = x reference line (ROC chance line, perfect calibration). */
  readonly diagonal?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { left: 48, right: 12, top: 28, bottom: 40 };

function round(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

/** A line chart with axes, ticks at 0, 0.25, ... of each domain, a legend, and an optional y = x line. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 360;
  const height = options.height ?? 300;
  const [x0, x1] = options.xDomain ?? [0, 1];
  const [y0, y1] = options.yDomain ?? [0, 1];
  const w = width - MARGIN.left - MARGIN.right;
  const h = height - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * w;
  const sy = (y: number): number => MARGIN.top + h - ((y - y0) / (y1 - y0 || 1)) * h;
  const parts: string[] = [];
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="#fff" stroke="#cbd5e1"/>`,
  );
  for (let k = 0; k <= 4; k++) {
    const tx = x0 + ((x1 - x0) * k) / 4;
    const ty = y0 + ((y1 - y0) * k) / 4;
    parts.push(
      `<line x1="${round(sx(tx))}" y1="${MARGIN.top}" x2="${round(sx(tx))}" y2="${MARGIN.top + h}" stroke="#eef2f7"/>`,
      `<line x1="${MARGIN.left}" y1="${round(sy(ty))}" x2="${MARGIN.left + w}" y2="${round(sy(ty))}" stroke="#eef2f7"/>`,
      `<text x="${round(sx(tx))}" y="${MARGIN.top + h + 14}" text-anchor="middle">${formatNumber(tx, 3)}</text>`,
      `<text x="${MARGIN.left - 6}" y="${round(sy(ty) + 4)}" text-anchor="end">${formatNumber(ty, 3)}</text>`,
    );
  }
  if (options.diagonal) {
    parts.push(
      `<line x1="${round(sx(x0))}" y1="${round(sy(y0))}" x2="${round(sx(x1))}" y2="${round(sy(y1))}" stroke="#94a3b8" stroke-dasharray="4 4"/>`,
    );
  }
  options.series.forEach((series, i) => {
    const color = series.color ?? PALETTE[i % PALETTE.length]!;
    const d = series.points
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${round(sx(x))},${round(sy(y))}`)
      .join('');
    const dash = series.dashed ? ' stroke-dasharray="5 4"' : '';
    if (d && series.line !== false)
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    if (series.markers) {
      for (const [x, y] of series.points)
        parts.push(`<circle cx="${round(sx(x))}" cy="${round(sy(y))}" r="3" fill="${color}"/>`);
    }
    // Bottom right: the empty side of a ROC curve and, mostly, of a reliability diagram.
    const longest = Math.max(...options.series.map((x) => x.name.length));
    const lx = MARGIN.left + w - 30 - longest * 6.2;
    const ly = MARGIN.top + h - 10 - (options.series.length - 1 - i) * 16;
    parts.push(
      `<rect x="${round(lx)}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${round(lx + 14)}" y="${ly}">${escapeHtml(series.name)}</text>`,
    );
  });
  parts.push(
    `<text x="${MARGIN.left + w / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`,
    `<text x="12" y="${MARGIN.top + h / 2}" text-anchor="middle" transform="rotate(-90 12 ${MARGIN.top + h / 2})">${escapeHtml(options.yLabel)}</text>`,
    `<text x="${MARGIN.left}" y="16" font-weight="600">${escapeHtml(options.title)}</text>`,
  );
  return svg(width, height, options.title, parts);
}

export interface BarChartOptions {
  readonly title: string;
  readonly bars: readonly { readonly label: string; readonly value: number }[];
  readonly width?: number;
  readonly height?: number;
}

/** Vertical bars scaled to the largest value, each with a hover title (label and value). For histograms. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 260;
  const height = options.height ?? 90;
  const max = Math.max(1e-300, ...options.bars.map((b) => b.value));
  const n = Math.max(1, options.bars.length);
  const bw = (width - 2) / n;
  const top = 16;
  const parts = options.bars.map((b, i) => {
    const bh = Math.max(b.value > 0 ? 1 : 0, ((height - top - 2) * b.value) / max);
    return (
      `<rect x="${round(1 + i * bw)}" y="${round(height - 1 - bh)}" width="${round(Math.max(1, bw - 1))}" height="${round(bh)}" fill="#60a5fa">` +
      `<title>${escapeHtml(b.label)}: ${formatNumber(b.value)}</title></rect>`
    );
  });
  parts.push(`<text x="2" y="11" font-size="10">${escapeHtml(options.title)}</text>`);
  return svg(width, height, options.title, parts);
}

export interface PairedBarChartOptions {
  readonly title: string;
  readonly labels: readonly string[];
  /** Two series of values, one per label: drawn side by side in each group. */
  readonly series: readonly [
    { readonly name: string; readonly values: readonly number[] },
    { readonly name: string; readonly values: readonly number[] },
  ];
  /** vertical: groups left to right, for ordered bins; horizontal: one row per label, for categories. */
  readonly orientation?: 'vertical' | 'horizontal';
  readonly width?: number;
  /** Format of the values in hover titles. */
  readonly format?: (x: number) => string;
}

const PAIR_COLORS = ['#94a3b8', '#2563eb'] as const;

/**
 * Two distributions over the same buckets (a reference and a current histogram), each bucket's pair of bars with
 * a hover title, and a legend. Vertical charts label the first and last bucket under the axis; horizontal ones
 * label every row.
 */
export function pairedBarChart(options: PairedBarChartOptions): string {
  const fmt = options.format ?? ((x: number) => formatNumber(x));
  const n = Math.max(1, options.labels.length);
  const max = Math.max(1e-300, ...options.series.flatMap((s) => s.values));
  const parts: string[] = [];
  const title = (i: number, k: 0 | 1): string => {
    const s = options.series[k];
    return `<title>${escapeHtml(options.labels[i] ?? '')}: ${escapeHtml(s.name)} ${escapeHtml(fmt(s.values[i] ?? 0))}</title>`;
  };
  let width: number;
  let height: number;
  if (options.orientation === 'horizontal') {
    width = options.width ?? 300;
    const left = 116;
    const row = 14;
    const top = 30;
    height = top + n * row + 6;
    const w = width - left - 8;
    options.labels.forEach((label, i) => {
      const y = top + i * row;
      const text = label.length > 17 ? `${label.slice(0, 16)}\u2026` : label;
      parts.push(`<text x="${left - 4}" y="${y + 10}" text-anchor="end">${escapeHtml(text)}</text>`);
      options.series.forEach((s, k) => {
        const bw = (w * (s.values[i] ?? 0)) / max;
        parts.push(
          `<rect x="${left}" y="${y + 1 + k * 6}" width="${round(Math.max(bw, (s.values[i] ?? 0) > 0 ? 1 : 0))}" height="5" fill="${PAIR_COLORS[k]}">${title(i, k === 0 ? 0 : 1)}</rect>`,
        );
      });
    });
  } else {
    width = options.width ?? 300;
    height = 130;
    const top = 30;
    const bottom = 16;
    const h = height - top - bottom;
    const gw = (width - 4) / n;
    const bw = Math.max(1, (gw - 1) / 2);
    options.labels.forEach((_, i) => {
      options.series.forEach((s, k) => {
        const v = s.values[i] ?? 0;
        const bh = Math.max(v > 0 ? 1 : 0, (h * v) / max);
        parts.push(
          `<rect x="${round(2 + i * gw + k * bw)}" y="${round(top + h - bh)}" width="${round(bw)}" height="${round(bh)}" fill="${PAIR_COLORS[k]}">${title(i, k === 0 ? 0 : 1)}</rect>`,
        );
      });
    });
    parts.push(`<line x1="2" y1="${top + h}" x2="${width - 2}" y2="${top + h}" stroke="#cbd5e1"/>`);
    const first = options.labels[0] ?? '';
    const last = options.labels[n - 1] ?? '';
    parts.push(`<text x="2" y="${height - 3}" font-size="10">${escapeHtml(first)}</text>`);
    if (n > 1)
      parts.push(
        `<text x="${width - 2}" y="${height - 3}" font-size="10" text-anchor="end">${escapeHtml(last)}</text>`,
      );
  }
  parts.push(`<text x="2" y="11" font-size="10">${escapeHtml(options.title)}</text>`);
  options.series.forEach((s, k) => {
    const x = 2 + k * 110;
    parts.push(
      `<rect x="${x}" y="16" width="9" height="9" fill="${PAIR_COLORS[k]}"/>`,
      `<text x="${x + 13}" y="24" font-size="10">${escapeHtml(s.name)}</text>`,
    );
  });
  return svg(width, height, options.title, parts);
}

/** A 2x2 confusion matrix as colored cells (darker = more rows), actual classes as rows. */
export function confusionChart(c: { tp: number; fp: number; tn: number; fn: number }): string {
  const cells: [string, number, number, number][] = [
    ['TN', c.tn, 0, 0],
    ['FP', c.fp, 1, 0],
    ['FN', c.fn, 0, 1],
    ['TP', c.tp, 1, 1],
  ];
  const max = Math.max(1, c.tp, c.fp, c.tn, c.fn);
  const size = 90;
  const left = 80;
  const top = 40;
  const parts = cells.map(([name, count, col, row]) => {
    const alpha = 0.1 + 0.8 * (count / max);
    const x = left + col * size;
    const y = top + row * size;
    const ink = alpha > 0.5 ? '#fff' : '#0f172a';
    return (
      `<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="rgba(37,99,235,${alpha.toFixed(3)})" stroke="#fff"/>` +
      `<text x="${x + size / 2}" y="${y + size / 2 - 4}" text-anchor="middle" fill="${ink}" font-weight="600">${formatNumber(count)}</text>` +
      `<text x="${x + size / 2}" y="${y + size / 2 + 14}" text-anchor="middle" fill="${ink}">${name}</text>`
    );
  });
  parts.push(
    `<text x="${left + size}" y="16" text-anchor="middle" font-weight="600">predicted</text>`,
    `<text x="${left + size / 2}" y="34" text-anchor="middle">0</text>`,
    `<text x="${left + 1.5 * size}" y="34" text-anchor="middle">1</text>`,
    `<text x="14" y="${top + size}" text-anchor="middle" font-weight="600" transform="rotate(-90 14 ${top + size})">actual</text>`,
    `<text x="${left - 10}" y="${top + size / 2 + 4}" text-anchor="end">0</text>`,
    `<text x="${left - 10}" y="${top + 1.5 * size + 4}" text-anchor="end">1</text>`,
  );
  return svg(left + 2 * size + 10, top + 2 * size + 10, 'confusion matrix', parts);
}

function svg(width: number, height: number, label: string, parts: readonly string[]): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeHtml(label)}" font-family="system-ui, sans-serif" font-size="11" fill="#0f172a">` +
    `${parts.join('')}</svg>`
  );
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#0f172a;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:4px 8px;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}
th{background:#f8fafc}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
.error{background:#fee2e2;color:#991b1b}.warning{background:#fef3c7;color:#92400e}.info{background:#e0f2fe;color:#075985}
.pass{background:#dcfce7;color:#166534}.muted{color:#64748b;font-size:13px}.charts{display:flex;flex-wrap:wrap;gap:16px}
code{background:#f1f5f9;padding:0 4px;border-radius:4px;white-space:nowrap}
`;

/** A complete HTML document with the reports' stylesheet inlined. `title` is escaped; `body` is trusted markup. */
export function htmlPage(title: string, body: string): string {
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`
  );
}
