// Re-exports of lib/attention (filled in by the lessons that need it).
export {};
