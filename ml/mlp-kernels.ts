// Inner loops of the MLP: sparse-times-dense row products over a flat weight vector. Plain JS has no SIMD, so what
// matters is the number of loads and stores per multiply-add: these kernels take four inputs per pass over a
// weight block, so each output element is loaded and stored once per four multiply-adds instead of once per one.

/** out[o + k] += sum over e in [from, to) of val[e] * w[wBase + idx[e] * h + k], for k < h. */
export function gatherAxpy(
  out: Float64Array,
  o: number,
  h: number,
  w: Float64Array,
  wBase: number,
  idx: Int32Array,
  val: Float64Array,
  from: number,
  to: number,
): void {
  let e = from;
  for (; e + 4 <= to; e += 4) {
    const v0 = val[e]!,
      v1 = val[e + 1]!,
      v2 = val[e + 2]!,
      v3 = val[e + 3]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h,
      r2 = wBase + idx[e + 2]! * h,
      r3 = wBase + idx[e + 3]! * h;
    for (let k = 0; k < h; k++) {
      out[o + k] = out[o + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]! + v2 * w[r2 + k]! + v3 * w[r3 + k]!;
    }
  }
  if (e + 2 <= to) {
    const v0 = val[e]!,
      v1 = val[e + 1]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h;
    for (let k = 0; k < h; k++) out[o + k] = out[o + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]!;
    e += 2;
  }
  if (e < to) {
    const v = val[e]!;
    const r = wBase + idx[e]! * h;
    for (let k = 0; k < h; k++) out[o + k] = out[o + k]! + v * w[r + k]!;
  }
}

/** g[wBase + idx[e] * h + k] += val[e] * d[dOff + k]: the weight gradient of one row's outer product. */
export function scatterOuter(
  g: Float64Array,
  wBase: number,
  h: number,
  d: Float64Array,
  dOff: number,
  idx: Int32Array,
  val: Float64Array,
  from: number,
  to: number,
): void {
  let e = from;
  for (; e + 4 <= to; e += 4) {
    const v0 = val[e]!,
      v1 = val[e + 1]!,
      v2 = val[e + 2]!,
      v3 = val[e + 3]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h,
      r2 = wBase + idx[e + 2]! * h,
      r3 = wBase + idx[e + 3]! * h;
    for (let k = 0; k < h; k++) {
      const dk = d[dOff + k]!;
      g[r0 + k] = g[r0 + k]! + v0 * dk;
      g[r1 + k] = g[r1 + k]! + v1 * dk;
      g[r2 + k] = g[r2 + k]! + v2 * dk;
      g[r3 + k] = g[r3 + k]! + v3 * dk;
    }
  }
  if (e + 2 <= to) {
    const v0 = val[e]!,
      v1 = val[e + 1]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h;
    for (let k = 0; k < h; k++) {
      const dk = d[dOff + k]!;
      g[r0 + k] = g[r0 + k]! + v0 * dk;
      g[r1 + k] = g[r1 + k]! + v1 * dk;
    }
    e += 2;
  }
  if (e < to) {
    const v = val[e]!;
    const r = wBase + idx[e]! * h;
    for (let k = 0; k < h; k++) g[r + k] = g[r + k]! + v * d[dOff + k]!;
  }
}

/** scatterOuter for entries [0, n), also writing back[e] = sum_k d[dOff + k] * w[wBase + idx[e] * h + k]. */
export function scatterOuterBack(
  g: Float64Array,
  w: Float64Array,
  wBase: number,
  h: number,
  d: Float64Array,
  dOff: number,
  idx: Int32Array,
  val: Float64Array,
  n: number,
  back: Float64Array,
): void {
  for (let e = 0; e < n; e++) {
    const v = val[e]!;
    const r = wBase + idx[e]! * h;
    let sum = 0;
    for (let k = 0; k < h; k++) {
      const dk = d[dOff + k]!;
      g[r + k] = g[r + k]! + v * dk;
      sum += dk * w[r + k]!;
    }
    back[e] = sum;
  }
}
