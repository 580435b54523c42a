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
    // Two outputs per iteration halve the loop overhead, which plain JS loops pay in full.
    let k = 0;
    for (; k + 1 < h; k += 2) {
      out[o + k] = out[o + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]! + v2 * w[r2 + k]! + v3 * w[r3 + k]!;
      out[o + k + 1] =
        out[o + k + 1]! +
        v0 * w[r0 + k + 1]! +
        v1 * w[r1 + k + 1]! +
        v2 * w[r2 + k + 1]! +
        v3 * w[r3 + k + 1]!;
    }
    if (k < h) {
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
    let k = 0;
    for (; k + 1 < h; k += 2) {
      const dk = d[dOff + k]!;
      const dl = d[dOff + k + 1]!;
      g[r0 + k] = g[r0 + k]! + v0 * dk;
      g[r0 + k + 1] = g[r0 + k + 1]! + v0 * dl;
      g[r1 + k] = g[r1 + k]! + v1 * dk;
      g[r1 + k + 1] = g[r1 + k + 1]! + v1 * dl;
      g[r2 + k] = g[r2 + k]! + v2 * dk;
      g[r2 + k + 1] = g[r2 + k + 1]! + v2 * dl;
      g[r3 + k] = g[r3 + k]! + v3 * dk;
      g[r3 + k + 1] = g[r3 + k + 1]! + v3 * dl;
    }
    if (k < h) {
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

/** out[k] = w[bBase + k] + sum over e in [from, to) of val[e] * w[wBase + idx[e] * h + k]: one affine layer. */
export function affineRow(
  out: Float64Array,
  h: number,
  w: Float64Array,
  bBase: number,
  wBase: number,
  idx: Int32Array,
  val: Float64Array,
  from: number,
  to: number,
): void {
  // The bias is written in the same pass as the first entries, to save a pass over `out`.
  let e = from;
  if (to - from >= 4) {
    const v0 = val[e]!,
      v1 = val[e + 1]!,
      v2 = val[e + 2]!,
      v3 = val[e + 3]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h,
      r2 = wBase + idx[e + 2]! * h,
      r3 = wBase + idx[e + 3]! * h;
    let k = 0;
    for (; k + 1 < h; k += 2) {
      out[k] = w[bBase + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]! + v2 * w[r2 + k]! + v3 * w[r3 + k]!;
      out[k + 1] =
        w[bBase + k + 1]! +
        v0 * w[r0 + k + 1]! +
        v1 * w[r1 + k + 1]! +
        v2 * w[r2 + k + 1]! +
        v3 * w[r3 + k + 1]!;
    }
    if (k < h) out[k] = w[bBase + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]! + v2 * w[r2 + k]! + v3 * w[r3 + k]!;
    e += 4;
  } else if (to - from >= 2) {
    const v0 = val[e]!,
      v1 = val[e + 1]!;
    const r0 = wBase + idx[e]! * h,
      r1 = wBase + idx[e + 1]! * h;
    for (let k = 0; k < h; k++) out[k] = w[bBase + k]! + v0 * w[r0 + k]! + v1 * w[r1 + k]!;
    e += 2;
  } else {
    for (let k = 0; k < h; k++) out[k] = w[bBase + k]!;
  }
  gatherAxpy(out, 0, h, w, wBase, idx, val, e, to);
}
