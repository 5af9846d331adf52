/**
 * The hidden tests: for each case family, inputs drawn from a seed chosen per grading run and the
 * expected outputs computed here, in the grader's process, in float64 plain JavaScript that
 * shares no code with the kit's library or with anything the learner's kernel can touch.
 *
 * An input or output is JSON: numbers, arrays, objects, and tensors as `{ "__tensor": [shape, values] }`
 * (non-finite values as the strings "NaN", "Infinity", "-Infinity").
 */
import { Rng } from '../../lib/random.js';

/** A dense float64 array with a shape. */
export interface Nd {
  shape: number[];
  data: number[];
}

export type Value = number | string | boolean | null | Nd | Value[] | { [k: string]: Value };

export interface Case {
  /** What the case tests, shown in the report when it fails. */
  label: string;
  /** Arguments, in order. */
  args: Value[];
  expected: Value;
  atol: number;
  rtol: number;
}

export type Family = (rng: Rng) => Case[];

// ---- small float64 helpers ----------------------------------------------------------------
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export const nd = (shape: number[], data: number[]): Nd => {
  if (size(shape) !== data.length) throw new Error(`nd: shape [${shape}] needs ${size(shape)} values, got ${data.length}`);
  return { shape, data };
};
export const isNd = (v: unknown): v is Nd => typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as Nd).shape) && Array.isArray((v as Nd).data);
const randn = (rng: Rng, shape: number[], scale = 1): Nd => nd(shape, Array.from({ length: size(shape) }, () => rng.normal() * scale));
const fill = (shape: number[], f: (idx: number[]) => number): Nd => {
  const data: number[] = [];
  const idx = shape.map(() => 0);
  for (let i = 0; i < size(shape); i++) {
    let r = i;
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a] = r % shape[a]!;
      r = Math.floor(r / shape[a]!);
    }
    data.push(f(idx));
  }
  return nd(shape, data);
};
const at = (x: Nd, idx: number[]): number => {
  let off = 0;
  for (let a = 0; a < x.shape.length; a++) off = off * x.shape[a]! + idx[a]!;
  return x.data[off]!;
};
/** Batched matmul over leading axes: [..., m, k] × [..., k, n] (transposeB: [..., n, k]). */
function matmul(a: Nd, b: Nd, transposeB = false): Nd {
  const r = a.shape.length;
  const m = a.shape[r - 2]!;
  const k = a.shape[r - 1]!;
  const n = transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  const lead = a.shape.slice(0, r - 2);
  const bLead = b.shape.length > 2;
  return fill([...lead, m, n], (idx) => {
    const l = idx.slice(0, r - 2);
    const i = idx[r - 2]!;
    const j = idx[r - 1]!;
    let s = 0;
    for (let t = 0; t < k; t++) s += at(a, [...l, i, t]) * at(b, bLead ? (transposeB ? [...l, j, t] : [...l, t, j]) : transposeB ? [j, t] : [t, j]);
    return s;
  });
}
/** Softmax over the last axis; `keep` (same size, 1 keep / 0 drop) gives masked rows; all-masked rows → 0. */
function softmaxLast(x: Nd, keep?: (idx: number[]) => boolean): Nd {
  const n = x.shape[x.shape.length - 1]!;
  const out: number[] = [];
  for (let row = 0; row < x.data.length / n; row++) {
    const vals = x.data.slice(row * n, row * n + n);
    const kept = vals.map((_, j) => (keep ? keep(unflat(x.shape, row * n + j)) : true));
    const mx = Math.max(...vals.filter((_, j) => kept[j]));
    const ex = vals.map((v, j) => (kept[j] ? Math.exp(v - mx) : 0));
    const sum = ex.reduce((a, b) => a + b, 0);
    out.push(...ex.map((e) => (sum > 0 ? e / sum : 0)));
  }
  return nd(x.shape.slice(), out);
}
function unflat(shape: readonly number[], i: number): number[] {
  const idx = shape.map(() => 0);
  for (let a = shape.length - 1; a >= 0; a--) {
    idx[a] = i % shape[a]!;
    i = Math.floor(i / shape[a]!);
  }
  return idx;
}
const scale = (x: Nd, s: number): Nd => nd(x.shape.slice(), x.data.map((v) => v * s));
const mask01 = (shape: number[], f: (i: number, j: number) => boolean): Nd => fill(shape, (idx) => (f(idx[idx.length - 2]!, idx[idx.length - 1]!) ? 1 : 0));
const TOL = { atol: 1e-4, rtol: 1e-3 };

