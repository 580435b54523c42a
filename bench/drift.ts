// Drift statistics: rows per second per feature, ours against Evidently, NannyML and SciPy on the same windows,
// one run on one machine. Writes the windows to bench/.cache as raw float64, times ours, then runs
// bench/drift_peers.py on the same files with the given Python, and prints one markdown table. Run:
//   npx tsx bench/drift.ts --python <python with evidently, nannyml, scipy> [--rows 1000000] [--repeat 5]
//   npx tsx bench/drift.ts --no-peers      # ours only
// Rows per second = rows of the current window / seconds for one feature. Ours compares against a reference that
// was prepared once (the monitor keeps it per model version); the build is timed apart. The peers recompute their
// reference side on every call (that is how they work), except NannyML, whose fit is timed apart like our build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
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
const rows = Number(flag('--rows') ?? 1_000_000);
const repeat = Number(flag('--repeat') ?? 5);
const python = flag('--python') ?? 'python3';
const withPeers = !args.includes('--no-peers');
const exactRows = 10_000;

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
  wallMin: number;
  wallMedian: number;
  cpuMin: number;
}

function time(fn: () => void): Timing {
  fn(); // warm-up: JIT compilation is paid once per process
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  wall.sort((a, b) => a - b);
  return { wallMin: wall[0]!, wallMedian: wall[Math.floor(wall.length / 2)]!, cpuMin: Math.min(...cpu) };
}

// The windows: reference N(0, 1), current N(0.02, 1); the exact case takes the reference's 10,000-value sample
// against the current window's first 10,000 values.
const reference = normals(1, rows, 0);
const current = normals(2, rows, 0.02);
mkdirSync(cacheDir, { recursive: true });
const file = (name: string): string => join(cacheDir, `drift-${name}.f64`);
writeFileSync(file('reference'), reference);
writeFileSync(file('current'), current);

let built = buildDriftReference(frame(reference));
const build = time(() => {
  built = buildDriftReference(frame(reference));
});
const sample = Float64Array.from((built.features[0] as NumericDriftReference).sample);
const small = current.slice(0, exactRows);
writeFileSync(file('sample'), sample);
writeFileSync(file('current-small'), small);
const prepared = prepareReference(built);

interface Row {
  tool: string;
  what: string;
  rows: number;
  t: Timing;
  value?: string;
}
const results: Row[] = [];
const add = (tool: string, what: string, n: number, t: Timing, value?: string): void => {
  results.push({ tool, what, rows: n, t, ...(value === undefined ? {} : { value }) });
};

add(
  'Slipway',
  `reference build, ${rows.toLocaleString('en-US')} rows (bins, sample, chunk calibration)`,
  rows,
  build,
);
let binned = compareWindow(prepared, frame(current), { exactMaxRows: exactRows });
add(
  'Slipway',
  'binned: PSI + Jensen-Shannon + KS (binned, p-value) + Wasserstein (binned), one pass',
  rows,
  time(() => {
    binned = compareWindow(prepared, frame(current), { exactMaxRows: exactRows });
  }),
  `psi ${binned.features[0]!.psi?.toFixed(6)}, ks ${binned.features[0]!.ks?.toFixed(6)}`,
);
let exact = compareWindow(prepared, frame(small));
add(
  'Slipway',
  'exact window: KS (exact, exact p) + Wasserstein (exact) + PSI + Jensen-Shannon',
  exactRows,
  time(() => {
    exact = compareWindow(prepared, frame(small));
  }),
  `ks ${exact.features[0]!.ks?.toFixed(6)} p ${exact.features[0]!.ks_pvalue?.toExponential(4)}`,
);
let ks = ksTwoSampleSorted(sample, Float64Array.from(small).sort());
add(
  'Slipway',
  'exact KS alone (sort window + D + exact p-value)',
  exactRows,
  time(() => {
    ks = ksTwoSampleSorted(sample, Float64Array.from(small).sort());
  }),
  `D ${ks.statistic.toFixed(6)} p ${ks.pValue.toExponential(4)}`,
);
let w = 0;
add(
  'Slipway',
  'exact Wasserstein alone (sort window + merge)',
  exactRows,
  time(() => {
    w = wassersteinSorted(sample, Float64Array.from(small).sort());
  }),
  `w ${w.toFixed(6)}`,
);

interface PeerRow {
  tool: string;
  what: string;
  rows: number;
  wall_min: number;
  wall_median: number;
  cpu_min: number;
  value?: string;
}
let peers: PeerRow[] = [];
let peerVersions = '';
if (withPeers) {
  const out = execFileSync(
    python,
    [join(benchDir, 'drift_peers.py'), cacheDir, String(repeat), String(exactRows)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
  );
  const parsed = JSON.parse(out) as { versions: string; rows: PeerRow[] };
  peers = parsed.rows;
  peerVersions = parsed.versions;
}
for (const p of peers)
  add(p.tool, p.what, p.rows, { wallMin: p.wall_min, wallMedian: p.wall_median, cpuMin: p.cpu_min }, p.value);

const rate = (n: number, s: number): string =>
  s > 0 ? `${(n / s / 1e6).toFixed(n / s >= 1e7 ? 1 : 2)}M` : '-';
const oursBinned = results.find((r) => r.what.startsWith('binned'))!;
console.log(
  `\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; Node ${process.version}; ${peerVersions}\n` +
    `windows: reference ${rows.toLocaleString('en-US')} rows N(0,1), current ${rows.toLocaleString('en-US')} rows N(0.02,1); ` +
    `exact: the reference's ${exactRows.toLocaleString('en-US')}-value sample vs ${exactRows.toLocaleString('en-US')} current rows; ` +
    `${repeat} repeats after a warm-up\n`,
);
console.log(
  '| tool | what | rows | wall s (min) | wall s (median) | CPU s (min) | rows/s/feature (min wall) | ours binned is x faster | value |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results) {
  const speedup =
    r.rows === rows && r.tool !== 'Slipway' ? `${(r.t.wallMin / oursBinned.t.wallMin).toFixed(0)}x` : '';
  console.log(
    `| ${r.tool} | ${r.what} | ${r.rows.toLocaleString('en-US')} | ${r.t.wallMin.toFixed(4)} | ${r.t.wallMedian.toFixed(4)} | ` +
      `${r.t.cpuMin.toFixed(4)} | ${rate(r.rows, r.t.wallMin)} | ${speedup} | ${r.value ?? ''} |`,
  );
}
writeFileSync(join(cacheDir, 'drift-results.json'), JSON.stringify({ rows, repeat, results }, null, 2));
