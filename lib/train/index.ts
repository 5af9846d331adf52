// lib/train: training loop with progress and early stopping, Adam + clipping, evaluation metrics.
export * from './loop.js';
export * from './optim.js';
export * from './metrics.js';
export * from './fit-seq2seq.js';
export * from './fit-gpt.js';
