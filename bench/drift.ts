// Drift statistics: rows per second per feature, ours against Evidently, NannyML and SciPy on the same windows,
// one run on one machine. Writes the windows to bench/.cache as raw float64, times ours, then runs
// bench/drift_peers.py on the same files with the given Python, and prints one markdown table. Run:
//   npx tsx bench/drift.ts --python <python with evidently, nannyml, scipy> [--repeat 5]
//   npx tsx bench/drift.ts --no-peers      # ours only
// Rows per second = rows of the current window / seconds, for one feature. Ours compares against a reference
// prepared once (the monitor keeps it per model version); its build is timed apart, as is NannyML's fit. Evidently
// recomputes its reference side on every call: that is how it works.
// Times are the minimum over the repeats, wall clock and CPU (user + system) of the process: on a shared machine
// the CPU time is the steadier measure of the work done.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { compareWindow } from '../ml/drift/compare.js';
import { ksTwoSampleSorted } from '../ml/drift/ks.js';
import { prepareReference } from '../ml/drift/prepare.js';
import { buildDriftReference, type NumericDriftReference } from '../ml/drift/reference.js';
import { wassersteinSorted } from '../ml/drift/statistics.js';
import type { Frame } from '../ml/frame.js';
import { createRng } from '../ml/rng.js';
import { benchDir, cacheDir } from './datasets.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const referenceRows = 1_000_000;
const windowSizes = [10_000, 100_000, 1_000_000];
const exactRows = 10_000;
/** A second exact window, of another size than the reference sample (the usual case in monitoring). */
const unequalRows = 7_500;
const repeat = Number(flag('--repeat') ?? 5);
const python = flag('--python') ?? 'python3';
const withPeers = !args.includes('--no-peers');

function normals(seed: number, n: number, mean: number): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = (rng.nextUint32() + 0.5) / 4294967296;
    out[i] = mean + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  }
  return out;
}

const frame = (values: Float64Array): Frame => ({
  rowCount: values.length,
  columns: [{ name: 'x', kind: 'numeric', values }],
});

interface Timing {
  wall: number;
  cpu: number;
}