// ---- the families --------------------------------------------------------------------------

/** Lesson 04: softmax over the last axis, numerically stable. */
const softmaxWeights: Family = (rng) => [
  { label: 'scores of shape [7]', args: [randn(rng, [7], 2)], expected: 0, ...TOL },
  { label: 'scores of shape [3, 6] (softmax along the last axis)', args: [randn(rng, [3, 6], 3)], expected: 0, ...TOL },
  { label: 'large scores [1000, 1001, 1002, 999] (needs the max-subtraction trick)', args: [nd([4], [1000, 1001, 1002, 999])], expected: 0, ...TOL },
].map((c): Case => ({ ...c, expected: softmaxLast(c.args[0] as Nd) }));

/** Lesson 04: one query against every key, weights, weighted sum of values. */
const attendOne: Family = (rng) =>
  [
    [5, 4, 3],
    [9, 8, 6],
    [1, 3, 2],
  ].map(([n, d, dv]) => {
    const q = randn(rng, [d!]);
    const k = randn(rng, [n!, d!]);
    const v = randn(rng, [n!, dv!]);
    const w = softmaxLast(matmul(nd([1, d!], q.data), k, true));
    const out = matmul(w, v);
    return { label: `query [${d}], keys [${n}, ${d}], values [${n}, ${dv}]`, args: [q, k, v], expected: nd([dv!], out.data), ...TOL };
  });

/** Lesson 08: masked softmax; 1 = keep, 0 = masked; a fully masked row gives zeros. */
const maskedSoftmax: Family = (rng) => {
  const cases: Case[] = [];
  const s1 = randn(rng, [3, 5], 2);
  const m1 = mask01([3, 5], (i, j) => (i * 5 + j) % 3 !== 1);
  cases.push({ label: 'scores [3, 5] with a patterned mask', args: [s1, m1], expected: softmaxLast(s1, (idx) => at(m1, idx) === 1), ...TOL });
  const s2 = randn(rng, [2, 4, 4], 3);
  const m2 = mask01([4, 4], (i, j) => j <= i);
  cases.push({ label: 'batched scores [2, 4, 4] with a causal mask [4, 4] (broadcast)', args: [s2, m2], expected: softmaxLast(s2, (idx) => at(m2, idx.slice(1)) === 1), ...TOL });
  const s3 = randn(rng, [3, 4], 2);
  const m3 = mask01([3, 4], (i, j) => i !== 1 && j !== 3);
  cases.push({ label: 'a fully masked row must give zeros, not NaN', args: [s3, m3], expected: softmaxLast(s3, (idx) => at(m3, idx) === 1), ...TOL });
  const s4 = nd([2, 3], [500, 501, 502, -400, -401, -399]);
  const m4 = mask01([2, 3], (_i, j) => j !== 2);
  cases.push({ label: 'large scores (needs the max-subtraction trick)', args: [s4, m4], expected: softmaxLast(s4, (idx) => at(m4, idx) === 1), ...TOL });
  return cases;
};

function sdpaReference(q: Nd, k: Nd, v: Nd, mask?: Nd): Nd {
  const dk = q.shape[q.shape.length - 1]!;
  const scores = scale(matmul(q, k, true), 1 / Math.sqrt(dk));
  const w = softmaxLast(scores, mask ? (idx) => at(mask, idx.slice(idx.length - 2)) === 1 : undefined);
  return matmul(w, v);
}

