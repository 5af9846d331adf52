/**
 * attention-kit: the shared library behind every lesson, exercise and grader.
 *
 * Notebooks import from here by package name (`import { tf, initBackend } from 'attention-kit'`),
 * never from relative paths: tslab compiles each notebook with its own folder as rootDir.
 * `tf` is re-exported so that notebooks and the library share one TensorFlow.js.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };

export * from './backend.js';
export { registerWasmGapKernels, registerFastWasmKernels } from './backend-wasm-kernels.js';
export * from './shapes.js';
export * from './random.js';
export * from './measure.js';
export * from './consistency.js';
export * from './budget.js';
export * from './testing.js';
export * from './glossary.js';

// Each area of the course has its own folder and index (see lib/README.md).
export * from './attention/index.js';
export * from './viz/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './train/index.js';

// The attention benchmark (what `npm run bench` runs), as a namespace: notebook 12 draws from it.
export * as attentionBench from './bench/attention.js';
