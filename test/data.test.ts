/**
 * lib/data: the date, sequence, corpus and spam generators and the character vocabulary.
 * References are independent: dates are checked against JavaScript's Date, brackets with a
 * stack written here, spans by reading the field back out of the input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CharVocab, padBatch, makeDateSplits, formatDate, dateFromIndex, NUM_DAYS, DATE_FORMATS, MONTH_NAMES, dateVocabularies, isoDate,
  copyTask, reverseTask, bracketsTask, associativeRecallTask, makeSequenceExamples, makeStoryCorpus, makeParagraph, makeStorySplits,
  makeSpamMessages, tokenizeWords, Rng,
} from '../lib/index.js';

describe('dates', () => {
  it('covers 1950-01-01 … 2049-12-31 exactly (36,525 days) and indexes them like Date.UTC', () => {
    assert.equal(NUM_DAYS, 36525);
    assert.deepEqual(dateFromIndex(0), { year: 1950, month: 1, day: 1 });
    assert.deepEqual(dateFromIndex(NUM_DAYS - 1), { year: 2049, month: 12, day: 31 });
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const k = rng.int(0, NUM_DAYS);
      const ref = new Date(Date.UTC(1950, 0, 1 + k));
      assert.deepEqual(dateFromIndex(k), { year: ref.getUTCFullYear(), month: ref.getUTCMonth() + 1, day: ref.getUTCDate() });
    }
  });

  it('writes known dates in every format, with targets in ISO form', () => {
    const d = { year: 2021, month: 9, day: 3 };
    const rng = new Rng(1);
    const seen: Record<string, string> = {};
    for (const f of DATE_FORMATS) {
      const ex = formatDate(d, rng, f.name);
      assert.equal(ex.target, '2021-09-03');
      seen[f.name] = ex.input;
    }
    assert.equal(seen.iso, '2021-09-03');
    assert.equal(seen.compact, '20210903');
    assert.match(seen['us-slash']!, /^0?9\/0?3\/(2021|21)$/);
    assert.match(seen['eu-dot']!, /^0?3\.0?9\.(2021|21)$/);
    assert.match(seen.ordinal!, /3rd of september/i);
    assert.match(seen['weekday-long']!, /^Friday, /); // 2021-09-03 was a Friday
    assert.equal(isoDate({ year: 1999, month: 12, day: 31 }), '1999-12-31');
  });

  it('spans point at the fields: reading them back recovers the date (two-digit years pivot at 50)', () => {
    const rng = new Rng(7);
    const monthOf = (text: string): number => {
      if (/^\d+$/.test(text)) return Number(text);
      const i = MONTH_NAMES.findIndex((m) => m.toLowerCase().startsWith(text.replace('.', '').toLowerCase().slice(0, 3)));
      return i + 1;
    };
    for (let i = 0; i < 500; i++) {
      const d = dateFromIndex(rng.int(0, NUM_DAYS));
      const ex = formatDate(d, rng);
      const field = (f: 'year' | 'month' | 'day') => ex.input.slice(...ex.spans[f]);
      const y = field('year');
      const year = y.length === 4 ? Number(y) : Number(y) >= 50 ? 1900 + Number(y) : 2000 + Number(y);
      assert.equal(year, d.year, `${ex.input} (${ex.format}) year field "${y}"`);
      assert.equal(monthOf(field('month')), d.month, `${ex.input} (${ex.format}) month field`);
      assert.equal(parseInt(field('day'), 10), d.day, `${ex.input} (${ex.format}) day field`);
    }
  });

  it('splits by date: no held-out date occurs in training in any format; seeded', () => {
    const s = makeDateSplits({ train: 5000, validation: 300, test: 1000, seed: 4 });
    const trainDates = new Set(s.train.map((e) => e.target));
    assert.equal(s.test.filter((e) => trainDates.has(e.target)).length, 0);
    assert.equal(s.validation.filter((e) => trainDates.has(e.target)).length, 0);
    assert.equal(new Set(s.test.map((e) => e.target)).size, 1000, 'one example per held-out date');
    const again = makeDateSplits({ train: 5000, validation: 300, test: 1000, seed: 4 });
    assert.deepEqual(again.test.map((e) => e.input), s.test.map((e) => e.input));
    const other = makeDateSplits({ train: 5000, validation: 300, test: 1000, seed: 5 });
    assert.notDeepEqual(other.test.map((e) => e.input), s.test.map((e) => e.input));
  });

  it('the date vocabularies cover every generated character', () => {
    const { source, target } = dateVocabularies();
    const s = makeDateSplits({ train: 3000, test: 10, validation: 10, seed: 9 });
    for (const e of s.train) {
      for (const c of e.input) assert.ok(source.has(c), `missing ${JSON.stringify(c)} from ${e.input}`);
      for (const c of e.target) assert.ok(target.has(c));
    }
  });
});

describe('sequence tasks', () => {
  const rng = new Rng(2);
  it('copy and reverse', () => {
    const c = copyTask(rng, 12);
    assert.equal(c.input.length, 12);
    assert.equal(c.target, c.input);
    const r = reverseTask(rng, 9);
    assert.equal(r.target, [...r.input].reverse().join(''));
  });
  it('brackets: the label agrees with a stack-based checker, both labels occur', () => {
    const balanced = (s: string): boolean => {
      const stack: string[] = [];
      const pair: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
      for (const c of s) {
        if ('([{'.includes(c)) stack.push(c);
        else if (stack.pop() !== pair[c]) return false;
      }
      return stack.length === 0;
    };
    let ys = 0;
    for (let i = 0; i < 300; i++) {
      const ex = bracketsTask(rng, 2 * rng.int(1, 20));
      assert.equal(ex.target, balanced(ex.input) ? 'Y' : 'N', ex.input);
      if (ex.target === 'Y') ys++;
    }
    assert.ok(ys > 100 && ys < 200, `balanced fraction ${ys}/300`);
  });
  it('associative recall: the target is the value stored with the query key', () => {
    for (let i = 0; i < 100; i++) {
      const ex = associativeRecallTask(rng, 8);
      const [pairs, key] = ex.input.split('?') as [string, string];
      const at = pairs.indexOf(key);
      assert.ok(at >= 0 && at % 2 === 0);
      assert.equal(ex.target, pairs[at + 1]);
    }
  });
  it('makeSequenceExamples draws lengths in range, seeded', () => {
    const a = makeSequenceExamples(copyTask, 200, { minLength: 3, maxLength: 7, seed: 5 });
    assert.ok(a.every((e) => e.input.length >= 3 && e.input.length <= 7));
    assert.deepEqual(makeSequenceExamples(copyTask, 200, { minLength: 3, maxLength: 7, seed: 5 }), a);
  });
});

describe('story corpus', () => {
  it('each paragraph ends by repeating the name, colour, pet and town of its first sentence', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 100; i++) {
      const p = makeParagraph(rng);
      const m = /^(\w+) lives in (\w+) and keeps a (\w+) (\w+)\./.exec(p);
      assert.ok(m, p);
      const last = p.trim().split('. ').pop()!;
      for (const word of m.slice(1)) assert.ok(last.includes(word), `"${last}" lacks ${word}`);
    }
  });
  it('is seeded and train/test texts differ', () => {
    assert.equal(makeStoryCorpus(2000, 1), makeStoryCorpus(2000, 1));
    const s = makeStorySplits({ trainChars: 5000, testChars: 2000, seed: 1 });
    assert.ok(s.train.length >= 5000 && s.test.length >= 2000);
    assert.notEqual(s.train.slice(0, 500), s.test.slice(0, 500));
  });
});

describe('spam messages', () => {
  it('are seeded, about 35% spam, and share vocabulary between classes', () => {
    const m = makeSpamMessages(2000, { seed: 1 });
    assert.deepEqual(makeSpamMessages(2000, { seed: 1 }), m);
    const spam = m.filter((x) => x.label === 'spam').length / m.length;
    assert.ok(spam > 0.3 && spam < 0.4, `spam fraction ${spam}`);
    const words = (label: string) => new Set(m.filter((x) => x.label === label).flatMap((x) => tokenizeWords(x.text)));
    const s = words('spam');
    const h = words('ham');
    for (const w of ['free', 'call', 'win', 'today', 'text']) assert.ok(s.has(w) && h.has(w), `"${w}" should occur in both classes`);
  });
  it('tokenizeWords lower-cases and keeps £ and !', () => {
    assert.deepEqual(tokenizeWords('WIN £500 now!'), ['win', '£500', 'now', '!']);
  });
});

describe('CharVocab', () => {
  it('round-trips text, keeps 0 for padding and stops decoding at </s>', () => {
    const v = CharVocab.fromTexts(['hello', 'world']);
    assert.equal(v.padId, 0);
    const ids = v.encode('hello', { bos: true, eos: true });
    assert.equal(ids[0], v.bosId);
    assert.equal(ids[ids.length - 1], v.eosId);
    assert.equal(v.decode([...ids, ...v.encode('xx'.replace(/x/g, 'o'))]), 'hello');
    assert.equal(v.decode([0, ...v.encode('low'), 0]), 'low');
  });
  it('padBatch right-pads with zeros', () => {
    const { ids, length } = padBatch([[5, 6], [7]]);
    assert.equal(length, 2);
    assert.deepEqual(Array.from(ids), [5, 6, 7, 0]);
    assert.throws(() => padBatch([[1, 2, 3]], 2), /length 3 > 2/);
  });
});