/** Lesson 08: softmax(Q Kᵀ / √d_k) V with an optional mask (no fully masked rows here). */
const scaledDotProductAttention: Family = (rng) => {
  const q1 = randn(rng, [4, 16]);
  const k1 = randn(rng, [6, 16]);
  const v1 = randn(rng, [6, 3]);
  const q2 = randn(rng, [2, 5, 8]);
  const k2 = randn(rng, [2, 5, 8]);
  const v2 = randn(rng, [2, 5, 4]);
  const m2 = mask01([5, 5], (i, j) => j <= i);
  const q3 = randn(rng, [3, 64], 1);
  const k3 = randn(rng, [7, 64], 1);
  const v3 = randn(rng, [7, 2]);
  return [
    { label: 'q [4, 16], k [6, 16], v [6, 3], no mask', args: [q1, k1, v1], expected: sdpaReference(q1, k1, v1), ...TOL },
    { label: 'batched q, k [2, 5, 8], v [2, 5, 4] with a causal mask [5, 5]', args: [q2, k2, v2, m2], expected: sdpaReference(q2, k2, v2, m2), ...TOL },
    { label: 'd_k = 64 (the 1/√d_k scale matters here)', args: [q3, k3, v3], expected: sdpaReference(q3, k3, v3), ...TOL },
  ];
};

function splitHeadsRef(x: Nd, h: number): Nd {
  const [b, n, d] = x.shape as [number, number, number];
  const dh = d / h;
  return fill([b, h, n, dh], ([bi, hi, ni, j]) => at(x, [bi!, ni!, hi! * dh + j!]));
}
function mergeHeadsRef(x: Nd): Nd {
  const [b, h, n, dh] = x.shape as [number, number, number, number];
  return fill([b, n, h * dh], ([bi, ni, c]) => at(x, [bi!, Math.floor(c! / dh), ni!, c! % dh]));
}

/** Lesson 09: [b, n, d] → [b, h, n, d/h], head i owning features i·d/h … (i+1)·d/h − 1. */
const splitHeads: Family = (rng) =>
  [
    [2, 3, 8, 2],
    [1, 5, 12, 3],
    [3, 2, 6, 6],
  ].map(([b, n, d, h]) => {
    const x = randn(rng, [b!, n!, d!]);
    return { label: `x [${b}, ${n}, ${d}] into ${h} heads`, args: [x, h!], expected: splitHeadsRef(x, h!), ...TOL };
  });

/** Lesson 09: the inverse, [b, h, n, dh] → [b, n, h·dh]. */
const mergeHeads: Family = (rng) =>
  [
    [2, 2, 3, 4],
    [1, 3, 5, 4],
    [2, 4, 2, 1],
  ].map(([b, h, n, dh]) => {
    const x = randn(rng, [b!, h!, n!, dh!]);
    return { label: `x [${b}, ${h}, ${n}, ${dh}]`, args: [x], expected: mergeHeadsRef(x), ...TOL };
  });

/** Lesson 10: mask[i][j] = 1 when key j is not in query i's future (j ≤ i). */
const causalMask: Family = () =>
  [1, 4, 7].map((n) => ({ label: `n = ${n}`, args: [n], expected: mask01([n, n], (i, j) => j <= i), atol: 1e-6, rtol: 0 }));

/** Lesson 11: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)) (Vaswani et al. 2017). */
const sinusoidalPositions: Family = () =>
  [
    [4, 6],
    [10, 16],
    [50, 8],
  ].map(([n, d]) => ({
    label: `n = ${n}, d = ${d}`,
    args: [n!, d!],
    expected: fill([n!, d!], ([p, c]) => {
      const i = Math.floor(c! / 2);
      const angle = p! / Math.pow(10000, (2 * i) / d!);
      return c! % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }),
    atol: 2e-4,
    rtol: 1e-3,
  }));

function ropeRef(x: Nd, offset: number): Nd {
  const r = x.shape.length;
  const d = x.shape[r - 1]!;
  return fill(x.shape.slice(), (idx) => {
    const p = idx[r - 2]! + offset;
    const c = idx[r - 1]!;
    const i = Math.floor(c / 2);
    const theta = p * Math.pow(10000, (-2 * i) / d);
    const even = at(x, [...idx.slice(0, r - 1), 2 * i]);
    const odd = at(x, [...idx.slice(0, r - 1), 2 * i + 1]);
    return c % 2 === 0 ? even * Math.cos(theta) - odd * Math.sin(theta) : even * Math.sin(theta) + odd * Math.cos(theta);
  });
}

