// SPDX-License-Identifier: BSL-1.0
// Holds aiolocals' Trace Context handling against OpenTelemetry's own
// W3CTraceContextPropagator (@opentelemetry/core) on generated cases:
//   1. restart or continue: we continue exactly when OpenTelemetry extracts
//      a valid span context (same trace id);
//   2. sampled: the bit we send is the one OpenTelemetry read;
//   3. tracestate: where the incoming list is valid under both key grammars
//      (Level 1's, which OpenTelemetry's TraceState implements, and Level 2's),
//      has no repeated key and is within the limits, we send what
//      OpenTelemetry's TraceState serialises;
//   4. what we send, OpenTelemetry reads back: same trace id, parent id,
//      sampled bit and tracestate.
// Cases where the Level 2 text asks for other behaviour than OpenTelemetry's
// Level 1 code are counted apart, never as agreement (flags other than
// sampled/random, which Level 2 says to send as zero; Level 2-only keys;
// repeated keys; lists over the limits).
// Usage: tools/interop/run-otel.sh (installs @opentelemetry/core from npm).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(process.env.OTEL_MODULES + '/');
const core = require('@opentelemetry/core');
const api = require('@opentelemetry/api');
const probe = process.argv[2];
const total = Number(process.argv[3] || 3000);

let seed = 0x2545f491;
const rnd = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 4294967296; };
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const hex = (n) => Array.from({ length: n }, () => pick('0123456789abcdef')).join('');
const chars = (set, n) => Array.from({ length: n }, () => pick(set)).join('');
const lc = 'abcdefghijklmnopqrstuvwxyz';
const keychars = lc + '0123456789_-*/';
const byte = (b) => b.toString(16).padStart(2, '0');

function traceparent() {
  const flags = byte(pick([0, 1, 2, 3, Math.floor(rnd() * 256)]));
  switch (Math.floor(rnd() * 10)) {
    case 0: return '';  // absent
    case 1: return `00-${'0'.repeat(32)}-${hex(16)}-${flags}`;
    case 2: return `00-${hex(32)}-${'0'.repeat(16)}-${flags}`;
    case 3: return `ff-${hex(32)}-${hex(16)}-${flags}`;
    case 4: return `00-${hex(32)}-${hex(16)}-${flags}-extra`;
    case 5: return `${byte(1 + Math.floor(rnd() * 254))}-${hex(32)}-${hex(16)}-${flags}${rnd() < 0.5 ? '-future' : ''}`;
    case 6: return `00-${hex(32).toUpperCase()}-${hex(16)}-${flags}`;
    case 7: return `00-${hex(31)}-${hex(16)}-${flags}`;
    default: return `00-${hex(32)}-${hex(16)}-${flags}`;
  }
}

// A member and whether its key is valid at Level 1 and at Level 2.
function member() {
  const value = chars('abcdefghijkXYZ0123456789!#$%&()*+-./:;<>?@[]^_`{|}~', 1 + Math.floor(rnd() * 12));
  switch (Math.floor(rnd() * 8)) {
    case 0: return { text: `${pick('0123456789')}${chars(keychars, 3)}=${value}`, l1: false, l2: true };
    case 1: return { text: `${pick(lc)}${chars(keychars, 2)}@${pick(lc)}${chars(keychars, 2)}=${value}`, l1: true, l2: true };
    case 2: return { text: `${pick(lc)}${chars(keychars, 3)}@=${value}`, l1: false, l2: true };
    case 3: return { text: `${pick(lc)}${chars(keychars, 2)}=${value},`, l1: false, l2: false, bad: true };
    case 4: return { text: `${pick(lc).toUpperCase()}${chars(keychars, 2)}=${value}`, l1: false, l2: false, bad: true };
    default: return { text: `${pick(lc)}${chars(keychars, Math.floor(rnd() * 6))}=${value}`, l1: true, l2: true };
  }
}

function tracestate() {
  if (rnd() < 0.2) return { header: '', comparable: true };
  const count = rnd() < 0.1 ? 33 + Math.floor(rnd() * 4) : 1 + Math.floor(rnd() * 6);
  const members = Array.from({ length: count }, member);
  if (rnd() < 0.15 && members.length > 1) members.push({ ...members[0] });  // a repeated key
  const keys = members.map((m) => m.text.split('=')[0]);
  const text = members.map((m) => m.text).join(rnd() < 0.3 ? ' , ' : ',');
  const comparable = members.every((m) => m.l1 && m.l2 && !m.bad) && new Set(keys).size === keys.length &&
    members.length <= 32 && text.length <= 512;
  return { header: text, comparable };
}

