// Re-exports of lib/train (filled in by the lessons that need it).
export {};