/** Lesson 11: RoPE (Su et al. 2021) on consecutive pairs, position = offset + row index. */
const applyRope: Family = (rng) => {
  const x1 = randn(rng, [5, 8]);
  const x2 = randn(rng, [2, 3, 4]);
  const x3 = randn(rng, [4, 6]);
  return [
    { label: 'x [5, 8], offset 0', args: [x1, 0], expected: ropeRef(x1, 0), ...TOL },
    { label: 'batched x [2, 3, 4], offset 0', args: [x2, 0], expected: ropeRef(x2, 0), ...TOL },
    { label: 'x [4, 6] at offset 7 (decoding after 7 cached tokens)', args: [x3, 7], expected: ropeRef(x3, 7), ...TOL },
  ];
};

/** Lesson 11: mask[i][j] = 1 when |i − j| ≤ w (Longformer's local window). */
const slidingWindowMask: Family = () =>
  [
    [5, 1],
    [6, 0],
    [7, 2],
    [3, 5],
  ].map(([n, w]) => ({ label: `n = ${n}, w = ${w}`, args: [n!, w!], expected: mask01([n!, n!], (i, j) => Math.abs(i - j) <= w!), atol: 1e-6, rtol: 0 }));

/** Lesson 12: one block of online softmax (Milakov & Gimelshein 2018; the FlashAttention loop). */
const onlineSoftmaxBlock: Family = (rng) => {
  const make = (nq: number, bk: number, dv: number, first: boolean): Case => {
    const m = first ? nd([nq], Array(nq).fill(-Infinity)) : randn(rng, [nq], 1);
    const l = first ? nd([nq], Array(nq).fill(0)) : nd([nq], Array.from({ length: nq }, () => 0.5 + 3 * rng.float()));
    const acc = first ? nd([nq, dv], Array(nq * dv).fill(0)) : randn(rng, [nq, dv]);
    const s = randn(rng, [nq, bk], 2);
    const v = randn(rng, [bk, dv]);
    const mNew = m.data.map((mi, i) => Math.max(mi, ...s.data.slice(i * bk, i * bk + bk)));
    const p = fill([nq, bk], ([i, j]) => Math.exp(at(s, [i!, j!]) - mNew[i!]!));
    const alpha = m.data.map((mi, i) => (mi === -Infinity ? 0 : Math.exp(mi - mNew[i]!)));
    const lNew = l.data.map((li, i) => li * alpha[i]! + p.data.slice(i * bk, i * bk + bk).reduce((a, b) => a + b, 0));
    const pv = matmul(p, v);
    const accNew = fill([nq, dv], ([i, j]) => at(acc, [i!, j!]) * alpha[i!]! + at(pv, [i!, j!]));
    return {
      label: `${first ? 'first block (m = −∞, l = 0, acc = 0)' : 'a later block'}: ${nq} queries, block of ${bk} keys, d_v = ${dv}`,
      args: [{ m, l, acc }, s, v],
      expected: { m: nd([nq], mNew), l: nd([nq], lNew), acc: accNew },
      ...TOL,
    };
  };
  return [make(3, 4, 2, true), make(2, 5, 3, false), make(4, 2, 2, false)];
};

/** Lesson 12: one decoding step with a KV cache: append the new key/value, attend over all. */
const kvCacheStep: Family = (rng) =>
  [
    [0, 4, 3],
    [3, 4, 2],
    [6, 8, 5],
  ].map(([t, dk, dv]) => {
    const keys = randn(rng, [t!, dk!]);
    const values = randn(rng, [t!, dv!]);
    const q = randn(rng, [1, dk!]);
    const k = randn(rng, [1, dk!]);
    const v = randn(rng, [1, dv!]);
    const allK = nd([t! + 1, dk!], [...keys.data, ...k.data]);
    const allV = nd([t! + 1, dv!], [...values.data, ...v.data]);
    return {
      label: `cache of ${t} steps, d_k = ${dk}, d_v = ${dv}`,
      args: [{ keys, values }, q, k, v],
      expected: { cache: { keys: allK, values: allV }, output: sdpaReference(q, allK, allV) },
      ...TOL,
    };
  });