const cases = Array.from({ length: total }, () => ({ tp: traceparent(), ts: tracestate() }));
const input = cases.map((c) => `${c.tp}\t${c.ts.header}`).join('\n') + '\n';
const run = spawnSync(probe, [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
if (run.status !== 0) throw new Error(`probe failed: ${run.stderr}`);
const ours = run.stdout.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));

const prop = new core.W3CTraceContextPropagator();
const getter = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
const extract = (headers) => api.trace.getSpanContext(prop.extract(api.ROOT_CONTEXT, headers, getter));

const count = {};
const bump = (k) => { count[k] = (count[k] || 0) + 1; };
const failures = [];
cases.forEach((c, i) => {
  const [decision, outParent, outState] = ours[i];
  const headers = {};
  if (c.tp) headers.traceparent = c.tp;
  if (c.ts.header) headers.tracestate = c.ts.header;
  const theirs = extract(headers);
  const theyContinue = !!theirs && api.isSpanContextValid(theirs);
  const [, outTrace, outSpan, outFlags] = outParent.split('-');
  // 1. restart or continue
  if ((decision === 'continued') !== theyContinue) {
    failures.push(`decision differs: ${c.tp} -> ours ${decision}, OpenTelemetry ${theyContinue}`);
    return;
  }
  bump(theyContinue ? 'continued by both' : 'restarted by both');
  if (theyContinue) {
    if (outTrace !== theirs.traceId) failures.push(`trace id differs: ${c.tp} -> ${outParent}`);
    if (outSpan === theirs.spanId) failures.push(`span id not renewed: ${c.tp} -> ${outParent}`);
    // 2. sampled
    const ourFlags = parseInt(outFlags, 16);
    if ((ourFlags & 1) !== (theirs.traceFlags & 1)) failures.push(`sampled differs: ${c.tp} -> ${outParent}`);
    else bump('sampled bit agrees');
    if (ourFlags !== theirs.traceFlags) {
      // Level 2: bits other than sampled (0x01) and random (0x02) are sent as zero.
      if (ourFlags === (theirs.traceFlags & 0x03)) bump('flags: unknown bits zeroed by us (Level 2), kept by OpenTelemetry');
      else failures.push(`flags differ beyond unknown bits: ${c.tp} -> ${outParent}`);
    }
    // 3. tracestate
    const theirState = theirs.traceState ? theirs.traceState.serialize() : '';
    if (c.ts.comparable) {
      if (outState !== theirState) failures.push(`tracestate differs: ${JSON.stringify(c.ts.header)} -> ours ${JSON.stringify(outState)}, OpenTelemetry ${JSON.stringify(theirState)}`);
      else bump('tracestate identical (valid under both grammars)');
    } else if (outState === theirState) {
      bump('tracestate identical (Level 2-only, invalid, repeated or over-limit members)');
    } else {
      bump('tracestate differs where Level 2 rules apply (Level 2 keys, repeated keys, limits)');
    }
  }
  // 4. OpenTelemetry reads back what we send.
  const back = extract(outState ? { traceparent: outParent, tracestate: outState } : { traceparent: outParent });
  if (!back || !api.isSpanContextValid(back) || back.traceId !== outTrace || back.spanId !== outSpan ||
      back.traceFlags !== parseInt(outFlags, 16)) {
    failures.push(`OpenTelemetry cannot read what we send: ${outParent}`);
    return;
  }
  const backState = back.traceState ? back.traceState.serialize() : '';
  const l1Keys = outState.split(',').filter(Boolean).every((m) => /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=/.test(m));
  if (!l1Keys) bump('our tracestate holds Level 2-only keys OpenTelemetry (Level 1) drops on reading');
  else if (backState !== outState) failures.push(`OpenTelemetry reads our tracestate differently: ${outState} -> ${backState}`);
  else bump('read back by OpenTelemetry unchanged');
});

console.log(`${total} cases, OpenTelemetry @opentelemetry/core ${JSON.parse(readFileSync(process.env.OTEL_MODULES + '/@opentelemetry/core/package.json', 'utf8')).version}`);
for (const [k, v] of Object.entries(count).sort()) console.log(`  ${v}\t${k}`);
console.log(`  ${failures.length}\tdisagreements`);
failures.slice(0, 20).forEach((f) => console.log('    ' + f));
process.exit(failures.length === 0 ? 0 : 1);
