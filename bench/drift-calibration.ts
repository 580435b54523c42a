// How often the drift module alerts: false alarms on stationary windows and detection of real and injected
// changes, on Elec2 and Adult (datasets/). Prints markdown tables. Run:
//   npx tsx bench/drift-calibration.ts [--windows 300]
// Stationary windows are drawn with replacement from the reference rows themselves (the issue's definition) and,
// for Adult, without replacement from rows held out of the reference (a random sample of the same population,
// independent of the reference: the harder case), over 20 random 70/30 splits so no one split's luck decides.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { compareWindow } from '../ml/drift/compare.js';
import { buildDriftReference, type DriftReference } from '../ml/drift/reference.js';
import type { DriftReport } from '../ml/drift/report.js';
import { takeRows, type CategoricalColumn, type Frame, type NumericColumn } from '../ml/frame.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import { createRng, type Rng } from '../ml/rng.js';
import { datasetsDir } from './datasets.js';
import type { DriftOptions } from '../domain/drift.js';

const args = process.argv.slice(2);
const windows = Number(args.includes('--windows') ? args[args.indexOf('--windows') + 1] : 300);

async function load(file: string): Promise<Frame> {
  const path = join(datasetsDir, file);
  return (await readDataset(() => createReadStream(path))).frame;
}
const range = (a: number, b: number): Int32Array => Int32Array.from({ length: b - a }, (_, i) => a + i);
const sampleRows = (rng: Rng, from: Int32Array, n: number): Int32Array =>
  Int32Array.from({ length: n }, () => from[rng.nextInt(from.length)]!);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Share of windows with any alert, and per feature. */
function rates(reports: DriftReport[]): { any: number; features: Record<string, number> } {
  const features: Record<string, number> = {};
  for (const r of reports)
    for (const f of r.features) features[f.feature] = (features[f.feature] ?? 0) + (f.drift ? 1 : 0);
  for (const k of Object.keys(features)) features[k] = features[k]! / reports.length;
  return { any: reports.filter((r) => r.drift).length / reports.length, features };
}

function falseAlarms(
  title: string,
  reference: DriftReference,
  frame: Frame,
  pool: Int32Array,
  sizes: readonly number[],
): void {
  console.log(`\n### False alarms: ${title}\n`);
  console.log(
    '| window rows | windows | alert rate (calibrated, Holm) | uncalibrated, Holm | calibrated, no correction | worst feature (calibrated, Holm) |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | --- |');
  for (const size of sizes) {
    const count = size >= 5000 ? Math.ceil(windows / 3) : windows;
    const run = (options: DriftOptions): ReturnType<typeof rates> => {
      const rng = createRng(size);
      const reports: DriftReport[] = [];
      for (let k = 0; k < count; k++)
        reports.push(compareWindow(reference, takeRows(frame, sampleRows(rng, pool, size)), options));
      return rates(reports);
    };
    const main = run({});
    const raw = run({ calibration: 'none' });
    const each = run({ correction: 'none' });
    const worst = Object.entries(main.features).sort((a, b) => b[1] - a[1])[0];
    console.log(
      `| ${size.toLocaleString('en-US')} | ${count} | ${pct(main.any)} | ${pct(raw.any)} | ${pct(each.any)} | ${worst ? `${worst[0]} ${pct(worst[1])}` : ''} |`,
    );
  }
}

// Elec2: the reference is the first 10,000 rows (7 May 1996 to early December 1996).
const elec2 = await load('electricity.csv');
const elec2Train = range(0, 10_000);
const elec2Reference = buildDriftReference(takeRows(elec2, elec2Train), { exclude: ['class'] });
console.log(
  `Elec2 reference: rows 0-9,999; chunk calibration at ${elec2Reference.calibration.chunkRows.join(', ')} rows; inflation per feature: ` +
    elec2Reference.features
      .map((f) => `${f.name} ${f.inflation.map((x) => x.toFixed(1)).join('/')}`)
      .join('; '),
);
falseAlarms(
  'Elec2, windows resampled from the reference rows',
  elec2Reference,
  elec2,
  elec2Train,
  [48, 336, 2000, 10_000],
);

console.log('\n### Detection: Elec2 replayed in time order after the reference rows\n');
console.log(
  "vicprice, vicdemand and transfer are constant in the file until row 17,424 (Victoria's data start then). Share of windows that alert, per feature, before and after that row:\n",
);
for (const size of [48, 336, 1344]) {
  const before: DriftReport[] = [];
  const after: DriftReport[] = [];
  let firstAlert: Record<string, number> = {};
  for (let start = 10_000; start + size <= elec2.rowCount; start += size) {
    const report = compareWindow(elec2Reference, takeRows(elec2, range(start, start + size)));
    (start + size <= 17_424 ? before : after).push(report);
    if (start + size > 17_424)
      for (const f of report.features)
        if (f.drift && firstAlert[f.feature] === undefined) firstAlert[f.feature] = start + size;
  }
  const b = rates(before);
  const a = rates(after);
  if (size === 48)
    console.log(
      '| window rows | windows before / after | ' +
        Object.keys(b.features)
          .map((f) => `${f} before / after`)
          .join(' | ') +
        ' | first alert after row 17,424 (window end) |',
    );
  if (size === 48)
    console.log(
      '| ---: | ---: | ' +
        Object.keys(b.features)
          .map(() => '---:')
          .join(' | ') +
        ' | --- |',
    );
  console.log(
    `| ${size.toLocaleString('en-US')} | ${before.length} / ${after.length} | ` +
      Object.keys(b.features)
        .map((f) => `${pct(b.features[f]!)} / ${pct(a.features[f]!)}`)
        .join(' | ') +
      ` | ${['vicprice', 'vicdemand', 'transfer'].map((f) => `${f} ${firstAlert[f]?.toLocaleString('en-US') ?? 'never'}`).join(', ')} |`,
  );
  firstAlert = {};
}

