/**
 * Date normalisation (日期规范化): turn a date written in any of many human formats into ISO
 * `YYYY-MM-DD`. The classic toy translation task for encoder-decoder models with attention
 * (it appears in many attention tutorials after Bahdanau et al. 2014): the output is short and
 * exact, and each output field (year, month, day) comes from one visible span of the input, so
 * the alignment a model learns can be checked.
 *
 * Every format here is unambiguous: the separator says the field order ("/" is US month/day/year,
 * "." is European day.month.year, "-" is ISO), and two-digit years pivot at 50
 * (50–99 → 1950–1999, 00–49 → 2000–2049), so the years 1950–2049 are covered exactly.
 */
import { Rng } from '../random.js';
import { CharVocab } from './vocab.js';

export const MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
] as const;
export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

/** A calendar date; month and day are 1-based. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** One example: the human-written input, the ISO target, where the fields are in the input. */
export interface DateExample {
  input: string;
  target: string;
  date: CalendarDate;
  /** Name of the format that wrote `input`. */
  format: string;
  /** [start, end) character span of each field in `input`. */
  spans: { year: [number, number]; month: [number, number]; day: [number, number] };
}

export const FIRST_YEAR = 1950;
export const LAST_YEAR = 2049;

const pad2 = (n: number): string => String(n).padStart(2, '0');

export function isoDate(d: CalendarDate): string {
  return `${d.year}-${pad2(d.month)}-${pad2(d.day)}`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th'}`;
}

