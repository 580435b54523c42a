// The monitor's false-alarm rate on stationary traffic and its detection on Elec2's real drift, with the judging code
// the monitor runs (ml/drift compareWindow, then the alert hysteresis of domain/), without Temporal or a database.
//
//   npx tsx bench/monitor-false-alarms.ts [--windows 1000] [--rows 500] [--seed 7]
//
// Reference: the training rows of the Elec2 monitor tests (rows 0..9,599 of datasets/electricity.csv, the first 80 %
// of the first 12,000 rows). Null: windows of `rows` rows drawn with replacement from those rows. Drift: consecutive
// windows of the rows served after them (12,000..45,311). Each judged with the reference-calibrated thresholds (the
// monitor's default) and without calibration.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stepAlerts, type AlertState } from '../domain/alert-hysteresis.js';
import { compareWindow } from '../ml/drift/compare.js';
import { buildDriftReference } from '../ml/drift/reference.js';
import type { Frame } from '../ml/frame.js';
import { takeRows } from '../ml/frame.js';
import { mulberry32 } from '../ml/metrics/bootstrap.js';
import { datasetsDir } from './datasets.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const nullWindows = arg('windows', 1000);
const rowsPerWindow = arg('rows', 500);
const seed = arg('seed', 7);
const features = ['period', 'nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer'];
const trainRows = 9600;
const servedFrom = 12_000;

const records: string[][] = parse(readFileSync(join(datasetsDir, 'electricity.csv')), {
  skip_empty_lines: true,
});
const header = records[0]!;
const rows = records.slice(1);
const all: Frame = {
  rowCount: rows.length,
  columns: features.map((name) => {
    const j = header.indexOf(name);
    return { name, kind: 'numeric' as const, values: Float64Array.from(rows, (r) => Number(r[j])) };
  }),
};
const reference = buildDriftReference(
  takeRows(
    all,
    Int32Array.from({ length: trainRows }, (_, i) => i),
  ),
);
// A fairer null than resampling the reference's own rows (which share rows with it, so the tests' p-values run
// high): a reference from a random half of the training rows (kept in time order), windows from the other half.
const halves = (() => {
  const rng = mulberry32(seed + 1);
  const inA = Array.from({ length: trainRows }, () => rng() < 0.5);
  const all = Int32Array.from({ length: trainRows }, (_, i) => i);
  return { a: all.filter((i) => inA[i]), b: all.filter((i) => !inA[i]) };
})();
const halfReference = buildDriftReference(takeRows(all, halves.a));

interface Tally {
  windows: number;
  flagged: number;
  perFeature: Record<string, number>;
  alerting: number;
  ms: number;
}

function judge(
  windowsOf: (k: number) => Int32Array,
  count: number,
  calibration: 'reference' | 'none',
  against = reference,
): Tally {
  const tally: Tally = {
    windows: 0,
    flagged: 0,
    perFeature: Object.fromEntries(features.map((f) => [f, 0])),
    alerting: 0,
    ms: 0,
  };
  let alerts: Record<string, AlertState> = {};
  for (let k = 0; k < count; k++) {
    const frame = takeRows(all, windowsOf(k));
    const started = performance.now();
    const report = compareWindow(against, frame, { calibration });
    tally.ms += performance.now() - started;
    tally.windows++;
    if (report.drift) tally.flagged++;
    for (const f of report.driftedFeatures) tally.perFeature[f]!++;
    const outcomes = Object.fromEntries(
      report.features.map((f) => [`drift:${f.feature}`, f.drift ? ('breach' as const) : ('clean' as const)]),
    );
    const stepped = stepAlerts(alerts, outcomes, { k: 3, n: 5, m: 3 });
    alerts = stepped.states;
    if (stepped.transitions.some((t) => t.transition === 'fired')) tally.alerting++;
  }
  return tally;
}

const random = mulberry32(seed);
const nullDraws = Array.from({ length: nullWindows }, () =>
  Int32Array.from({ length: rowsPerWindow }, () => Math.floor(random() * trainRows)),
);
const servedWindows = Math.floor((rows.length - servedFrom) / rowsPerWindow);
const consecutive = (k: number) =>
  Int32Array.from({ length: rowsPerWindow }, (_, i) => servedFrom + k * rowsPerWindow + i);

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
console.log(`Reference: Elec2 rows 0..${trainRows - 1}; ${rowsPerWindow} rows per window; seed ${seed}.\n`);
console.log(
  '| traffic | thresholds | windows | a feature drifted | an alert fired (3 of 5) | per feature (windows drifted) | ms per window |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const calibration of ['reference', 'none'] as const) {
  const t = judge((k) => nullDraws[k]!, nullWindows, calibration);
  console.log(
    `| stationary (resampled training rows) | ${calibration} | ${t.windows} | ${t.flagged} (${pct(t.flagged, t.windows)}) | ${t.alerting} (${pct(t.alerting, t.windows)}) | ${features.map((f) => `${f} ${t.perFeature[f]}`).join(', ')} | ${(t.ms / t.windows).toFixed(2)} |`,
  );
}
const heldOut = Array.from({ length: nullWindows }, () =>
  Int32Array.from({ length: rowsPerWindow }, () => halves.b[Math.floor(random() * halves.b.length)]!),
);
for (const calibration of ['reference', 'none'] as const) {
  const t = judge((k) => heldOut[k]!, nullWindows, calibration, halfReference);
  console.log(
    `| stationary (held-out half of the training rows) | ${calibration} | ${t.windows} | ${t.flagged} (${pct(t.flagged, t.windows)}) | ${t.alerting} (${pct(t.alerting, t.windows)}) | ${features.map((f) => `${f} ${t.perFeature[f]}`).join(', ')} | ${(t.ms / t.windows).toFixed(2)} |`,
  );
}
for (const calibration of ['reference', 'none'] as const) {
  const t = judge(consecutive, servedWindows, calibration);
  console.log(
    `| Elec2 rows ${servedFrom}.. in order | ${calibration} | ${t.windows} | ${t.flagged} (${pct(t.flagged, t.windows)}) | ${t.alerting} | ${features.map((f) => `${f} ${t.perFeature[f]}`).join(', ')} | ${(t.ms / t.windows).toFixed(2)} |`,
  );
}
const victoria = Math.floor((17_424 - servedFrom) / rowsPerWindow);
console.log(
  `\nVictoria's data turns on in served window ${victoria} (Elec2 row 17,424); ${servedWindows - victoria} of ${servedWindows} served windows hold it.`,
);
