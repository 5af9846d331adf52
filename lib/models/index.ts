// Re-exports of lib/models (filled in by the lessons that need it).
export {};
