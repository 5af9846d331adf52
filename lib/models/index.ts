// lib/models: one small module per model, from the 1958 perceptron to a tiny GPT.
export * from './perceptron.js';
export * from './mlp.js';
export * from './symbolic.js';
export * from './ngram.js';
export * from './naive-bayes.js';
export * from './rnn.js';
export * from './seq2seq.js';
export * from './transformer.js';
export * from './gpt.js';
