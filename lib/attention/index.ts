/**
 * lib/attention: every attention variant of the course (see lib/README.md for the API table).
 */
export * from './softmax.js';
export * from './masks.js';
export * from './scores.js';
export * from './core.js';
export * from './rope.js';
export * from './positions.js';
export * from './multihead.js';
export * from './tiled.js';
export * from './sparse.js';
export * from './linear.js';
export * from './hard.js';
export * from './kvcache.js';
export * from './matmul.js';