function time(fn: () => void): Timing {
  fn(); // warm-up: JIT compilation is paid once per process
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < repeat; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall = Math.min(wall, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

// The windows: reference N(0, 1); current N(0.02, 1), its first 10k, 100k or all 1M rows; the exact case takes
// the reference's 10,000-value sample against the current window's first 10,000 values.
const reference = normals(1, referenceRows, 0);
const current = normals(2, windowSizes[windowSizes.length - 1]!, 0.02);
mkdirSync(cacheDir, { recursive: true });
const file = (name: string): string => join(cacheDir, `drift-${name}.f64`);
writeFileSync(file('reference'), reference);
writeFileSync(file('current'), current);

let built = buildDriftReference(frame(reference));
const build = time(() => {
  built = buildDriftReference(frame(reference));
});
const sample = Float64Array.from((built.features[0] as NumericDriftReference).sample);
writeFileSync(file('sample'), sample);
const prepared = prepareReference(built);

interface Row {
  tool: string;
  /** binned: a window against the whole reference; exact: raw values against the reference sample. */
  kind: 'binned' | 'exact' | 'build';
  what: string;
  rows: number;
  wall: number;
  cpu: number;
  value?: string;
}
const results: Row[] = [];
const add = (kind: Row['kind'], what: string, rows: number, t: Timing, value?: string): void => {
  results.push({ tool: 'Slipway', kind, what, rows, ...t, ...(value === undefined ? {} : { value }) });
};

add('build', 'reference build (bins, sample, chunk calibration)', referenceRows, build);
for (const size of windowSizes) {
  const window = frame(current.subarray(0, size));
  let report = compareWindow(prepared, window, { exactMaxRows: 1 });
  add(
    'binned',
    'PSI + Jensen-Shannon + KS (binned, with p-value) + Wasserstein (binned), one pass',
    size,
    time(() => {
      report = compareWindow(prepared, window, { exactMaxRows: 1 });
    }),
    `psi ${report.features[0]!.psi?.toFixed(6)} ks ${report.features[0]!.ks?.toFixed(6)}`,
  );
}
for (const size of [exactRows, unequalRows]) {
  const window = current.subarray(0, size);
  let exact = compareWindow(prepared, frame(window));
  add(
    'exact',
    'KS (exact D, exact p-value) + Wasserstein (exact) + PSI + Jensen-Shannon',
    size,
    time(() => {
      exact = compareWindow(prepared, frame(window));
    }),
    `ks ${exact.features[0]!.ks?.toFixed(6)} p ${exact.features[0]!.ks_pvalue?.toFixed(6)}`,
  );
  let ks = ksTwoSampleSorted(sample, Float64Array.from(window).sort());
  add(
    'exact',
    'KS alone: sort the window, D, exact p-value',
    size,
    time(() => {
      ks = ksTwoSampleSorted(sample, Float64Array.from(window).sort());
    }),
    `ks ${ks.statistic.toFixed(6)} p ${ks.pValue.toFixed(6)}`,
  );
  let w = 0;
  add(
    'exact',
    'Wasserstein alone: sort the window, merge',
    size,
    time(() => {
      w = wassersteinSorted(sample, Float64Array.from(window).sort());
    }),
    `w ${w.toFixed(6)}`,
  );
}

let peerVersions = '';
if (withPeers) {
  const out = execFileSync(
    python,
    [
      join(benchDir, 'drift_peers.py'),
      cacheDir,
      String(repeat),
      `${exactRows},${unequalRows}`,
      windowSizes.join(','),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
  );
  const parsed = JSON.parse(out) as { versions: string; rows: Row[] };
  peerVersions = parsed.versions;
  results.push(...parsed.rows);
}

const perSecond = (rows: number, s: number): string => {
  const r = rows / s;
  return r >= 1e6 ? `${(r / 1e6).toFixed(r >= 1e7 ? 1 : 2)}M` : `${(r / 1e3).toFixed(0)}k`;
};
/** Our full comparison on the same window and path (the first Slipway row of that kind and size). */
const oursAt = (kind: Row['kind'], rows: number): Row | undefined =>
  results.find((r) => r.tool === 'Slipway' && r.kind === kind && r.rows === rows);
console.log(
  `\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end; Node ${process.version}; ${peerVersions}\n` +
    `reference: ${referenceRows.toLocaleString('en-US')} rows of N(0, 1); current windows: the first 10k, 100k, 1M rows ` +
    `of N(0.02, 1); exact: the reference's ${exactRows.toLocaleString('en-US')}-value sample against the first ` +
    `${exactRows.toLocaleString('en-US')} or ${unequalRows.toLocaleString('en-US')} current rows. Minimum of ${repeat} repeats after a warm-up. ` +
    `"ours faster" compares with our whole comparison on the same window and path (binned or exact).\n`,
);
console.log(
  '| tool | path | what | window rows | wall s | CPU s | rows/s/feature (wall) | rows/s/feature (CPU) | ours faster (wall / CPU) | value |',
);
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results) {
  const ours = oursAt(r.kind, r.rows);
  const ratio = (a: number, b: number): string => `${a / b >= 10 ? (a / b).toFixed(0) : (a / b).toFixed(1)}x`;
  const faster =
    ours && r.tool !== 'Slipway' && r.kind !== 'build'
      ? `${ratio(r.wall, ours.wall)} / ${ratio(r.cpu, ours.cpu)}`
      : '';
  console.log(
    `| ${r.tool} | ${r.kind} | ${r.what} | ${r.rows.toLocaleString('en-US')} | ${r.wall.toFixed(4)} | ${r.cpu.toFixed(4)} | ` +
      `${perSecond(r.rows, r.wall)} | ${perSecond(r.rows, r.cpu)} | ${faster} | ${r.value ?? ''} |`,
  );
}
writeFileSync(join(cacheDir, 'drift-results.json'), JSON.stringify({ repeat, results }, null, 2));
