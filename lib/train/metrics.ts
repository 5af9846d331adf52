/**
 * Evaluation helpers over plain arrays: exact match (完全匹配率), per-character accuracy and
 * perplexity (困惑度) = exp(mean negative log-likelihood per token).
 */

/** Fraction of predictions equal to their reference string. */
export function exactMatch(predictions: readonly string[], references: readonly string[]): number {
  if (predictions.length !== references.length) throw new Error(`exactMatch: ${predictions.length} predictions vs ${references.length} references`);
  if (predictions.length === 0) return 0;
  return predictions.filter((p, i) => p === references[i]).length / predictions.length;
}

/**
 * Fraction of reference characters predicted correctly at their position; a prediction that is
 * too short counts the missing characters as wrong, extra characters count as wrong too
 * (the denominator is the longer of the two).
 */
export function charAccuracy(predictions: readonly string[], references: readonly string[]): number {
  if (predictions.length !== references.length) throw new Error(`charAccuracy: ${predictions.length} predictions vs ${references.length} references`);
  let right = 0;
  let total = 0;
  predictions.forEach((p, i) => {
    const r = references[i]!;
    const n = Math.max(p.length, r.length);
    total += n;
    for (let j = 0; j < n; j++) if (p[j] !== undefined && p[j] === r[j]) right++;
  });
  return total === 0 ? 0 : right / total;
}

/** exp(mean NLL) from a mean negative log-likelihood in nats. */
export function perplexity(meanNll: number): number {
  return Math.exp(meanNll);
}

/** Nats → bits per token. */
export function natsToBits(nats: number): number {
  return nats / Math.LN2;
}

/** Group (key, correct) pairs into accuracy per key, sorted by key. */
export function accuracyBy<K extends number | string>(keys: readonly K[], correct: readonly boolean[]): { key: K; accuracy: number; count: number }[] {
  const groups = new Map<K, { right: number; count: number }>();
  keys.forEach((k, i) => {
    const g = groups.get(k) ?? { right: 0, count: 0 };
    g.count++;
    if (correct[i]) g.right++;
    groups.set(k, g);
  });
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, g]) => ({ key, accuracy: g.right / g.count, count: g.count }));
}