// Adult: 20 random 70/30 splits; each split's 70 % is a reference, its 30 % the held-out rows.
const adult = await load('adult.csv');
const splits = Array.from({ length: 20 }, (_, s) => {
  const rng = createRng(1000 + s);
  const order = Int32Array.from({ length: adult.rowCount }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.floor(adult.rowCount * 0.7);
  const train = order.slice(0, cut).sort();
  return {
    train,
    heldOut: order.slice(cut).sort(),
    reference: buildDriftReference(takeRows(adult, train), { exclude: ['income'] }),
  };
});
/** `n` distinct rows of `from` (a partial Fisher-Yates shuffle). */
function withoutReplacement(rng: Rng, from: Int32Array, n: number): Int32Array {
  const pool = Int32Array.from(from);
  for (let i = 0; i < n; i++) {
    const j = i + rng.nextInt(pool.length - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

falseAlarms(
  'Adult, windows resampled from the reference rows',
  splits[0]!.reference,
  adult,
  splits[0]!.train,
  [100, 1000, 5000],
);

console.log(
  '\n### False alarms: Adult, windows of held-out rows (same population, not in the reference), 20 splits\n',
);
console.log(
  '| window rows | windows | alert rate (calibrated, Holm) | uncalibrated, Holm | calibrated, no correction | worst feature (calibrated, Holm) |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | --- |');
for (const size of [100, 1000, 5000]) {
  const count = size >= 5000 ? Math.ceil(windows / 3) : windows;
  const run = (options: DriftOptions): ReturnType<typeof rates> => {
    const rng = createRng(size);
    const reports: DriftReport[] = [];
    for (let k = 0; k < count; k++) {
      const split = splits[k % splits.length]!;
      reports.push(
        compareWindow(
          split.reference,
          takeRows(adult, withoutReplacement(rng, split.heldOut, size)),
          options,
        ),
      );
    }
    return rates(reports);
  };
  const main = run({});
  const raw = run({ calibration: 'none' });
  const each = run({ correction: 'none' });
  const worst = Object.entries(main.features).sort((a, b) => b[1] - a[1])[0];
  console.log(
    `| ${size.toLocaleString('en-US')} | ${count} | ${pct(main.any)} | ${pct(raw.any)} | ${pct(each.any)} | ${worst ? `${worst[0]} ${pct(worst[1])}` : ''} |`,
  );
}

console.log('\n### Detection: Adult held-out windows with an injected change (20 splits)\n');
type Change = (frame: Frame, rng: Rng) => Frame;
const mapNumeric =
  (name: string, f: (x: number) => number): Change =>
  (frame) => ({
    ...frame,
    columns: frame.columns.map((c) =>
      c.name === name && c.kind === 'numeric'
        ? ({ ...c, values: c.values.map(f) } satisfies NumericColumn)
        : c,
    ),
  });
const recode =
  (name: string, share: number, to: string): Change =>
  (frame, r) => ({
    ...frame,
    columns: frame.columns.map((c) => {
      if (c.name !== name || c.kind !== 'categorical') return c;
      const categories = c.categories.includes(to) ? c.categories : [...c.categories, to];
      const code = categories.indexOf(to);
      return {
        ...c,
        categories,
        codes: c.codes.map((x) => (r.nextFloat() < share ? code : x)),
      } satisfies CategoricalColumn;
    }),
  });
const changes: [string, string, Change][] = [
  ['age + 1 year', 'age', mapNumeric('age', (x) => x + 1)],
  ['age + 3 years', 'age', mapNumeric('age', (x) => x + 3)],
  ['hr_per_week x 1.05', 'hr_per_week', mapNumeric('hr_per_week', (x) => x * 1.05)],
  ['5 % of sex set to Female', 'sex', recode('sex', 0.05, 'Female')],
  ['15 % of sex set to Female', 'sex', recode('sex', 0.15, 'Female')],
  ['2 % of occupation a new category', 'occupation', recode('occupation', 0.02, 'Drone-pilot')],
  ['10 % of occupation a new category', 'occupation', recode('occupation', 0.1, 'Drone-pilot')],
];
console.log('| change | window rows | windows | changed feature flagged | any other feature flagged |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [title, feature, change] of changes) {
  for (const size of [200, 1000, 5000]) {
    const r = createRng(size + title.length);
    const count = size >= 5000 ? Math.ceil(windows / 6) : Math.ceil(windows / 3);
    let hit = 0;
    let other = 0;
    for (let k = 0; k < count; k++) {
      const split = splits[k % splits.length]!;
      const window = takeRows(adult, withoutReplacement(r, split.heldOut, size));
      const report = compareWindow(split.reference, change(window, r));
      if (report.driftedFeatures.includes(feature)) hit++;
      if (report.driftedFeatures.some((f) => f !== feature)) other++;
    }
    console.log(
      `| ${title} | ${size.toLocaleString('en-US')} | ${count} | ${pct(hit / count)} | ${pct(other / count)} |`,
    );
  }
}
