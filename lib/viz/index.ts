// Re-exports of lib/viz (filled in by the lessons that need it).
export {};
