import { z } from 'zod';

const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses a duration written as a number with a unit (`500ms`, `30s`, `10m`, `2h`, `1d`, or combined: `1h30m`) or as a
 * number of milliseconds. Returns milliseconds, or undefined when the text is not a duration.
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(amount) * units[unit as keyof typeof units];
  }
  return Math.round(total);
}

/** Milliseconds as the shortest exact text `parseDuration` reads back: `90000` -> `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = units[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join('');
}

/** A duration field: `30s`, `10m`, `1h30m` or milliseconds; parsed to milliseconds, bounded by `min`..`max` ms. */
export function durationSchema(options: { min?: number; max?: number } = {}) {
  const min = options.min ?? 0;
  const max = options.max ?? 30 * units.d;
  return z
    .union([z.string(), z.number()], { message: 'expected a duration such as 30s, 10m or 1h' })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration such as 500ms, 30s, 10m, 1h or 1d (got ${JSON.stringify(value)})`,
        });
        return z.NEVER;
      }
      if (ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration between ${formatDuration(min)} and ${formatDuration(max)} (got ${formatDuration(ms)})`,
        });
        return z.NEVER;
      }
      return ms;
    });
}
