/**
 * Character vocabularies (词表): map characters to integer ids and back. Id 0 is always padding,
 * so that a batch of different lengths can be padded with zeros and masked.
 */
export const PAD = '<pad>';
export const BOS = '<s>';
export const EOS = '</s>';
export const UNK = '<unk>';

export class CharVocab {
  readonly tokens: string[];
  private readonly index = new Map<string, number>();
  readonly padId = 0;

  /** `chars`: every character the texts may contain (duplicates are dropped, order kept). */
  constructor(chars: Iterable<string>, options: { specials?: string[] } = {}) {
    const specials = options.specials ?? [PAD, BOS, EOS, UNK];
    if (specials[0] !== PAD) throw new Error(`the first special token must be ${PAD}`);
    this.tokens = [...specials];
    for (const c of chars) if (!this.tokens.includes(c)) this.tokens.push(c);
    this.tokens.forEach((t, i) => this.index.set(t, i));
  }

  /** Build a vocabulary from the characters of some texts (sorted, so it is deterministic). */
  static fromTexts(texts: Iterable<string>, options: { specials?: string[] } = {}): CharVocab {
    const seen = new Set<string>();
    for (const t of texts) for (const c of t) seen.add(c);
    return new CharVocab([...seen].sort(), options);
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    const i = this.index.get(token) ?? this.index.get(UNK);
    if (i === undefined) throw new Error(`character ${JSON.stringify(token)} is not in the vocabulary`);
    return i;
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  get bosId(): number {
    return this.id(BOS);
  }

  get eosId(): number {
    return this.id(EOS);
  }

  /** Text → ids; optionally with <s> first and </s> last. */
  encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids = [...text].map((c) => this.id(c));
    if (options.bos) ids.unshift(this.bosId);
    if (options.eos) ids.push(this.eosId);
    return ids;
  }

  /** Ids → text, dropping padding and special tokens; stops at the first </s>. */
  decode(ids: ArrayLike<number>): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]!];
      if (t === EOS) break;
      if (t === undefined || t === PAD || t === BOS || t === UNK) continue;
      out += t;
    }
    return out;
  }
}

/** Right-pad id lists with 0 to one length (the longest, or `length`), as a flat row-major array. */
export function padBatch(sequences: readonly number[][], length?: number): { ids: Int32Array; length: number } {
  const n = length ?? Math.max(1, ...sequences.map((s) => s.length));
  const ids = new Int32Array(sequences.length * n);
  sequences.forEach((s, b) => {
    if (s.length > n) throw new Error(`sequence ${b} has length ${s.length} > ${n}`);
    ids.set(s, b * n);
  });
  return { ids, length: n };
}
