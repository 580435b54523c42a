import { randomFillSync } from 'node:crypto';

const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const pool = Buffer.alloc(4096);
let used = pool.length;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Every scored row gets one; the time in it
 * tells a feedback label that arrives before the row is logged whether it can still be waited for.
 */
export function newRequestId(nowMs: number = Date.now()): string {
  if (used + 10 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const r = used;
  used += 10;
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 6; i++) {
    time = hex[t % 256]! + time;
    t = Math.floor(t / 256);
  }
  return (
    `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex[pool[r]! & 0x0f]!.slice(1)}${hex[pool[r + 1]!]!}-` +
    `${hex[(pool[r + 2]! & 0x3f) | 0x80]!}${hex[pool[r + 3]!]!}-` +
    `${hex[pool[r + 4]!]!}${hex[pool[r + 5]!]!}${hex[pool[r + 6]!]!}${hex[pool[r + 7]!]!}${hex[pool[r + 8]!]!}${hex[pool[r + 9]!]!}`
  );
}

const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds in a request id the gateway issued, or undefined for anything else. */
export function requestIdTime(id: string): number | undefined {
  if (!uuidV7.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
