import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCsvFrame } from '../../ml/ingest/csv-frame.js';
import { DataError } from '../../ml/ingest/data-error.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import { resolveReadOptions } from '../../domain/dataset-schema.js';
import { chunks } from './ml-ingest-sources.js';

const elec2 = readFileSync(new URL('../../datasets/electricity.csv', import.meta.url));

/** A CSV whose quoted values hold delimiters, doubled quotes and line breaks, so chunk cuts land near quotes. */
function tricky(rows: number): string {
  const lines = ['id,name,score,flag'];
  for (let i = 0; i < rows; i++) {
    const name = i % 5 === 0 ? `"multi\nline, ""${i}"""` : i % 7 === 0 ? '' : `n${i % 13}`;
    lines.push(`${i},${name},${i % 11 === 0 ? 'NA' : (i * 0.37).toFixed(3)},${i % 2 === 0}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('CSV ingest over chunks in worker threads', () => {
  it('gives the frame of a single-threaded read, whatever the chunk size', async () => {
    const body = tricky(5000);
    const resolved = resolveReadOptions({});
    const one = await readCsvFrame(chunks(body, 4096), resolved, undefined, 1);
    for (const chunkBytes of [1000, 7919, 65536]) {
      const many = await readCsvFrame(chunks(body, 4096), resolved, undefined, 2, chunkBytes);
      expect(many.frame).toEqual(one.frame);
      expect(many.stats).toEqual(one.stats);
      expect(many.inferred).toEqual(one.inferred);
    }
    expect(one.frame.rowCount).toBe(5000);
    expect(one.schema.columns.map((c) => c.type)).toEqual(['numeric', 'categorical', 'numeric', 'boolean']);
  });

  it('names the row and line of a bad record in a later chunk', async () => {
    const body = `${tricky(3000)}3000,oops,1\r\n${'3001,x,2,true\r\n'.repeat(100)}`;
    const resolved = resolveReadOptions({});
    for (const threads of [1, 2]) {
      const error = await readCsvFrame(chunks(body, 999), resolved, undefined, threads, 2048).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).code).toBe('ragged_row');
      expect((error as DataError).row).toBe(3001);
      // 3000 rows after the header; every fifth holds one quoted line break.
      expect((error as DataError).line).toBe(3002 + 600);
    }
  });
});

describe('a mostly-numeric column with text in it is never silently categorical', () => {
  /** Elec2 with the word "high" in 30 % of its `period` values (every row whose index ends in 0, 1 or 2). */
  function elec2WithHigh(): string {
    const lines = elec2.toString('utf8').trimEnd().split('\n');
    return lines
      .map((line, i) => (i > 0 && (i - 1) % 10 < 3 ? line.replace(/^[^,]*/, 'high') : line))
      .join('\n');
  }

  it('refuses Elec2 with "high" in 30 % of period, naming the column, the share and rows with values', async () => {
    const error = await readDataset(() => chunks(elec2WithHigh(), 65536)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    const e = error as DataError;
    expect(e.code).toBe('type_error_rate');
    expect(e.column).toBe('period');
    expect(e.row).toBe(1);
    expect(e.message).toContain(
      'column "period" is numeric, but 13595 of its values (30.0% of the non-missing ones)',
    );
    expect(e.message).toContain(
      '"high" (row 1), "high" (row 2), "high" (row 3), "high" (row 11), "high" (row 12)',
    );
  });

  it('reads it with a warning when the type-error threshold allows that share', async () => {
    const { frame, stats } = await readDataset(() => chunks(elec2WithHigh(), 65536), {
      maxTypeErrorRate: 0.35,
    });
    expect(frame.columns[0]).toMatchObject({ name: 'period', kind: 'numeric' });
    const warning = stats.warnings.find((w) => w.column === 'period');
    expect(warning?.code).toBe('type_errors_to_missing');
    expect(warning?.message).toContain(
      '13595 value(s) that are not numbers became missing, e.g. "high" (row 1)',
    );
  });

  it('lets a declared schema decide: period declared categorical is read as categories', async () => {
    const header = elec2.toString('utf8').split('\n', 1)[0]!.trim().split(',');
    const schema = {
      columns: header.map((name) => ({
        name,
        type: name === 'period' ? ('categorical' as const) : ('numeric' as const),
      })),
    };
    const { frame, stats } = await readDataset(() => chunks(elec2WithHigh(), 65536), { schema });
    const period = frame.columns[0]!;
    expect(period.kind).toBe('categorical');
    expect(period.kind === 'categorical' && period.categories).toContain('high');
    expect(stats.warnings).toEqual([]);
  });
});
