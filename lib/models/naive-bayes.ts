/**
 * Multinomial naive Bayes (朴素贝叶斯) text classifier, the classic spam filter (Sahami et al.
 * 1998; Graham, "A plan for spam", 2002):
 *
 *   log p(c | doc) ∝ log p(c) + Σ_w count(w, doc) · log p(w | c),
 *   p(w | c) = (count(w, c) + α) / (Σ_w' count(w', c) + α |V|)   (Laplace / add-α smoothing).
 *
 * "Naive" because words are treated as independent given the class.
 */
export class NaiveBayes {
  private readonly classes: string[] = [];
  private readonly logPrior = new Map<string, number>();
  private readonly logLikelihood = new Map<string, Map<string, number>>();
  private readonly logUnseen = new Map<string, number>();
  readonly vocabulary = new Set<string>();

  constructor(readonly alpha = 1) {}

  fit(documents: readonly string[][], labels: readonly string[]): this {
    if (documents.length !== labels.length || documents.length === 0) throw new Error(`NaiveBayes.fit: ${documents.length} documents vs ${labels.length} labels`);
    const docCount = new Map<string, number>();
    const wordCount = new Map<string, Map<string, number>>();
    documents.forEach((doc, i) => {
      const c = labels[i]!;
      docCount.set(c, (docCount.get(c) ?? 0) + 1);
      const counts = wordCount.get(c) ?? new Map<string, number>();
      for (const w of doc) {
        counts.set(w, (counts.get(w) ?? 0) + 1);
        this.vocabulary.add(w);
      }
      wordCount.set(c, counts);
    });
    const v = this.vocabulary.size;
    for (const [c, n] of docCount) {
      this.classes.push(c);
      this.logPrior.set(c, Math.log(n / documents.length));
      const counts = wordCount.get(c)!;
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const denom = Math.log(total + this.alpha * v);
      const ll = new Map<string, number>();
      for (const w of this.vocabulary) ll.set(w, Math.log((counts.get(w) ?? 0) + this.alpha) - denom);
      this.logLikelihood.set(c, ll);
      this.logUnseen.set(c, Math.log(this.alpha) - denom);
    }
    this.classes.sort();
    return this;
  }

  /** Unnormalised log p(c | doc) per class; words never seen in training are skipped. */
  scores(document: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.classes) {
      const ll = this.logLikelihood.get(c)!;
      out[c] = document.reduce((s, w) => (this.vocabulary.has(w) ? s + ll.get(w)! : s), this.logPrior.get(c)!);
    }
    return out;
  }

  predict(document: readonly string[]): string {
    const s = this.scores(document);
    return this.classes.reduce((best, c) => (s[c]! > s[best]! ? c : best), this.classes[0]!);
  }

  /** The words whose log p(w|a) − log p(w|b) is largest: the strongest evidence for class a over b. */
  topWords(a: string, b: string, k = 10): { word: string; logRatio: number }[] {
    const la = this.logLikelihood.get(a);
    const lb = this.logLikelihood.get(b);
    if (!la || !lb) throw new Error(`NaiveBayes.topWords: unknown class ${la ? b : a}`);
    return [...this.vocabulary]
      .map((word) => ({ word, logRatio: la.get(word)! - lb.get(word)! }))
      .sort((x, y) => y.logRatio - x.logRatio || (x.word < y.word ? -1 : 1))
      .slice(0, k);
  }
}
