// Ingest speed and memory against the peers, in one command so every figure is taken under the same load:
// - ours: readDataset (sha256 + UTF-8 check + schema inference + typed columns) with 1 and 2 parsing threads;
// - JavaScript CSV libraries on Adult and Elec2: csv-parse, papaparse, uDSV, csv-simple-parser (file to string,
//   then records of strings; uDSV also to typed columns);
// - Parquet: ours (parquet-wasm, row group by row group, to the typed frame), parquet-wasm reading the whole file at
//   once (+ apache-arrow, decodeFrameFromArrow) and hyparquet's decoding alone (no frame built: a lower bound);
// - Python: pandas.read_csv (C engine), pyarrow.csv.read_csv, pandas.read_parquet, pyarrow.parquet.read_table
//   (bench/ingest_peer.py);
// - peak RSS of one read of each large file in a fresh process, against the size of the frame it built.
//
//   npx tsx bench/scale-data.ts && python3 bench/scale_parquet.py     # once: the 1M x 50 CSV and Parquet files
//   npx tsx bench/ingest.ts [--repeat 5] [--no-scale]
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { parse as csvParse } from 'csv-parse/sync';
import csvSimpleParser from 'csv-simple-parser';
import Papa from 'papaparse';
import * as parquetWasm from 'parquet-wasm/node';
import { inferSchema as udsvSchema, initParser as udsvParser } from 'udsv';
import type { Frame } from '../ml/frame.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import { benchDir, datasetsDir } from './datasets.js';
import { scaleCsvPath } from './scale-data.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback;

const frameBytes = (frame: Frame): number =>
  frame.columns.reduce(
    (sum, c) => sum + (c.kind === 'numeric' ? c.values.byteLength : c.codes.byteLength),
    0,
  );

/** `--rss <file> <threads>`: one read in this (fresh) process; prints JSON with the peak RSS and frame size. */
async function rssProbe(path: string, how: string): Promise<void> {
  // VmHWM, not ru_maxrss: a forked child's ru_maxrss starts at its parent's.
  const hwm = (): number =>
    Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
  const before = hwm();
  const started = performance.now();
  let frame: Frame;
  if (how === 'parquet-wasm') {
    frame = decodeFrameFromArrow(parquetWasm.readParquet(readFileSync(path)).intoIPCStream());
  } else {
    const format = path.endsWith('.parquet') ? ('parquet' as const) : ('csv' as const);
    frame = (await readDataset(() => createReadStream(path), { format, threads: Number(how) })).frame;
  }
  const seconds = (performance.now() - started) / 1000;
  const after = hwm();
  process.stdout.write(
    `${JSON.stringify({ before, after, frameMib: frameBytes(frame) / 2 ** 20, seconds, rows: frame.rowCount })}\n`,
  );
}

async function timed(repeat: number, body: () => unknown): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    await body();
    times.push((performance.now() - t) / 1000);
  }
  return times;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  readonly file: string;
  readonly reader: string;
  readonly seconds: number[];
  readonly note?: string;
}

