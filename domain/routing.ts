import type { DeploymentState } from './deployment.js';

/** Which version of a deployment answers a row: the champion, or the challenger under test. */
export type Arm = 'champion' | 'challenger';

export interface RouteDecision {
  readonly arm: Arm;
  /** The challenger also scores this row off the response path (its score is logged, never returned). */
  readonly shadow: boolean;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, finished with murmur3's fmix32 so every bit is mixed. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  const add = (byte: number) => {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) add(c);
    else if (c < 0x800) {
      add(0xc0 | (c >> 6));
      add(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      add(0xe0 | (c >> 12));
      add(0x80 | ((c >> 6) & 0x3f));
      add(0x80 | (c & 0x3f));
    } else {
      add(0xf0 | (c >> 18));
      add(0x80 | ((c >> 12) & 0x3f));
      add(0x80 | ((c >> 6) & 0x3f));
      add(0x80 | (c & 0x3f));
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A sticky caller's place in [0, 1): the hash of `<model>:<challenger version>:<sticky value>` over 2^32. A caller
 * whose bucket is below the challenger's weight gets the challenger, so raising the weight (5 % -> 25 %) keeps every
 * caller already on the challenger there, and a new challenger draws a new sample of callers.
 */
export function stickyBucket(model: string, challenger: number, value: string): number {
  return hash32(`${model}:${challenger}:${value}`) / 0x1_0000_0000;
}

/**
 * Routes one row of a deployment. `draw` is the row's place in [0, 1): a sticky bucket, or a uniform random number.
 * With no champion the challenger answers only by weight (a model with neither serves nothing; the caller checks).
 */
export function route(
  deployment: Pick<DeploymentState, 'champion' | 'challenger' | 'challengerWeight' | 'shadow'>,
  draw: number,
): RouteDecision {
  if (deployment.challenger === null) return { arm: 'champion', shadow: false };
  if (deployment.champion === null || draw < deployment.challengerWeight)
    return { arm: 'challenger', shadow: false };
  return { arm: 'champion', shadow: deployment.shadow };
}
