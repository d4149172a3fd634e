/**
 * protobufjs reflection (loadSync + lookupType) against pbjs static code and against our hand-written hot paths
 * (src/proto/hot.ts), on the messages every publish costs.
 *   npm run bench:codec [-- --n 1000000 --rounds 5]
 *
 * The static module is generated at run time, so protobufjs-cli stays out of package.json. It goes under the project
 * (.tmp/codec-bench) so that its require('protobufjs/minimal') resolves to our node_modules, i.e. the same protobufjs
 * the reflection variant uses.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import { decodeAck, decodePubMsg, encodeMsgProto, encodePubAck } from '../../src/proto/hot.js';
import { median } from './median.js';

const PBJS = 'protobufjs-cli@2.7.1';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

// Compiled to dist/test/bench.
const projectDir = fileURLToPath(new URL('../../../', import.meta.url));
const protoFiles = ['protocol.proto', 'spb.proto'].map((f) => join(projectDir, 'proto', f));

interface MessageType {
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
}
type Variant = 'reflection' | 'static' | 'hand';

function loadStatic(): Record<string, MessageType> {
  const outDir = join(projectDir, '.tmp', 'codec-bench');
  mkdirSync(outDir, { recursive: true });
  // .cjs because the project is "type": "module" and the output is CommonJS.
  const out = join(outDir, 'static.cjs');
  execFileSync('npx', ['--yes', '-p', PBJS, 'pbjs', '-t', 'static-module', '-w', 'commonjs', '-o', out, ...protoFiles], {
    cwd: projectDir,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  return createRequire(import.meta.url)(out).pb;
}

const reflectionRoot = protobuf.loadSync(protoFiles);
const staticPb = loadStatic();
const types = (name: string): Record<'reflection' | 'static', MessageType> => ({ reflection: reflectionRoot.lookupType(`pb.${name}`), static: staticPb[name]! });

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
const nowNanos = BigInt(Date.now()) * 1_000_000n + 123_456n;
const timestamp = new protobuf.util.Long(Number(BigInt.asIntN(32, nowNanos)), Number(BigInt.asIntN(32, nowNanos >> 32n)), false);

const pubMsg = { clientID: 'bench-pub1', guid: '6EHWd7wjIU1OzENdtHpNqS', subject: 'bench.subject', reply: '', data: bytes(128), connID: bytes(22) };
const pubAck = { guid: '6EHWd7wjIU1OzENdtHpNqS' };
const msgProto = { sequence: 1_000_123, subject: 'bench.subject', reply: '', data: bytes(128), timestamp };
const ack = { subject: 'bench.subject', sequence: 1_000_123 };

interface Case {
  name: string;
  op: Record<Variant, () => number>;
}

function encodeCase(name: string, message: object, hand: () => Uint8Array): Case {
  const t = types(name);
  const ref = Buffer.from(t.reflection.encode(message).finish());
  if (!ref.equals(t.static.encode(message).finish()) || !ref.equals(hand())) throw new Error(`${name}: the variants encode differently`);
  return {
    name: `${name} encode`,
    op: {
      reflection: () => t.reflection.encode(message).finish().length,
      static: () => t.static.encode(message).finish().length,
      hand: () => hand().length,
    },
  };
}

function decodeCase(name: string, message: object, hand: (wire: Uint8Array) => { subject: string }): Case {
  const t = types(name);
  const wire = t.reflection.encode(message).finish();
  const r = JSON.stringify(t.reflection.decode(wire));
  const s = JSON.stringify(t.static.decode(wire));
  if (r !== s) throw new Error(`${name}: the two variants decode differently:\n${r}\n${s}`);
  // Reading a field keeps the decoded object alive, as a caller would.
  const read = (m: object): number => (m as { subject: string }).subject.length;
  return {
    name: `${name} decode`,
    op: { reflection: () => read(t.reflection.decode(wire)), static: () => read(t.static.decode(wire)), hand: () => read(hand(wire)) },
  };
}

let sink = 0;

function opsPerSec(op: () => number, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += op();
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M`;

const cases = [
  decodeCase('PubMsg', pubMsg, decodePubMsg),
  encodeCase('PubAck', pubAck, () => encodePubAck(pubAck.guid)),
  encodeCase('MsgProto', msgProto, () => encodeMsgProto({ ...msgProto, timestamp: nowNanos })),
  decodeCase('Ack', ack, decodeAck),
];
const variants: Variant[] = ['reflection', 'static', 'hand'];

console.log(`node ${process.version}, protobufjs ${createRequire(import.meta.url)('protobufjs/package.json').version}, ${PBJS}`);
console.log(`${N} ops x ${ROUNDS} rounds, median ops/s\n`);
console.log(`${'case'.padEnd(16)}${'reflection'.padStart(12)}${'static'.padStart(12)}${'hand'.padStart(12)}${'static/refl'.padStart(13)}${'hand/refl'.padStart(11)}`);
for (const c of cases) {
  for (const v of variants) opsPerSec(c.op[v], Math.min(N, 200_000));
  const runs: Record<Variant, number[]> = { reflection: [], static: [], hand: [] };
  // Alternating the variants within each round spreads GC and thermal drift over both.
  for (let r = 0; r < ROUNDS; r++) for (const v of r % 2 ? [...variants].reverse() : variants) runs[v].push(opsPerSec(c.op[v], N));
  const refl = median(runs.reflection);
  const stat = median(runs.static);
  const hand = median(runs.hand);
  console.log(
    `${c.name.padEnd(16)}${fmt(refl).padStart(12)}${fmt(stat).padStart(12)}${fmt(hand).padStart(12)}${(stat / refl).toFixed(2).padStart(13)}${(hand / refl).toFixed(2).padStart(11)}`,
  );
}
if (sink === 0) console.log('(nothing measured)');
