// Re-exports of lib/data (filled in by the lessons that need it).
export {};