async function main(): Promise<void> {
  const repeat = Number(option('repeat', '5'));
  const withScale = !args.includes('--no-scale');
  const load = [loadavg()];
  const small = [join(datasetsDir, 'adult.csv'), join(datasetsDir, 'electricity.csv')];
  const scaleCsv = scaleCsvPath(1_000_000);
  const scaleParquet = scaleCsv.replace(/\.csv$/, '.parquet');
  if (withScale && (!existsSync(scaleCsv) || !existsSync(scaleParquet))) {
    throw new Error(`run npx tsx bench/scale-data.ts and python3 bench/scale_parquet.py first (${scaleCsv})`);
  }
  const rows: Row[] = [];
  const csvFiles = withScale ? [...small, scaleCsv] : small;
  for (const path of csvFiles) {
    const file = path.split('/').pop()!;
    const n = path === scaleCsv ? Math.min(repeat, 3) : repeat;
    for (const threads of [1, 2]) {
      // One untimed read first: the JIT and, for 2 threads, the parsing threads start once per process.
      await readDataset(() => createReadStream(path), { threads });
      rows.push({
        file,
        reader: `ours, ${threads} thread${threads > 1 ? 's' : ''} (typed frame)`,
        seconds: await timed(n, () => readDataset(() => createReadStream(path), { threads })),
      });
    }
    if (path === scaleCsv) continue;
    const text = (): string => readFileSync(path, 'utf8');
    const libraries: [string, () => unknown][] = [
      ['csv-parse 7 (strings)', () => csvParse(text(), { skip_empty_lines: true })],
      ['papaparse 5 (strings)', () => Papa.parse(text(), { skipEmptyLines: true })],
      ['csv-simple-parser 2 (strings)', () => csvSimpleParser(text())],
      [
        'uDSV 0.7 (typed columns)',
        () => {
          const csv = text();
          const schema = udsvSchema(csv);
          return udsvParser(schema).typedCols(csv);
        },
      ],
    ];
    for (const [reader, body] of libraries) {
      body();
      rows.push({ file, reader, seconds: await timed(repeat, body) });
    }
  }
  if (withScale) {
    const file = scaleParquet.split('/').pop()!;
    const n = Math.min(repeat, 3);
    rows.push({
      file,
      reader: 'ours (parquet-wasm 0.8, row groups, typed frame)',
      seconds: await timed(n, () => readDataset(() => createReadStream(scaleParquet), { format: 'parquet' })),
    });
    rows.push({
      file,
      reader: 'parquet-wasm, whole file at once + apache-arrow (same frame)',
      seconds: await timed(n, () =>
        decodeFrameFromArrow(parquetWasm.readParquet(readFileSync(scaleParquet)).intoIPCStream()),
      ),
    });
    rows.push({
      file,
      reader: 'hyparquet 1.33, decoding alone (no frame)',
      seconds: await timed(n, async () => {
        const bytes = readFileSync(scaleParquet);
        const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
        await parquetRead({ file: buffer, metadata: parquetMetadata(buffer), onChunk: () => undefined });
      }),
    });
    // A check that the two Parquet readers agree on the data.
    const a = await readDataset(() => createReadStream(scaleParquet), { format: 'parquet' });
    const b = tableFromIPC(parquetWasm.readParquet(readFileSync(scaleParquet)).intoIPCStream());
    if (a.frame.rowCount !== b.numRows) throw new Error('the Parquet readers disagree on the row count');
  }
  load.push(loadavg());

  const peerFiles = withScale ? [...csvFiles, scaleParquet] : csvFiles;
  const peer = JSON.parse(
    execFileSync('python3', [join(benchDir, 'ingest_peer.py'), '--repeat', String(repeat), ...peerFiles], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    }),
  ) as { pandas: string; pyarrow: string; results: { file: string; reader: string; seconds: number[] }[] };
  for (const r of peer.results)
    rows.push({ file: r.file.split('/').pop()!, reader: r.reader, seconds: r.seconds });
  load.push(loadavg());

  const rss: {
    file: string;
    how: string;
    before: number;
    after: number;
    frameMib: number;
    seconds: number;
  }[] = [];
  if (withScale) {
    for (const [path, how] of [
      [scaleCsv, '1'],
      [scaleCsv, '2'],
      [scaleParquet, '1'],
      [scaleParquet, 'parquet-wasm'],
    ] as const) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', join(benchDir, 'ingest.ts'), '--rss', path, how],
        {
          encoding: 'utf8',
        },
      );
      const probe = JSON.parse(out) as { before: number; after: number; frameMib: number; seconds: number };
      rss.push({ file: path.split('/').pop()!, how, ...probe });
    }
  }

  const pandasOf = (file: string): number | undefined => {
    const p = rows.find((r) => r.file === file && r.reader.startsWith('pandas'));
    return p ? median(p.seconds) : undefined;
  };
  const lines = [
    `| file | reader | median s | min s | vs pandas (median) |`,
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const p = pandasOf(r.file);
      const ratio = p ? `${(median(r.seconds) / p).toFixed(2)}x` : '';
      return `| ${r.file} | ${r.reader} | ${median(r.seconds).toFixed(3)} | ${Math.min(...r.seconds).toFixed(3)} | ${ratio} |`;
    }),
  ];
  if (rss.length > 0) {
    lines.push(
      '',
      '| file | reader | peak RSS MiB (before) | frame MiB | peak / frame | s |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of rss) {
      const reader = r.how === 'parquet-wasm' ? 'parquet-wasm' : `ours, ${r.how} thread(s)`;
      lines.push(
        `| ${r.file} | ${reader} | ${r.after.toFixed(0)} (${r.before.toFixed(0)}) | ${r.frameMib.toFixed(0)} | ${(r.after / r.frameMib).toFixed(2)} | ${r.seconds.toFixed(1)} |`,
      );
    }
  }
  const sizes = peerFiles
    .map((f) => `${f.split('/').pop()} ${(statSync(f).size / 1e6).toFixed(1)} MB`)
    .join(', ');
  lines.push(
    '',
    `Files: ${sizes}. pandas ${peer.pandas}, pyarrow ${peer.pyarrow}. Load average (1 min) at start / after ours / after the peers: ${load.map((l) => l[0]!.toFixed(2)).join(' / ')}.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (args[0] === '--rss') await rssProbe(args[1]!, args[2]!);
else await main();
