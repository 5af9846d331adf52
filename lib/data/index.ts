// lib/data: seeded generators for the lessons' data sets, and character vocabularies.
export * from './vocab.js';
export * from './dates.js';
export * from './sequences.js';
export * from './spam.js';
export * from './corpus.js';
