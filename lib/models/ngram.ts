/**
 * Character n-gram language model (n 元语法) with add-k smoothing (Chen & Goodman 1999 survey
 * the smoothing family):
 *
 *   p(c | previous n−1 chars) = (count(context + c) + k) / (count(context) + k·|V|).
 *
 * n = 1 is the unigram baseline (character frequencies), n = 2 the bigram baseline: the numbers a
 * neural language model has to beat.
 */
export class NGramLM {
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly totals = new Map<string, number>();
  readonly vocabulary: string[];

  constructor(
    readonly order: number,
    text: string,
    readonly k = 0.1,
    vocabulary?: readonly string[],
  ) {
    if (!Number.isInteger(order) || order < 1) throw new Error(`NGramLM: order must be a positive integer, got ${order}`);
    this.vocabulary = vocabulary ? [...vocabulary] : [...new Set(text)].sort();
    const chars = [...text];
    for (let i = 0; i < chars.length; i++) {
      const context = chars.slice(Math.max(0, i - order + 1), i).join('');
      if (context.length < order - 1) continue;
      const next = chars[i]!;
      const row = this.counts.get(context) ?? new Map<string, number>();
      row.set(next, (row.get(next) ?? 0) + 1);
      this.counts.set(context, row);
      this.totals.set(context, (this.totals.get(context) ?? 0) + 1);
    }
  }

  /** p(next | the last n−1 characters of `history`). */
  prob(next: string, history: string): number {
    const context = this.order === 1 ? '' : history.slice(-(this.order - 1));
    const count = this.counts.get(context)?.get(next) ?? 0;
    const total = this.totals.get(context) ?? 0;
    return (count + this.k) / (total + this.k * this.vocabulary.length);
  }

  /** Mean negative log-likelihood in nats per character over `text` (the first n−1 chars are context only). */
  crossEntropy(text: string): number {
    const chars = [...text];
    let nll = 0;
    let n = 0;
    for (let i = this.order - 1; i < chars.length; i++) {
      nll -= Math.log(this.prob(chars[i]!, chars.slice(i - this.order + 1, i).join('')));
      n++;
    }
    return nll / Math.max(1, n);
  }
}
