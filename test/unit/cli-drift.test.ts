// `slipway drift`: the command end to end on files in a temp directory, and its answers to bad input.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { driftCommand } from '../../cli/drift.js';
import type { FeatureDrift } from '../../ml/drift/report.js';
import { expectSelfContained } from './ml-report-assertions.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let reference: string;
let current: string;
let stable: string;

function csv(rows: number, shift: number, seed: number, unseen = false): string {
  let s = seed;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const lines = ['id,amount,channel'];
  for (let i = 0; i < rows; i++) {
    const z = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
    const channel = unseen && i % 5 === 0 ? 'kiosk' : ['web', 'app', 'store'][Math.floor(next() * 3)];
    lines.push(`${i},${(100 + shift + 15 * z).toFixed(3)},${channel}`);
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-drift-'));
  reference = join(dir, 'reference.csv');
  current = join(dir, 'current.csv');
  stable = join(dir, 'stable.csv');
  await writeFile(reference, csv(3000, 0, 1));
  await writeFile(current, csv(600, 8, 2, true));
  await writeFile(stable, csv(600, 0, 3));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('slipway drift (the command)', () => {
  it('prints the JSON report and writes the HTML report; exit code 1 on drift', async () => {
    const html = join(dir, 'report.html');
    const run = promisify(execFile);
    const result = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'drift',
        reference,
        current,
        '--json',
        '--html',
        html,
        '--exclude',
        'id',
      ],
      { cwd: root },
    ).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in result ? result.code : 0).toBe(1);
    const report = JSON.parse(result.stdout) as { features: FeatureDrift[] };
    const amount = report.features.find((f) => f.feature === 'amount')!;
    const channel = report.features.find((f) => f.feature === 'channel')!;
    expect(report.features.map((f) => f.feature)).toEqual(['amount', 'channel']);
    expect(amount).toMatchObject({ feature: 'amount', kind: 'numeric', drift: true });
    for (const k of ['ks', 'ks_pvalue', 'wasserstein', 'jensenshannon', 'psi'] as const)
      expect(typeof amount[k]).toBe('number');
    expect(channel).toMatchObject({ feature: 'channel', kind: 'categorical', drift: true });
    for (const k of ['chi2', 'chi2_pvalue', 'jensenshannon', 'linf'] as const)
      expect(typeof channel[k]).toBe('number');
    expect(channel.current.unseenCategories).toEqual([{ value: 'kiosk', count: 120 }]);
    const page = await readFile(html, 'utf8');
    expectSelfContained(page);
    expect(page).toContain('amount');
  });
});

