// SPDX-License-Identifier: BSL-1.0
// Holds aiolocals' W3C Baggage parser and formatter against OpenTelemetry's
// own W3CBaggagePropagator (@opentelemetry/core) on generated headers:
//   1. on a header whose members are all valid under the spec's grammar
//      (token keys without '%', values of baggage-octets, percent-encoded
//      UTF-8, '=' inside values, OWS, properties, duplicate keys), we keep
//      the same entries as OpenTelemetry extracts: same keys, same decoded
//      values (as sets: OpenTelemetry's own listing puts integer-like
//      keys first);
//   2. what we send, OpenTelemetry extracts as the entries we hold.
// Headers with invalid members are counted apart by what each side does
// (the spec lets a system drop an invalid entry; OpenTelemetry's parser is
// more lenient in places), never as agreement.
// Usage: tools/interop/run-otel-baggage.sh [cases]
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(process.env.OTEL_MODULES + '/');
const core = require('@opentelemetry/core');
const api = require('@opentelemetry/api');
const probe = process.argv[2];
const total = Number(process.argv[3] || 3000);

let seed = 0x9e3779b9;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const chars = (set, n) => Array.from({ length: n }, () => pick(set)).join('');
const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const tokenChars = alnum + "!#$&'*+-.^_`|~";
const octets = alnum + "!#$&'()*+-./:<>?@[]^_`{|}~";  // baggage-octets without '%', '=' added below
const ows = () => pick(['', '', ' ', '\t', '  ']);
const unicode = ['é', 'ü', '€', '😀', 'ß', ' ', ',', ';', '"', '\\', '%', '中文'];

function value() {
  let v = '';
  const parts = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < parts; i++) {
    switch (Math.floor(rnd() * 4)) {
      case 0: v += encodeURIComponent(pick(unicode)); break;
      case 1: v += '=' + chars(octets, 1 + Math.floor(rnd() * 4)); break;
      default: v += chars(octets, Math.floor(rnd() * 8));
    }
  }
  return v;
}
let emptyValue = false;  // set when a generated member's value is empty
function member(keys, valid) {
  const key = rnd() < 0.3 && keys.length ? pick(keys) : chars(tokenChars, 1 + Math.floor(rnd() * 10));
  keys.push(key);
  const v = value();
  if (v === '') emptyValue = true;
  let m = `${ows()}${key}${ows()}=${ows()}${v}${ows()}`;
  const props = Math.floor(rnd() * 3);
  for (let i = 0; i < props; i++) {
    m += `;${ows()}${chars(tokenChars, 1 + Math.floor(rnd() * 5))}${rnd() < 0.5 ? '=' + chars(octets, 3) : ''}${ows()}`;
  }
  if (!valid) {
    m = pick([`${key}`, `${key} x=1`, `${key}=a b`, `${key}=a"b`, `${key}=a\\b`, `=${value()}`,
              `${key}=${value()};`, `${key}=%E9`]);
  }
  return m;
}

const cases = [];
for (let n = 0; n < total; n++) {
  const valid = rnd() < 0.8;
  const keys = [];
  const count = 1 + Math.floor(rnd() * 8);
  const members = [];
  emptyValue = false;
  for (let i = 0; i < count; i++) members.push(member(keys, valid || i !== Math.floor(count / 2)));
  cases.push({ header: members.join(','), valid, empty: emptyValue });
}

const run = spawnSync(probe, [], { input: cases.map((c) => c.header).join('\n') + '\n', maxBuffer: 1 << 28 });
if (run.status !== 0) throw new Error('probe failed: ' + run.stderr);
const ours = run.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));

const propagator = new core.W3CBaggagePropagator();
const getter = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
const extract = (header) => {
  const ctx = propagator.extract(api.ROOT_CONTEXT, { baggage: header }, getter);
  const b = api.propagation.getBaggage(ctx);
  return b ? b.getAllEntries().map(([k, e]) => [k, e.value]) : [];
};
// Compared as sets of (key, value): one entry per key on both sides, and
// OpenTelemetry's getAllEntries lists integer-like keys first (JavaScript
// object order), whatever the header's order.
const sorted = (entries) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

// OpenTelemetry drops a member whose value is empty; the grammar allows one
// (value = *baggage-octet). Counted apart, never as agreement.
const nonEmpty = (entries) => entries.filter(([, v]) => v !== '');
let agree = 0, disagree = 0, invalidSame = 0, invalidDiffer = 0, readBack = 0, emptyApart = 0;
const failures = [];
cases.forEach((c, i) => {
  const mine = ours[i].entries.map(([k, v]) => [k, v]);
  const theirs = extract(c.header);
  const back = extract(ours[i].sent);
  const hasEmpty = c.empty || mine.some(([, v]) => v === '');
  if (hasEmpty) emptyApart++;
  if (same(hasEmpty ? nonEmpty(mine) : mine, back)) readBack++;
  else failures.push({ what: 'read back', header: c.header, sent: ours[i].sent, mine, back });
  if (c.valid && hasEmpty) {
    // (a later empty duplicate: we keep it, OpenTelemetry keeps the earlier value)
  } else if (c.valid) {
    if (same(mine, theirs)) agree++; else { disagree++; failures.push({ what: 'entries', header: c.header, mine, theirs }); }
  } else if (same(mine, theirs)) invalidSame++; else invalidDiffer++;
});
console.log(JSON.stringify({ cases: total, valid: cases.filter((c) => c.valid).length, agree, disagree,
  with_empty_value_apart: emptyApart, read_back: readBack,
  invalid_same: invalidSame, invalid_differ: invalidDiffer, first_failures: failures.slice(0, 3) }, null, 1));
process.exit(disagree === 0 && readBack === total ? 0 : 1);