/** Lesson 13: additive (Bahdanau 2014) scores vᵀ tanh(W_q q_i + W_k k_j). */
const additiveScores: Family = (rng) =>
  [
    [3, 4, 5, 6, 8],
    [1, 6, 3, 3, 4],
    [4, 2, 2, 7, 5],
  ].map(([nq, nk, dq, dk, h]) => {
    const q = randn(rng, [nq!, dq!]);
    const k = randn(rng, [nk!, dk!]);
    const wq = randn(rng, [dq!, h!], 0.5);
    const wk = randn(rng, [dk!, h!], 0.5);
    const v = randn(rng, [h!]);
    const qh = matmul(q, wq);
    const kh = matmul(k, wk);
    const expected = fill([nq!, nk!], ([i, j]) => {
      let s = 0;
      for (let c = 0; c < h!; c++) s += v.data[c]! * Math.tanh(at(qh, [i!, c]) + at(kh, [j!, c]));
      return s;
    });
    return { label: `queries [${nq}, ${dq}], keys [${nk}, ${dk}], hidden ${h}`, args: [q, k, wq, wk, v], expected, ...TOL };
  });

/** Lesson 14: attention rollout (Abnar & Zuidema 2020) with the residual: Â = ½A + ½I, rows renormalised, R = Â_L ⋯ Â_1. */
const attentionRollout: Family = (rng) =>
  [
    [1, 3],
    [3, 4],
    [5, 5],
  ].map(([layers, n]) => {
    const att = softmaxLast(randn(rng, [layers!, n!, n!], 2));
    let r: Nd | null = null;
    for (let l = 0; l < layers!; l++) {
      const a = fill([n!, n!], ([i, j]) => 0.5 * at(att, [l, i!, j!]) + (i === j ? 0.5 : 0));
      const rows = Array.from({ length: n! }, (_, i) => a.data.slice(i * n!, i * n! + n!).reduce((x, y) => x + y, 0));
      const an = fill([n!, n!], ([i, j]) => at(a, [i!, j!]) / rows[i!]!);
      r = r === null ? an : matmul(an, r);
    }
    return { label: `${layers} layer(s) of [${n}, ${n}] attention`, args: [att], expected: r!, ...TOL };
  });

/** "Find the bug": multi-head self-attention without an output projection. */
const fixedSelfAttention: Family = (rng) =>
  [
    [2, 4, 8, 2, false],
    [3, 5, 12, 3, true],
    [1, 3, 4, 1, true],
  ].map(([b, n, d, h, masked]) => {
    const B = b as number;
    const N = n as number;
    const D = d as number;
    const H = h as number;
    const x = randn(rng, [B, N, D]);
    const wq = randn(rng, [D, D], 1 / Math.sqrt(D));
    const wk = randn(rng, [D, D], 1 / Math.sqrt(D));
    const wv = randn(rng, [D, D], 1 / Math.sqrt(D));
    const mask = masked ? mask01([N, N], (i, j) => j <= i) : undefined;
    const heads = (w: Nd) => splitHeadsRef(matmul(x, w), H);
    const out = mergeHeadsRef(sdpaReference(heads(wq), heads(wk), heads(wv), mask));
    const args: Value[] = [x, wq, wk, wv, H];
    if (mask) args.push(mask);
    return { label: `x [${B}, ${N}, ${D}], ${H} head(s)${mask ? ', causal mask' : ''}`, args, expected: out, ...TOL };
  });

export const FAMILIES: Record<string, Family> = {
  softmaxWeights,
  attendOne,
  maskedSoftmax,
  scaledDotProductAttention,
  splitHeads,
  mergeHeads,
  causalMask,
  sinusoidalPositions,
  applyRope,
  slidingWindowMask,
  onlineSoftmaxBlock,
  kvCacheStep,
  additiveScores,
  attentionRollout,
  fixedSelfAttention,
};