/** Day number (0 = 1950-01-01) → date, via UTC so that no time zone interferes. */
export function dateFromIndex(index: number): CalendarDate {
  const t = new Date(Date.UTC(FIRST_YEAR, 0, 1) + index * 86_400_000);
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Number of days from 1950-01-01 to 2049-12-31 inclusive (36,525). */
export const NUM_DAYS = Math.round((Date.UTC(LAST_YEAR + 1, 0, 1) - Date.UTC(FIRST_YEAR, 0, 1)) / 86_400_000);

function weekday(d: CalendarDate): string {
  return WEEKDAY_NAMES[(new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7]!;
}

type Piece = string | { field: 'year' | 'month' | 'day'; text: string };

/** A format writes a date as pieces; field pieces are tracked so that spans are known. */
interface DateFormat {
  name: string;
  write(d: CalendarDate, rng: Rng): Piece[];
}

const casing = (s: string, rng: Rng): string => {
  const r = rng.float();
  return r < 0.15 ? s.toUpperCase() : r < 0.35 ? s.toLowerCase() : s;
};
const monthName = (d: CalendarDate, rng: Rng): string => casing(MONTH_NAMES[d.month - 1]!, rng);
const monthAbbr = (d: CalendarDate, rng: Rng): string => {
  const full = MONTH_NAMES[d.month - 1]!;
  const abbr = full === 'September' && rng.float() < 0.3 ? 'Sept' : full.slice(0, 3);
  return casing(abbr, rng) + (rng.float() < 0.3 ? '.' : '');
};
const dayNum = (d: CalendarDate, rng: Rng): string => (rng.float() < 0.5 ? pad2(d.day) : String(d.day));
const monthNum = (d: CalendarDate, rng: Rng): string => (rng.float() < 0.5 ? pad2(d.month) : String(d.month));
const year4 = (d: CalendarDate): string => String(d.year);
const year2 = (d: CalendarDate): string => pad2(d.year % 100);
const anyYear = (d: CalendarDate, rng: Rng): string => (rng.float() < 0.3 ? year2(d) : year4(d));

const Y = (text: string): Piece => ({ field: 'year', text });
const M = (text: string): Piece => ({ field: 'month', text });
const D = (text: string): Piece => ({ field: 'day', text });

/** The formats, from terse to wordy. */
export const DATE_FORMATS: readonly DateFormat[] = [
  { name: 'iso', write: (d) => [Y(year4(d)), '-', M(pad2(d.month)), '-', D(pad2(d.day))] },
  { name: 'us-slash', write: (d, r) => [M(monthNum(d, r)), '/', D(dayNum(d, r)), '/', Y(anyYear(d, r))] },
  { name: 'eu-dot', write: (d, r) => [D(dayNum(d, r)), '.', M(monthNum(d, r)), '.', Y(anyYear(d, r))] },
  { name: 'compact', write: (d) => [Y(year4(d)), M(pad2(d.month)), D(pad2(d.day))] },
  { name: 'month-day-year', write: (d, r) => [M(monthName(d, r)), ' ', D(String(d.day)), r.float() < 0.5 ? ', ' : ' ', Y(anyYear(d, r))] },
  { name: 'abbr-day-year', write: (d, r) => [M(monthAbbr(d, r)), ' ', D(dayNum(d, r)), r.float() < 0.5 ? ', ' : ' ', Y(year4(d))] },
  { name: 'day-month-year', write: (d, r) => [D(String(d.day)), ' ', M(monthName(d, r)), ' ', Y(year4(d))] },
  { name: 'day-abbr-year', write: (d, r) => [D(dayNum(d, r)), r.float() < 0.5 ? ' ' : '-', M(monthAbbr(d, r).replace('.', '')), r.float() < 0.5 ? ' ' : '-', Y(anyYear(d, r))] },
  { name: 'ordinal', write: (d, r) => [casing('the ', r), D(ordinal(d.day)), ' of ', M(monthName(d, r)), r.float() < 0.5 ? ', ' : ' ', Y(year4(d))] },
  { name: 'month-ordinal', write: (d, r) => [M(r.float() < 0.5 ? monthName(d, r) : monthAbbr(d, r)), ' ', D(ordinal(d.day)), ', ', Y(year4(d))] },
  { name: 'weekday', write: (d, r) => [casing(weekday(d).slice(0, 3), r), ', ', D(String(d.day)), ' ', M(monthAbbr(d, r).replace('.', '')), ' ', Y(year4(d))] },
  { name: 'weekday-long', write: (d, r) => [weekday(d), ', ', M(monthName(d, r)), ' ', D(ordinal(d.day)), ', ', Y(year4(d))] },
];

/** Write one date in one format (a format name or a random one). */
export function formatDate(d: CalendarDate, rng: Rng, formatName?: string): DateExample {
  const format = formatName ? DATE_FORMATS.find((f) => f.name === formatName) : rng.pick(DATE_FORMATS);
  if (!format) throw new Error(`unknown date format '${formatName}'; known: ${DATE_FORMATS.map((f) => f.name).join(', ')}`);
  let input = '';
  const spans = { year: [0, 0], month: [0, 0], day: [0, 0] } as DateExample['spans'];
  for (const piece of format.write(d, rng)) {
    if (typeof piece === 'string') input += piece;
    else {
      spans[piece.field] = [input.length, input.length + piece.text.length];
      input += piece.text;
    }
  }
  return { input, target: isoDate(d), date: d, format: format.name, spans };
}

export interface DateSplits {
  train: DateExample[];
  validation: DateExample[];
  test: DateExample[];
}

/**
 * Train/validation/test examples split by the underlying day: the days are shuffled once and cut
 * into three disjoint sets, so a date in the test set never appears in training in any format.
 * Each example draws its day from its split (without replacement while days last) and a random format.
 */
export function makeDateSplits(options: { train: number; validation?: number; test?: number; seed?: number }): DateSplits {
  const { train, validation = 1000, test = 1000, seed = 1 } = options;
  const rng = new Rng(seed);
  const days = rng.shuffle(Array.from({ length: NUM_DAYS }, (_, i) => i));
  // Held-out days: exactly as many as held-out examples (one example per held-out day).
  const testDays = days.slice(0, test);
  const validationDays = days.slice(test, test + validation);
  const trainDays = days.slice(test + validation);
  const draw = (pool: number[], n: number): DateExample[] =>
    Array.from({ length: n }, (_, i) => formatDate(dateFromIndex(pool[i % pool.length]!), rng));
  return { train: draw(trainDays, train), validation: draw(validationDays, validation), test: draw(testDays, test) };
}

/** Every character a date input can contain, and the ISO output alphabet, as vocabularies. */
export function dateVocabularies(): { source: CharVocab; target: CharVocab } {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return {
    source: new CharVocab([...' ,-./0123456789', ...letters.toUpperCase(), ...letters]),
    target: new CharVocab([...'-0123456789']),
  };
}