describe('driftCommand', () => {
  let out: string;
  let err: string;
  beforeAll(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    out = '';
    err = '';
  });
  afterAll(() => vi.restoreAllMocks());
  const run = (ref: string, cur: string, options: Parameters<typeof driftCommand>[2] = {}) =>
    driftCommand(ref, cur, { exclude: 'id', ...options });

  it('prints every feature with its statistics, threshold and verdict; exit code 0 without drift', async () => {
    out = '';
    err = '';
    expect(await run(reference, stable)).toBe(0);
    expect(out).toMatch(/no drift in 2 features/);
    expect(out).toMatch(
      /^feature\s+kind\s+test\s+statistic\s+p-value\s+threshold\s+verdict\s+inflation\s+test_pvalue\s+ks\s+ks_pvalue/m,
    );
    expect(out).toMatch(/^amount\s+numeric\s+ks\s+\S+\s+\S+\s+\S+\s+ok/m);
    expect(out).toMatch(/^channel\s+categorical\s+chi2\s+\S+\s+\S+\s+\S+\s+ok/m);
    expect(out).toContain("Holm's correction across features at alpha 0.05");
  });

  it('takes a test per feature and alpha', async () => {
    out = '';
    expect(
      await run(reference, current, { test: ['amount=wasserstein', 'channel=linf'], alpha: '0.01' }),
    ).toBe(1);
    expect(out).toMatch(/^amount\s+numeric\s+wasserstein\s/m);
    expect(out).toMatch(/^channel\s+categorical\s+linf\s/m);
    expect(out).toContain('alpha 0.01');
  });

  it('answers bad input with exit code 2 and a message naming the problem, writing nothing', async () => {
    const cases: [() => Promise<number>, RegExp][] = [
      [() => run(join(dir, 'nope.csv'), current), /nope.csv: no such file/],
      [() => run(reference, join(dir, 'x.parquet')), /x.parquet: no such file/],
      [
        () => run(reference, current, { test: ['amount=ttest'] }),
        /--test amount=ttest: expected feature=test/,
      ],
      [
        () => run(reference, current, { test: ['channel=ks'] }),
        /tests.channel: "ks" does not apply to a categorical/,
      ],
      [
        () => run(reference, current, { test: ['nope=psi'] }),
        /feature "nope", which the reference does not have/,
      ],
      [() => run(reference, current, { alpha: '2' }), /--alpha: /],
      [() => run(reference, current, { alpha: 'abc' }), /--alpha must be a number, got "abc"/],
      [() => run(reference, current, { exclude: 'id,zz' }), /"zz" that the frame does not have/],
      [
        () => run(reference, current, { html: join(dir, 'no', 'such', 'dir', 'r.html') }),
        /--html .*cannot write it/,
      ],
    ];
    for (const [result, message] of cases) {
      err = '';
      expect(await result()).toBe(2);
      expect(err).toMatch(message);
    }
    expect((await readdir(dir)).sort()).toEqual([
      'current.csv',
      'reference.csv',
      'report.html',
      'stable.csv',
    ]);
  });

  it('names the column the current file lacks, and a file that is not Parquet', async () => {
    const lacking = join(dir, 'lacking.csv');
    await writeFile(lacking, 'id,amount\n1,2\n');
    err = '';
    expect(await run(reference, lacking)).toBe(2);
    expect(err).toMatch(/lacking.csv: the file lacks column "channel"/);
    const parquet = join(dir, 'x.parquet');
    await writeFile(parquet, 'PAR1');
    err = '';
    expect(await run(reference, parquet)).toBe(2);
    expect(err).toMatch(/x.parquet: /);
    await rm(lacking);
    await rm(parquet);
  });

  it('reads Parquet, against a CSV of the same rows: no drift; with a shifted column: that column drifts', async () => {
    // test/fixtures/data/mixed.parquet holds these rows (test/fixtures/make_parquet.py).
    const rows = (shift: number): string =>
      [
        'id,price,flag,seen,city,note,label',
        ...Array.from({ length: 1000 }, (_, i) =>
          [
            i,
            i % 17 === 0 ? '' : i * 0.25 - 10 + shift,
            i % 23 === 0 ? '' : String(i % 3 === 0),
            1_600_000_000_000 + i * 60_000,
            i % 11 === 0 ? '' : ['Oslo', 'Bergen', 'Tromsø'][i % 3],
            `n${i % 7}`,
            i % 2,
          ].join(','),
        ),
      ].join('\n') + '\n';
    const parquet = join(root, 'test/fixtures/data/mixed.parquet');
    const same = join(dir, 'same.csv');
    const shifted = join(dir, 'shifted.csv');
    await writeFile(same, rows(0));
    // price rises with the row number, so the chunk calibration sees a trend and only a window beyond its range
    // drifts (see docs/drift.md, the inflation cap).
    await writeFile(shifted, rows(1000));
    out = '';
    expect(await run(same, parquet, { exclude: 'id,seen', json: true })).toBe(0);
    const report = JSON.parse(out) as { drift: boolean; features: FeatureDrift[] };
    expect(report.features.map((f) => f.feature)).toEqual(['price', 'flag', 'city', 'note', 'label']);
    expect(report.features.find((f) => f.feature === 'price')?.ks).toBe(0);
    out = '';
    expect(await run(parquet, shifted, { exclude: 'id,seen', json: true })).toBe(1);
    expect((JSON.parse(out) as { driftedFeatures: string[] }).driftedFeatures).toEqual(['price']);
    await rm(same);
    await rm(shifted);
  });
});
