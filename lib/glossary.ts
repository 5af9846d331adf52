/**
 * The bilingual glossary: every term of the handout's concept lists (基础概念, 高级概念, 其他概念 in
 * "本节内容出现的概念和定义") plus the terms the course adds, each with its English and Chinese
 * name, a one-line definition of our own and the lessons that teach it (numbers as in the course
 * map). Rendered by `attention-kit site` (glossary.html) and by notebooks/glossary.ipynb.
 */

/** Which list a term comes from: the handout's three, or terms the course adds. */
export type GlossaryList = 'basic' | 'advanced' | 'other' | 'course';

export interface GlossaryTerm {
  /** English name as the lessons use it. */
  en: string;
  /** Chinese name (简体), as the handout writes it where it has one. */
  zh: string;
  /** Abbreviation, if the field uses one (RNN, NLP, …). */
  abbr?: string;
  /** One line, our own words. */
  definition: string;
  /** Lessons that teach it (numbers of notebooks/NN-*.ipynb). */
  lessons: number[];
  list: GlossaryList;
}

export const GLOSSARY_LISTS: Record<GlossaryList, { en: string; zh: string }> = {
  basic: { en: 'Basic concepts', zh: '基础概念' },
  advanced: { en: 'Advanced concepts', zh: '高级概念' },
  other: { en: 'Other concepts', zh: '其他概念' },
  course: { en: 'Added by this course', zh: '本课程补充' },
};

