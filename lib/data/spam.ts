/**
 * Generated SMS-style messages for a naive-Bayes spam filter (垃圾邮件过滤). Spam and ham share
 * much of their vocabulary ("free", "call", "today", "win" appear in both), messages carry typos,
 * shouting and filler words, and a few spam messages are written to look like ham and the other
 * way round, so a filter has to weigh evidence rather than match one word.
 */
import { Rng } from '../random.js';

export interface Message {
  text: string;
  label: 'spam' | 'ham';
}

const fill = (template: string, slots: Record<string, readonly string[]>, rng: Rng): string =>
  template.replace(/\{(\w+)\}/g, (_, name: string) => rng.pick(slots[name] ?? [`{${name}}`]));

const SLOTS: Record<string, readonly string[]> = {
  name: ['Sam', 'Alex', 'mum', 'Jo', 'Priya', 'Wei', 'Tom', 'Lena', 'dad', 'Omar'],
  day: ['today', 'tomorrow', 'tonight', 'on Friday', 'this weekend', 'on Monday', 'later'],
  place: ['the station', 'the cafe', 'home', 'the office', 'the gym', 'the library', 'the shop'],
  thing: ['keys', 'charger', 'book', 'umbrella', 'tickets', 'laptop', 'notes', 'jacket'],
  time: ['5', '6', '7.30', '8', 'noon', '10', '3'],
  food: ['pizza', 'curry', 'noodles', 'dinner', 'lunch', 'coffee', 'cake'],
  prize: ['a £1000 voucher', 'a free holiday', 'a new phone', '£500 cash', 'a gift card', 'free tickets', 'a prize'],
  action: ['call', 'text', 'reply', 'click the link', 'visit our site', 'claim now'],
  code: ['WIN', 'FREE', 'CLAIM', 'GO', 'YES', 'STOP'],
  number: ['08001234567', '87121', '09061701461', '81010', '0800 555 0199'],
  offer: ['50% off', 'a free trial', 'cheap loans', 'low rates', 'exclusive deals', 'bonus credit'],
  urgency: ['now', 'today only', 'before midnight', 'urgent', 'limited time', 'act fast'],
};

const HAM = [
  'hey {name} are we still on for {food} {day}',
  'can you pick up my {thing} from {place} {day}',
  'running late, see you at {place} at {time}',
  'thanks for {food} {name}, it was great',
  'did you win the match {day}? call me when free',
  'i left my {thing} at {place}, can you check',
  'ok see you {day} at {time}',
  'free {day}? we could get {food} near {place}',
  'please call me back when you get this, nothing urgent',
  '{name} says the tickets for {day} are sold out',
  'meeting moved to {time} {day}, same room at {place}',
  'happy birthday {name}! have a great day',
  'text me when you reach {place}',
  'got a new phone, this is my number now',
  'no worries, reply whenever. {food} {day}?',
  'can we claim the table at {place} {day} at {time}',
  'the shop has {offer} {day}, want to go?',
  'i won {prize} in the office raffle lol',
  'call {number} to book, they said {urgency}',
  'reply when you can, the {thing} is at {place}',
  'mum says text her {day}, she got a new phone',
  'free {food} at {place} {day} if you get there early',
  'did you get the link i sent? {action} when free',
  'congrats on the new job {name}! {food} on me {day}',
];

const SPAM = [
  'congratulations you have won {prize}! {action} {number} {urgency}',
  'URGENT! your mobile number has been selected to receive {prize}. {action} {number}',
  'you are a winner! text {code} to {number} to claim {prize}',
  'get {offer} {urgency}, {action}. txt {code} to {number} to stop',
  'free entry to win {prize}! text {code} to {number}',
  'your account has a reward waiting: {prize}. {action} {urgency}',
  'dear customer, {offer} on your next order. {action} {urgency}',
  'final notice: claim your {prize} {day} or it expires. call {number}',
  'hi {name}, you have been chosen for {offer}. reply {code} {urgency}',
  'win {prize} this week! just {action} and reply {code}',
  'exclusive: {offer} for our valued members, call {number} {urgency}',
  'hey its {name}, i have {prize} for you, just {action}',
  'your parcel is waiting at {place}, {action} to arrange delivery',
  'we tried to call you {day} about {offer}. reply {code}',
  'hi, are you free {day}? {offer} near {place}, {action}',
  'missed call: you may be owed {prize}. call {number}',
];

const FILLER = ['lol', 'pls', 'u', 'ur', 'ok', 'xx', 'btw', 'thx', 'k', ':)', '!!', 'hey'];

/** Everyday words both classes use, sprinkled in so that no single word decides. */
const SHARED = ['the', 'you', 'your', 'now', 'today', 'call', 'free', 'text', 'get', 'new', 'win', 'please', 'just', 'reply', 'week', 'send', 'offer', 'back'];

function addNoise(text: string, rng: Rng): string {
  let words = text.split(' ');
  const extra = rng.int(0, 4);
  for (let i = 0; i < extra; i++) words.splice(rng.int(0, words.length + 1), 0, rng.pick(SHARED));
  // typos: drop or double a letter in a few words
  words = words.map((w) => {
    if (w.length > 3 && rng.float() < 0.08) {
      const i = rng.int(1, w.length - 1);
      return rng.float() < 0.5 ? w.slice(0, i) + w.slice(i + 1) : w.slice(0, i) + w[i] + w.slice(i);
    }
    return w;
  });
  if (rng.float() < 0.3) words.splice(rng.int(0, words.length + 1), 0, rng.pick(FILLER));
  let out = words.join(' ');
  if (rng.float() < 0.1) out = out.toUpperCase();
  return out;
}

/** One message of the given label; about 2% are written in the other class's style. */
export function makeMessage(rng: Rng, label: 'spam' | 'ham'): Message {
  const disguised = rng.float() < 0.02;
  const templates = (label === 'spam') !== disguised ? SPAM : HAM;
  return { text: addNoise(fill(rng.pick(templates), SLOTS, rng), rng), label };
}

/** `count` messages, a fraction `spamFraction` of them spam, in random order. */
export function makeSpamMessages(count: number, options: { seed?: number; spamFraction?: number } = {}): Message[] {
  const rng = new Rng(options.seed ?? 1);
  const spamFraction = options.spamFraction ?? 0.35;
  return Array.from({ length: count }, () => makeMessage(rng, rng.float() < spamFraction ? 'spam' : 'ham'));
}

/** Lower-case word tokens: letters, digits, £ and apostrophes. */
export function tokenizeWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9£']+|[!?]/g) ?? [];
}