// ---- encoding to and from the kernel ---------------------------------------------------------

const encodeNumber = (v: number): number | string => (Number.isFinite(v) ? v : String(v));

/** JSON-safe form of a value for the kernel: tensors as { __tensor: [shape, values] }. */
export function encodeValue(v: Value): unknown {
  if (isNd(v)) return { __tensor: [v.shape, v.data.map(encodeNumber)] };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (typeof v === 'number') return encodeNumber(v);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeValue(x)]));
  return v;
}

/** Compare what the learner's function returned (decoded JSON) with the expected value. Returns null when it matches, else why not. */
export function compareValue(got: unknown, expected: Value, atol: number, rtol: number, where = 'result'): string | null {
  if (isNd(expected)) {
    const g = asNd(got);
    if (typeof g === 'string') return `${where}: ${g}`;
    const fmt = (s: number[]) => `[${s.join(', ')}]`;
    if (fmt(g.shape) !== fmt(expected.shape)) return `${where}: expected shape ${fmt(expected.shape)}, received ${fmt(g.shape)}`;
    for (let i = 0; i < expected.data.length; i++) {
      const e = expected.data[i]!;
      const x = g.data[i]!;
      if (typeof x !== 'number' || Number.isNaN(x)) return `${where}: element ${i} is ${String(x)}, expected ${e}`;
      if (!(Math.abs(x - e) <= atol + rtol * Math.abs(e)) && !(x === e)) return `${where}: element ${i} is ${x}, expected ${round(e)} (atol ${atol}, rtol ${rtol})`;
    }
    return null;
  }
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    if (!got || typeof got !== 'object' || Array.isArray(got)) return `${where}: expected an object with ${Object.keys(expected).join(', ')}`;
    for (const [k, e] of Object.entries(expected)) {
      if (!(k in (got as object))) return `${where}: missing field '${k}'`;
      const why = compareValue((got as Record<string, unknown>)[k], e, atol, rtol, `${where}.${k}`);
      if (why) return why;
    }
    return null;
  }
  if (typeof expected === 'number') return compareValue(got, nd([], [expected]), atol, rtol, where);
  return JSON.stringify(got) === JSON.stringify(expected) ? null : `${where}: expected ${JSON.stringify(expected)}`;
}

const round = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(6));

/** A decoded kernel value as an Nd: a { __tensor } object, a number, or a rectangular nested array of numbers. */
function asNd(v: unknown): Nd | string {
  const num = (x: unknown): number | null => {
    if (typeof x === 'number') return x;
    if (x === 'NaN' || x === 'Infinity' || x === '-Infinity') return Number(x);
    if (typeof x === 'boolean') return x ? 1 : 0;
    return null;
  };
  if (v && typeof v === 'object' && !Array.isArray(v) && '__tensor' in v) {
    const t = (v as { __tensor: unknown }).__tensor;
    if (!Array.isArray(t) || t.length !== 2 || !Array.isArray(t[0]) || !Array.isArray(t[1])) return 'malformed tensor';
    const shape = t[0] as unknown[];
    if (!shape.every((s) => Number.isInteger(s) && (s as number) >= 0)) return 'malformed tensor shape';
    const data = (t[1] as unknown[]).map(num);
    if (data.some((x) => x === null)) return 'the tensor holds something other than numbers';
    if (size(shape as number[]) !== data.length) return 'tensor shape and values disagree';
    return nd(shape as number[], data as number[]);
  }
  const n = num(v);
  if (n !== null) return nd([], [n]);
  if (Array.isArray(v)) {
    if (v.length === 0) return nd([0], []);
    const parts = v.map(asNd);
    const bad = parts.find((p) => typeof p === 'string');
    if (bad) return bad as string;
    const ps = parts as Nd[];
    const inner = ps[0]!.shape;
    if (!ps.every((p) => p.shape.join() === inner.join())) return 'a ragged array';
    return nd([v.length, ...inner], ps.flatMap((p) => p.data));
  }
  if (v === undefined || v === null) return 'received nothing (undefined or null): did the function return its result?';
  return `expected a tensor, received ${typeof v}`;
}