export const GLOSSARY: readonly GlossaryTerm[] = [
  // 基础概念 (basic concepts)
  { list: 'basic', en: 'Artificial intelligence', zh: '人工智能', abbr: 'AI', lessons: [1, 2],
    definition: 'Building machines that carry out tasks we call intelligent when people do them: learning, reasoning, solving problems.' },
  { list: 'basic', en: 'Natural language processing', zh: '自然语言处理', abbr: 'NLP', lessons: [4, 13],
    definition: 'Programs that read, understand or produce human language: translation, summaries, question answering.' },
  { list: 'basic', en: 'Recurrent neural network', zh: '循环神经网络', abbr: 'RNN', lessons: [5, 6],
    definition: 'A network that reads a sequence one step at a time and carries a hidden state from each step to the next.' },
  { list: 'basic', en: 'Attention mechanism', zh: '注意力机制', lessons: [4, 7, 8],
    definition: 'Computing an output as a weighted mix of inputs, where the weights come from how well each input matches a query.' },
  { list: 'basic', en: 'Encoder-decoder', zh: '编码器-解码器', lessons: [6, 7],
    definition: 'A two-part model: the encoder turns the input sequence into vectors, the decoder generates the output sequence from them.' },
  { list: 'basic', en: 'Context vector', zh: '上下文向量', lessons: [6, 7],
    definition: 'The summary of the input the decoder reads: one fixed vector without attention, a fresh weighted sum per output step with it.' },
  { list: 'basic', en: 'Attention weights', zh: '注意力权重', lessons: [4, 8, 14],
    definition: 'The softmax of the scores: one non-negative number per input position, summing to 1, saying how much that position contributes.' },
  { list: 'basic', en: 'Alignment function', zh: '对齐函数', lessons: [7, 8],
    definition: 'The function that scores a query against a key: dot product, scaled dot product, bilinear ("general") or additive.' },
  { list: 'basic', en: 'Softmax function', zh: 'Softmax 函数', lessons: [4, 8],
    definition: 'softmax(s)_j = exp(s_j) / Σ_k exp(s_k): turns any vector of scores into positive weights that sum to 1.' },
  { list: 'basic', en: 'Query', zh: '查询', abbr: 'Q', lessons: [4, 8],
    definition: 'The vector that asks the question: in a seq2seq model the decoder state, in self-attention a projection of each token.' },
  { list: 'basic', en: 'Key', zh: '键', abbr: 'K', lessons: [4, 8],
    definition: 'The vector each input position offers to be matched against the query; query-key scores decide the weights.' },
  { list: 'basic', en: 'Value', zh: '值', abbr: 'V', lessons: [4, 8],
    definition: 'The vector each input position contributes to the output, mixed with the attention weights.' },

  // 高级概念 (advanced concepts)
  { list: 'advanced', en: 'Self-attention', zh: '自注意力', lessons: [9, 10],
    definition: 'Attention in which queries, keys and values all come from the same sequence, so every token looks at every other token.' },
  { list: 'advanced', en: 'Multi-head attention', zh: '多头注意力', lessons: [9, 10],
    definition: 'Several attentions run in parallel on smaller projections of Q, K and V, their outputs concatenated and projected back.' },
  { list: 'advanced', en: 'Sparse attention', zh: '稀疏注意力', lessons: [11],
    definition: 'Each query attends to a chosen subset of keys (strided, fixed blocks, global + window + random) instead of all of them.' },
  { list: 'advanced', en: 'Local attention', zh: '局部注意力', lessons: [11],
    definition: 'Each query attends only to keys in a window around its own position, making the cost linear in sequence length.' },
  { list: 'advanced', en: 'Relative position encoding', zh: '相对位置编码', lessons: [11],
    definition: 'Position information that depends on the distance between query and key (Shaw et al., T5 buckets, ALiBi, RoPE), not on absolute positions.' },
  { list: 'advanced', en: 'Transformer', zh: 'Transformer（变换器）', lessons: [10],
    definition: 'The 2017 architecture built from self-attention and feed-forward blocks with residual connections, no recurrence at all.' },
  { list: 'advanced', en: 'State of the art', zh: '最先进水平', abbr: 'SOTA', lessons: [3, 10],
    definition: 'The best published result on a benchmark at a given time; a moving target, not a property of a method.' },

  // 其他概念 (other concepts)
  { list: 'other', en: 'Residual network', zh: '残差网络', abbr: 'ResNet', lessons: [5, 10],
    definition: 'A deep network whose blocks add their input to their output (x + f(x)), giving gradients a short path back through many layers.' },
  { list: 'other', en: 'Long short-term memory', zh: '长短期记忆网络', abbr: 'LSTM', lessons: [5, 6],
    definition: 'An RNN cell with input, forget and output gates and an additive cell state, which keeps gradients alive over long spans.' },
  { list: 'other', en: 'Deep learning', zh: '深度学习', lessons: [1, 3],
    definition: 'Machine learning with many-layered neural networks that learn their own features from raw data.' },
  { list: 'other', en: 'Machine learning', zh: '机器学习', lessons: [1, 3],
    definition: 'Programs that improve at a task from data (examples) rather than from hand-written rules.' },
  { list: 'other', en: 'Vanishing gradients', zh: '梯度消失', lessons: [5],
    definition: 'Gradients that shrink geometrically as they flow back through many steps or layers, so early inputs barely affect learning.' },
  { list: 'other', en: 'Exploding gradients', zh: '梯度爆炸', lessons: [5],
    definition: 'Gradients that grow geometrically as they flow back, making training unstable unless they are clipped.' },

  // Terms the lessons rely on beyond the handout's lists
  { list: 'course', en: 'Perceptron', zh: '感知机', lessons: [1],
    definition: 'Rosenblatt\'s 1958 single-layer linear classifier with a step output; it learns AND and OR but can never learn XOR.' },
  { list: 'course', en: 'Backpropagation', zh: '反向传播', lessons: [1, 5],
    definition: 'Computing the gradient of the loss for every weight by applying the chain rule backwards through the network.' },
  { list: 'course', en: 'Soft attention', zh: '软注意力', lessons: [9],
    definition: 'Attention with a full softmax distribution over positions; differentiable, so it trains with ordinary backpropagation.' },
  { list: 'course', en: 'Hard attention', zh: '硬注意力', lessons: [9],
    definition: 'Attention that picks one position (argmax or a sample); not differentiable, trained with REINFORCE or a straight-through estimator.' },
  { list: 'course', en: 'Cross-attention', zh: '交叉注意力', lessons: [9, 13],
    definition: 'Attention whose queries come from one sequence (the decoder) and keys and values from another (the encoder output).' },
  { list: 'course', en: 'Additive attention', zh: '加性注意力', lessons: [7, 8],
    definition: 'Bahdanau\'s score vᵀ tanh(W₁q + W₂k): a small feed-forward network compares query and key.' },
  { list: 'course', en: 'Scaled dot-product attention', zh: '缩放点积注意力', lessons: [8, 10],
    definition: 'softmax(QKᵀ / √d_k) V: dot-product scores divided by √d_k so that softmax does not saturate as dimensions grow.' },
  { list: 'course', en: 'Causal mask', zh: '因果掩码', lessons: [8, 10],
    definition: 'A mask that hides future positions (scores set to −∞ before softmax) so a decoder cannot read tokens it must predict.' },
  { list: 'course', en: 'Positional encoding', zh: '位置编码', lessons: [10, 11],
    definition: 'Vectors added to (or rotations applied to) token embeddings so that attention, which ignores order, can tell positions apart.' },
  { list: 'course', en: 'KV cache', zh: '键值缓存', lessons: [10, 12],
    definition: 'Keys and values of already generated tokens kept between decoding steps, so each new token costs one row of attention.' },
  { list: 'course', en: 'Linear attention', zh: '线性注意力', lessons: [12],
    definition: 'Replacing softmax(QKᵀ) by a kernel feature map φ(Q)φ(K)ᵀ so attention can be computed in time linear in length.' },
  { list: 'course', en: 'Grouped-query attention', zh: '分组查询注意力', abbr: 'GQA', lessons: [12],
    definition: 'Several query heads share one key/value head (one shared head in multi-query attention), shrinking the KV cache.' },
  { list: 'course', en: 'Online softmax (tiled attention)', zh: '在线 softmax（分块注意力）', lessons: [12],
    definition: 'Computing attention block by block with a running maximum and sum, never storing the full score matrix (the FlashAttention idea).' },
  { list: 'course', en: 'Attention rollout', zh: '注意力展开', lessons: [14],
    definition: 'Multiplying the attention maps of successive layers (with the residual added) to estimate how much each input token reaches the output.' },
];

/** Terms whose English name, Chinese name or abbreviation contains `text` (case-insensitive). */
export function lookupTerm(text: string): GlossaryTerm[] {
  const needle = text.trim().toLowerCase();
  return GLOSSARY.filter((t) => t.en.toLowerCase().includes(needle) || t.zh.includes(text.trim()) || (t.abbr ?? '').toLowerCase() === needle);
}
