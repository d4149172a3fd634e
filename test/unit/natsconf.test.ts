import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfError, type ConfMap, parseConf, parseConfFile, renderConf, toPlain } from '../../src/config/natsconf.js';

const tmp = mkdtempSync(join(tmpdir(), 'natsconf-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const newDir = (): string => {
  const d = join(tmp, `d${dirs++}`);
  mkdirSync(d);
  return d;
};

const plain = (text: string, env: Record<string, string> = {}): Record<string, unknown> =>
  toPlain(parseConf(text, { env })) as Record<string, unknown>;

function kindOf(m: ConfMap, key: string): string {
  return m.entries.get(key)!.value.kind;
}

function parseError(text: string, file?: string): ConfError {
  try {
    parseConf(text, { file, env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfError, `expected a ConfError, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected a syntax error for ${JSON.stringify(text)}`);
}

describe('NATS config syntax', () => {
  it('reads key: value, key = value and key value, with new lines, commas or semicolons between entries', () => {
    assert.deepEqual(plain('a: 1\nb = 2\nc 3\nd: 4, e: 5; f: 6'), { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    // Around the separator any blanks; without a separator the value may even be on the next line.
    assert.deepEqual(plain('a   :   1\nb\n  2\n'), { a: 1, b: 2 });
  });

  it('reads nested maps and arrays, with or without separators, and a file wrapped in braces (JSON)', () => {
    assert.deepEqual(plain('m { x: 1, y = [ {z: true}, {z: off} ] }\nn: {}\no: []'), {
      m: { x: 1, y: [{ z: true }, { z: false }] },
      n: {},
      o: [],
    });
    assert.deepEqual(plain('arr: [\n  1\n  "two", three\n  # comment\n  4,\n]'), { arr: [1, 'two', 'three', 4] });
    assert.deepEqual(plain('{\n  "a": 1,\n  "b": {"c": [true, "x", 2 ]},\n  "d": "e"\n}\n'), { a: 1, b: { c: [true, 'x', 2] }, d: 'e' });
    assert.deepEqual(plain("m {\n  'single': 1\n  \"double key\" = 2\n}"), { m: { single: 1, 'double key': 2 } });
  });

  it('skips # and // comments, also after values and inside blocks', () => {
    assert.deepEqual(plain('# top\n// top too\na: 1 # after\nb: 2 // after\nm {\n  # inside\n  c: 3 // inside\n}\n'), {
      a: 1,
      b: 2,
      m: { c: 3 },
    });
    // Inside an unquoted string, # is text.
    assert.deepEqual(plain('a: foo#bar'), { a: 'foo#bar' });
  });

  it('reads quoted and unquoted strings, escapes in double quotes only, and ( ) blocks', () => {
    assert.deepEqual(plain('a: "tab\\there \\"q\\" back\\\\ nl\\n hex\\x41"\nb: \'raw \\n $x\'\nc: unquoted\nd: nats://u:p@host:4222\ne: ""'), {
      a: 'tab\there "q" back\\ nl\n hexA',
      b: 'raw \\n $x',
      c: 'unquoted',
      d: 'nats://u:p@host:4222',
      e: '',
    });
    assert.deepEqual(plain('text: (\nline one\n  (not the end)\n)\nafter: 1'), { text: '\nline one\n  (not the end)\n', after: 1 });
  });

  it('reads booleans in every spelling, in any case, unless quoted', () => {
    assert.deepEqual(plain('a: true\nb: FALSE\nc: yes\nd: No\ne: on\nf: OFF\ng: "true"'), {
      a: true,
      b: false,
      c: true,
      d: false,
      e: true,
      f: false,
      g: 'true',
    });
  });

  it('reads integers with size suffixes: a letter is a power of 1000, with b/i a power of 1024', () => {
    assert.deepEqual(plain('a: 1k\nb: 1kb\nc: 1KiB\nd: 2m\ne: 2MB\nf: 3g\ng: 3GB\nh: 1t\ni: 1TB\nj: -5\nk: -3kb\nl: 0'), {
      a: 1000,
      b: 1024,
      c: 1024,
      d: 2_000_000,
      e: 2 * 1024 ** 2,
      f: 3_000_000_000,
      g: 3 * 1024 ** 3,
      h: 1e12,
      i: 1024 ** 4,
      j: -5,
      k: -3072,
      l: 0,
    });
    const m = parseConf('big: 7EB\nwrap: 10EB', { env: {} });
    const big = m.entries.get('big')!.value;
    assert.equal(big.kind === 'int' && big.value, 7n * 1024n ** 6n);
    // Like Go's int64 arithmetic, an overflowing suffix multiplication wraps around.
    const wrap = m.entries.get('wrap')!.value;
    assert.equal(wrap.kind === 'int' && wrap.value, BigInt.asIntN(64, 10n * 1024n ** 6n));
  });

  it('keeps integers, floats, strings that start with digits, IP addresses and dates apart', () => {
    const m = parseConf('i: 42\nf: 1.5\nip: 127.0.0.1:4222\nhost: 10.0.0.1\ns: 4222abc\nd: 2016-05-04T18:53:41Z', { env: {} });
    assert.equal(kindOf(m, 'i'), 'int');
    assert.equal(kindOf(m, 'f'), 'float');
    assert.equal(kindOf(m, 'ip'), 'string');
    assert.equal(kindOf(m, 'host'), 'string');
    assert.equal(kindOf(m, 's'), 'string');
    assert.equal(kindOf(m, 'd'), 'date');
    assert.deepEqual(toPlain(m), {
      i: 42,
      f: 1.5,
      ip: '127.0.0.1:4222',
      host: '10.0.0.1',
      s: '4222abc',
      d: new Date(Date.UTC(2016, 4, 4, 18, 53, 41)),
    });
  });

  it('reads durations as strings, quoted or not, except when the last unit is a size letter', () => {
    assert.deepEqual(plain('a: "10s"\nb: 10s\nc: 1h30m\nd: 500ms\ne: 10m\nf: "10m"'), {
      a: '10s',
      b: '10s',
      c: '1h30m',
      d: '500ms',
      e: 10_000_000,
      f: '10m',
    });
  });

  it('resolves $variables from the enclosing maps, defined before the reference, and marks them used', () => {
    const m = parseConf('A: 1\nb: $A\nc { d: $A, A: "inner", e: $A, f: { g: $e } }\nh: [$A, $b]', { env: {} });
    assert.deepEqual(toPlain(m), { A: 1, b: 1, c: { d: 1, A: 'inner', e: 'inner', f: { g: 'inner' } }, h: [1, 1] });
    assert.equal(m.entries.get('A')!.usedAsVariable, true);
    assert.equal(m.entries.get('h')!.usedAsVariable, false);
  });

  it('falls back to environment variables, read as config values', () => {
    const env = { PORT: '4333', NAME: 'from-env', LIST: '[1, "a" ]', SIZE: '2MB', REF: '$NAME', EMPTY: '' };
    assert.deepEqual(plain('p: $PORT\nn: $NAME\nl: $LIST\ns: $SIZE\nr: $REF\ne: $EMPTY\nq: "$NAME"', env), {
      p: 4333,
      n: 'from-env',
      l: [1, 'a'],
      s: 2 * 1024 * 1024,
      r: 'from-env',
      e: '',
      q: '$NAME',
    });
    // A key in scope wins over the environment.
    assert.deepEqual(plain('NAME: "from-file"\nn: $NAME', env), { NAME: 'from-file', n: 'from-file' });
  });

  it('keeps unquoted bcrypt hashes as strings', () => {
    assert.deepEqual(plain('password: $2a$11$W2zko751KUvVy59mUTWmpOdWQ4Qd8rN7Xfmo9Vx3H7VtM3T1zWdbe'), {
      password: '$2a$11$W2zko751KUvVy59mUTWmpOdWQ4Qd8rN7Xfmo9Vx3H7VtM3T1zWdbe',
    });
  });

  it('includes files relative to the including file, at the top level and inside maps, nested', () => {
    const dir = newDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'main.conf'), 'top: 0\ninclude sub/a.conf\nm {\n  include "sub/b.conf"\n  w: 2\n}\n');
    writeFileSync(join(dir, 'sub', 'a.conf'), "x: 1\ninclude 'b.conf'\n");
    writeFileSync(join(dir, 'sub', 'b.conf'), 'y: "from b"\n');
    assert.deepEqual(toPlain(parseConfFile(join(dir, 'main.conf'), { env: {} })), {
      top: 0,
      x: 1,
      y: 'from b',
      m: { y: 'from b', w: 2 },
    });
  });

  it('reports errors in included files with their own file and line, and refuses include cycles', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'main.conf'), 'a: 1\ninclude bad.conf\n');
    writeFileSync(join(dir, 'bad.conf'), 'ok: 1\nbroken: [1,,2]\n');
    assert.throws(
      () => parseConfFile(join(dir, 'main.conf'), { env: {} }),
      (e: unknown) =>
        e instanceof ConfError &&
        e.message.includes(`${join(dir, 'main.conf')}:2:1: error parsing include file 'bad.conf'`) &&
        e.message.includes(`${join(dir, 'bad.conf')}:2:12: Unexpected array value terminator`),
    );
    writeFileSync(join(dir, 'loop.conf'), 'include loop.conf\n');
    assert.throws(() => parseConfFile(join(dir, 'loop.conf'), { env: {} }), /include cycle/);
    assert.throws(() => parseConfFile(join(dir, 'missing.conf'), { env: {} }), /error opening config file: open .*missing\.conf: no such file or directory/);
  });

  it('reports syntax errors with the file, line and column', () => {
    const cases: [string, RegExp][] = [
      ['a: 1\nb: 1.5MB\n', /^f\.conf:2:7: Expected a top-level value to end with a new line, comment or EOF, but got 'M' instead\.$/],
      ['x=.', /^f\.conf:1:3: Floats must start with a digit$/],
      ['m {\n  a: 1\n', /^f\.conf:3:1: Unexpected EOF processing map\.$/],
      ['a: "open', /Unexpected EOF\./],
      ['a: [1,,2]', /^f\.conf:1:7: Unexpected array value terminator ','\.$/],
      ['a: 99999999999999999999', /^f\.conf:1:4: integer '99999999999999999999' is out of the range$/],
      ['a: 1kbb', /unknown size suffix/],
      ['a: "bad \\q"', /^f\.conf:1:10: Invalid escape character 'q'/],
      ['a: 1-2', /All ISO8601 dates must be in full Zulu form/],
      ['a: 2016-13-04T18:53:41Z', /expected Zulu formatted DateTime/],
      ['a =\n1', /^f\.conf:1:4: Expected value but found new line$/],
      ['a: $nope', /^f\.conf:1:4: variable reference for 'nope' can not be found$/],
      ['a: 1 b: 2', /but got 'b' instead/],
      ['m { a: 1 ]', /Expected a map value terminator "," or a map terminator "}", but got '\]' instead/],
      [': 1', /Unexpected key separator ':'/],
    ];
    for (const [text, re] of cases) assert.match(parseError(text, 'f.conf').message, re, JSON.stringify(text));
    assert.match(parseError('a: $BAD').message, /^<config>:1:4: variable reference for 'BAD' can not be found$/);
    assert.throws(() => parseConf('a: $BAD', { env: { BAD: 'a b' } }), /variable reference for 'BAD' could not be parsed/);
  });

  it('later values of the same key replace earlier ones; keys keep their case', () => {
    assert.deepEqual(plain('a: 1\na: 2\nA: 3'), { a: 2, A: 3 });
  });

  it('records where each key and value starts', () => {
    const m = parseConf('a: 1\nblock {\n  inner: "x"\n}\n', { file: 'pos.conf', env: {} });
    const block = m.entries.get('block')!;
    assert.deepEqual(block.keyPos, { file: 'pos.conf', line: 2, col: 1 });
    assert.equal(block.value.kind, 'map');
    if (block.value.kind !== 'map') return;
    const inner = block.value.entries.get('inner')!;
    assert.deepEqual(inner.keyPos, { file: 'pos.conf', line: 3, col: 3 });
    assert.deepEqual(inner.value.pos, { file: 'pos.conf', line: 3, col: 10 });
  });

  it('writes values back in a form it reads the same', () => {
    const text =
      'a: "q\\"uote\\n\\ttab"\nb: [1, 2.5, true, "x" ]\nc { "odd key": 1, d: { e: [] } }\nf: 2016-05-04T18:53:41Z\ng: 3.0\nh: -7\ninclude_me: 1\n';
    const m = parseConf(text, { env: {} });
    const again = parseConf(renderConf(m.entries.values()), { env: {} });
    assert.deepEqual(toPlain(again), toPlain(m));
    assert.equal(again.entries.get('g')!.value.kind, 'float');
  });
});
