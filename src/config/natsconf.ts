/**
 * A reader for the NATS configuration format (the format of nats-server and nats-streaming-server config files),
 * written from the behaviour of nats-server's conf package (v2.9):
 *
 * - `key: value`, `key = value` and `key value`; keys may be quoted with `"` or `'` (no escapes in keys);
 * - maps `{ ... }` and arrays `[ ... ]`, entries separated by new lines, `,` or `;`; the whole file may be wrapped in `{ }`;
 * - comments from `#` or `//` to the end of the line;
 * - double-quoted strings with the escapes `\t \n \r \" \\ \xHH`, single-quoted raw strings, unquoted strings (ended by
 *   a space, a tab, a new line, `,`, `;`, `]` or `}`), and `( ... )` blocks whose `)` stands alone on a line;
 * - unquoted `true/false/yes/no/on/off` (any case) are booleans;
 * - integers with an optional size suffix (`k`, `m`, `g`, `t`, `p`, `e` are powers of 1000, and with `b`/`i`/`ib` of 1024:
 *   `1k` = 1000, `1kb` = `1KiB` = 1024), floats (`1.5`), Zulu date-times (`2016-05-04T18:53:41Z`); a token that starts
 *   with a digit but is not a number is a string (`10s`, `127.0.0.1:4222`, `1h30m`), and so a duration with the
 *   `m` (or another size letter) as its last unit is a number: `10m` is 10000000;
 * - `include <path>` (quoted or not) merges the top-level keys of another file into the current map; the path is
 *   relative to the directory of the including file;
 * - `$name` (unquoted) is a variable: the value of `name` in the current map or an enclosing one (only keys set
 *   before the reference), else the environment variable, itself read as a config value.
 *
 * Every value keeps the file, line and column where it starts, so that errors can point at it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ConfPos {
  file: string;
  line: number;
  col: number;
}

export type ConfNode =
  | { kind: 'string'; value: string; pos: ConfPos }
  | { kind: 'bool'; value: boolean; pos: ConfPos }
  /** An int64: the value after the size suffix, and the text as written. */
  | { kind: 'int'; value: bigint; text: string; pos: ConfPos }
  | { kind: 'float'; value: number; pos: ConfPos }
  | { kind: 'date'; value: Date; pos: ConfPos }
  | { kind: 'array'; items: ConfNode[]; pos: ConfPos }
  | ConfMap;

export interface ConfMap {
  kind: 'map';
  entries: Map<string, ConfEntry>;
  pos: ConfPos;
}

export interface ConfEntry {
  /** The key as written (keys are case-sensitive in the file; readers may compare them case-insensitively). */
  key: string;
  keyPos: ConfPos;
  value: ConfNode;
  /** The key was referenced as a `$variable` somewhere after it. */
  usedAsVariable: boolean;
}

export class ConfError extends Error {
  constructor(
    readonly reason: string,
    readonly pos?: ConfPos,
  ) {
    super(pos ? `${formatPos(pos)}: ${reason}` : reason);
  }
}

export function formatPos(pos: ConfPos): string {
  return `${pos.file || '<config>'}:${pos.line}:${pos.col}`;
}

export interface ParseOptions {
  /** The file name shown in errors; includes are resolved against its directory (the working directory when empty). */
  file?: string;
  /** Where `$NAME` looks when no key of that name is in scope; process.env by default. */
  env?: Record<string, string | undefined>;
}

const MAX_INCLUDE_DEPTH = 32;

/** Parses config text into a map of positioned values. Throws ConfError on a syntax error. */
export function parseConf(text: string, options: ParseOptions = {}): ConfMap {
  return new Parser(text, options.file ?? '', options.env ?? process.env, []).parseTop();
}

/** Reads and parses a config file. Throws ConfError when it cannot be read or parsed. */
export function parseConfFile(path: string, options: Omit<ParseOptions, 'file'> = {}): ConfMap {
  return readAndParse(path, options.env ?? process.env, []);
}

function readAndParse(path: string, env: Record<string, string | undefined>, chain: string[]): ConfMap {
  if (chain.includes(path)) throw new ConfError(`include cycle: ${[...chain, path].join(' -> ')}`);
  if (chain.length >= MAX_INCLUDE_DEPTH) throw new ConfError(`includes nested more than ${MAX_INCLUDE_DEPTH} deep at ${path}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfError(`error opening config file: open ${path}: ${describeFsError(err)}`);
  }
  return new Parser(text, path, env, [...chain, path]).parseTop();
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.message;
  }
}

/** Converts a parsed value to plain JavaScript: strings, booleans, numbers, Dates, arrays and objects. */
export function toPlain(node: ConfNode): unknown {
  switch (node.kind) {
    case 'string':
    case 'bool':
    case 'float':
    case 'date':
      return node.value;
    case 'int':
      return Number(node.value);
    case 'array':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of node.entries) out[k] = toPlain(e.value);
      return out;
    }
  }
}

const EOF = '';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const SIZE_SUFFIXES: Record<string, bigint> = {
  '': 1n,
  k: 1000n,
  kb: 1024n,
  ki: 1024n,
  kib: 1024n,
  m: 1000n ** 2n,
  mb: 1024n ** 2n,
  mi: 1024n ** 2n,
  mib: 1024n ** 2n,
  g: 1000n ** 3n,
  gb: 1024n ** 3n,
  gi: 1024n ** 3n,
  gib: 1024n ** 3n,
  t: 1000n ** 4n,
  tb: 1024n ** 4n,
  ti: 1024n ** 4n,
  tib: 1024n ** 4n,
  p: 1000n ** 5n,
  pb: 1024n ** 5n,
  pi: 1024n ** 5n,
  pib: 1024n ** 5n,
  e: 1000n ** 6n,
  eb: 1024n ** 6n,
  ei: 1024n ** 6n,
  eib: 1024n ** 6n,
};

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
/** Space or tab: what may stand between a key's separator and its value, and after a value. */
const isBlank = (c: string): boolean => c === ' ' || c === '\t';
const isNL = (c: string): boolean => c === '\n' || c === '\r';
/** Unicode white space, new lines included. */
const isSpace = (c: string): boolean => c !== EOF && /\s/u.test(c);
const isKeySep = (c: string): boolean => c === '=' || c === ':';
const isSizeLetter = (c: string): boolean => 'kKmMgGtTpPeE'.includes(c) && c !== EOF;
const BOOLS: Record<string, boolean> = { true: true, yes: true, on: true, false: false, no: false, off: false };

function show(c: string): string {
  if (c === EOF) return 'EOF';
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  return c;
}

class Parser {
  private i = 0;
  /** Offsets where each line starts, for line/column numbers. */
  private readonly lineStarts: number[] = [0];
  /** The maps being filled, innermost last: where `$name` is looked up. */
  private readonly scopes: ConfMap[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
    private readonly env: Record<string, string | undefined>,
    private readonly chain: string[],
  ) {
    for (let k = 0; k < src.length; k++) if (src[k] === '\n') this.lineStarts.push(k + 1);
  }

  // ---- positions and errors

  private posAt(offset: number): ConfPos {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }

  private fail(reason: string, offset = this.i): never {
    throw new ConfError(reason, this.posAt(offset));
  }

  // ---- characters

  private peek(ahead = 0): string {
    const k = this.i + ahead;
    if (k >= this.src.length) return EOF;
    const cp = this.src.codePointAt(k)!;
    return String.fromCodePoint(cp);
  }

  private next(): string {
    const c = this.peek();
    this.i += c.length;
    return c;
  }

  private skipComment(): void {
    while (this.i < this.src.length && !isNL(this.src[this.i]!)) this.i++;
  }

  /** At `#` or `//`: a comment starts here. */
  private atComment(): boolean {
    const c = this.peek();
    return c === '#' || (c === '/' && this.peek(1) === '/');
  }

  // ---- structure

  parseTop(): ConfMap {
    const top: ConfMap = { kind: 'map', entries: new Map(), pos: this.posAt(0) };
    this.scopes.push(top);
    for (;;) {
      const c = this.peek();
      if (c === EOF) break;
      if (isSpace(c) || c === '{' || c === '}') {
        // A whole file may be wrapped in braces, JSON style.
        this.next();
        continue;
      }
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === '/') this.fail('Unexpected EOF.');
      this.parseEntry(top, 'top');
      this.valueEnd('top');
    }
    this.scopes.pop();
    return top;
  }

  /** After a value: blanks, then a comment, a new line, EOF or a separator (which one depends on where we are). */
  private valueEnd(where: 'top' | 'map' | 'array'): 'next' | 'close' {
    for (;;) {
      const c = this.peek();
      if (isBlank(c)) {
        this.next();
        continue;
      }
      if (this.atComment()) {
        this.skipComment();
        return 'next';
      }
      if (where === 'top') {
        if (isNL(c) || c === EOF || c === ';' || c === ',' || c === '}') {
          if (c !== EOF) this.next();
          return 'next';
        }
        this.fail(`Expected a top-level value to end with a new line, comment or EOF, but got '${show(c)}' instead.`);
      }
      if (where === 'map') {
        if (c === ';' || c === ',' || isNL(c)) {
          this.next();
          return 'next';
        }
        if (c === '}') return 'close';
        this.fail(`Expected a map value terminator "," or a map terminator "}", but got '${show(c)}' instead.`);
      }
      if (c === ',' || isNL(c)) {
        this.next();
        return 'next';
      }
      if (c === ']') return 'close';
      this.fail(`Expected an array value terminator "," or an array terminator "]", but got '${show(c)}' instead.`);
    }
  }

  /** One `key [sep] value` (or `include path`) into `into`. */
  private parseEntry(into: ConfMap, where: 'top' | 'map'): void {
    const keyStart = this.i;
    const c = this.peek();
    if (isKeySep(c)) this.fail(`Unexpected key separator '${c}'`);
    let key: string;
    let quoted = false;
    if (c === '"' || c === "'") {
      quoted = true;
      this.next();
      const end = this.src.indexOf(c, this.i);
      if (end < 0) {
        this.i = this.src.length;
        this.fail(where === 'top' ? 'Unexpected EOF.' : `Unexpected EOF processing ${c === '"' ? 'double ' : ''}quoted map key.`);
      }
      key = this.src.slice(this.i, end);
      this.i = end + 1;
    } else {
      const start = this.i;
      for (;;) {
        const d = this.peek();
        if (d === EOF) {
          if (where === 'map') this.fail('Unexpected EOF processing map key.');
          break;
        }
        if (isSpace(d) || isKeySep(d)) break;
        this.next();
      }
      key = this.src.slice(start, this.i);
    }
    const keyPos = this.posAt(keyStart);
    if (!quoted && key.toLowerCase() === 'include' && isSpace(this.peek())) {
      this.parseInclude(into, keyPos);
      return;
    }
    // Between the key and the value: any white space (new lines too), then an optional separator.
    while (isSpace(this.peek())) this.next();
    let sawSeparator = false;
    if (isKeySep(this.peek())) {
      this.next();
      sawSeparator = true;
    }
    if (where === 'map' || !sawSeparator) {
      // Inside a map (and at the top level when there is no separator) new lines may come before the value.
      while (isSpace(this.peek())) this.next();
    }
    if (where === 'map') {
      const d = this.peek();
      if (d === ',') this.fail("Unexpected map value terminator ','.");
      if (d === '}' || d === EOF) this.fail(`Expected a value for key '${key}'`);
    } else if (!sawSeparator && this.peek() === EOF) {
      this.fail(`Expected a value for key '${key}'`);
    }
    const value = this.parseValue();
    this.set(into, key, keyPos, value);
  }

  private set(into: ConfMap, key: string, keyPos: ConfPos, value: ConfNode): void {
    const prev = into.entries.get(key);
    if (prev) into.entries.delete(key);
    into.entries.set(key, { key, keyPos, value, usedAsVariable: prev?.usedAsVariable ?? false });
  }

  private parseInclude(into: ConfMap, keyPos: ConfPos): void {
    while (isBlank(this.peek())) this.next();
    const c = this.peek();
    let path: string;
    if (c === '"' || c === "'") {
      this.next();
      const end = this.src.indexOf(c, this.i);
      if (end < 0) this.fail(`Unexpected EOF in ${c === '"' ? 'double ' : ''}quoted include`, this.src.length);
      path = this.src.slice(this.i, end);
      this.i = end + 1;
    } else {
      if (c === '[') this.fail('Expected include value but found start of an array');
      if (c === '{') this.fail('Expected include value but found start of a map');
      if (c === '(') this.fail('Expected include value but found start of a block');
      if (isDigit(c) || c === '-') this.fail('Expected include value but found start of a number');
      if (c === '\\') this.fail('Expected include value but found escape sequence');
      if (isNL(c) || c === EOF) this.fail('Expected include value but found new line');
      const start = this.i;
      for (;;) {
        const d = this.peek();
        if (d === EOF || isNL(d) || isBlank(d) || d === ';' || d === '}') break;
        if (d === "'") {
          path = this.src.slice(start, this.i);
          this.next();
          break;
        }
        this.next();
      }
      path ??= this.src.slice(start, this.i);
    }
    const target = join(dirname(this.file || '.'), path);
    let included: ConfMap;
    try {
      included = readAndParse(target, this.env, this.chain);
    } catch (err) {
      if (err instanceof ConfError) throw new ConfError(`error parsing include file '${path}', ${err.message}`, keyPos);
      throw err;
    }
    for (const [k, e] of included.entries) this.set(into, k, e.keyPos, e.value);
  }

  private parseValue(): ConfNode {
    while (isBlank(this.peek())) this.next();
    const start = this.i;
    const pos = this.posAt(start);
    const c = this.peek();
    if (c === '[') {
      this.next();
      return this.parseArray(pos);
    }
    if (c === '{') {
      this.next();
      return this.parseMap(pos);
    }
    if (c === "'") {
      this.next();
      const end = this.src.indexOf("'", this.i);
      if (end < 0) this.fail('Unexpected EOF.', this.src.length);
      const value = this.src.slice(this.i, end);
      this.i = end + 1;
      return { kind: 'string', value, pos };
    }
    if (c === '"') {
      this.next();
      return { kind: 'string', value: this.parseDoubleQuoted(), pos };
    }
    if (c === '-') {
      this.next();
      return this.parseNegative(start, pos);
    }
    if (c === '(') {
      this.next();
      return this.parseBlock(pos);
    }
    if (isDigit(c)) return this.parseNumberish(start, pos);
    if (c === '.') this.fail('Floats must start with a digit');
    if (isNL(c)) this.fail('Expected value but found new line');
    return this.parseUnquoted(start, pos, '');
  }

  private parseArray(pos: ConfPos): ConfNode {
    const items: ConfNode[] = [];
    const scopeDepth = this.scopes.length;
    for (;;) {
      const c = this.peek();
      if (isSpace(c)) {
        this.next();
        continue;
      }
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === ',') this.fail("Unexpected array value terminator ','.");
      if (c === ']') {
        this.next();
        break;
      }
      if (c === EOF) this.fail('Unexpected EOF processing array.');
      items.push(this.parseValue());
      if (this.valueEnd('array') === 'close') {
        this.next();
        break;
      }
    }
    this.scopes.length = scopeDepth;
    return { kind: 'array', items, pos };
  }

  private parseMap(pos: ConfPos): ConfMap {
    const map: ConfMap = { kind: 'map', entries: new Map(), pos };
    this.scopes.push(map);
    for (;;) {
      const c = this.peek();
      if (isSpace(c)) {
        this.next();
        continue;
      }
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === '}') {
        this.next();
        break;
      }
      if (isKeySep(c)) this.fail(`Unexpected key separator '${c}'.`);
      if (c === ']') this.fail("Unexpected array end ']' processing map.");
      if (c === EOF) this.fail('Unexpected EOF processing map.');
      this.parseEntry(map, 'map');
      if (this.valueEnd('map') === 'close') {
        this.next();
        break;
      }
    }
    this.scopes.pop();
    return map;
  }

  private parseDoubleQuoted(): string {
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === EOF) this.fail('Unexpected EOF.');
      if (c === '"') return out;
      if (c === '\\') out += this.parseEscape();
      else out += c;
    }
  }

  /** After a backslash, in a double-quoted or unquoted string. */
  private parseEscape(): string {
    const at = this.i;
    const c = this.next();
    switch (c) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case '"':
        return '"';
      case '\\':
        return '\\';
      case 'x': {
        const hex = this.src.slice(this.i, this.i + 2);
        if (hex.length < 2 || isNL(hex[0]!) || isNL(hex[1]!)) this.fail("Expected two hexadecimal digits after '\\x', but hit end of line");
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail(`Expected two hexadecimal digits after '\\x', but got '${hex}'`);
        this.i += 2;
        return String.fromCharCode(parseInt(hex, 16));
      }
    }
    return this.fail(
      `Invalid escape character '${show(c)}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
      at,
    );
  }

  /**
   * An unquoted string from `start`; `prefix` is what was already read as text (escapes resolved). Ends before a space,
   * tab, new line, `,`, `;`, `]`, `}` or EOF, or at a `'` (which is consumed). Without escapes, a boolean word is a
   * boolean and `$name` a variable.
   */
  private parseUnquoted(start: number, pos: ConfPos, prefix: string): ConfNode {
    let text = prefix;
    let escaped = false;
    for (;;) {
      const c = this.peek();
      if (c === EOF || isNL(c) || isBlank(c) || c === ';' || c === ',' || c === ']' || c === '}') break;
      this.next();
      if (c === "'") break;
      if (c === '\\') {
        escaped = true;
        text += this.parseEscape();
      } else text += c;
    }
    if (!escaped) {
      const b = BOOLS[text.toLowerCase()];
      if (b !== undefined) return { kind: 'bool', value: b, pos };
      if (text.startsWith('$')) return this.resolveVariable(text.slice(1), start, pos);
    }
    return { kind: 'string', value: text, pos };
  }

  private parseBlock(pos: ConfPos): ConfNode {
    // The block ends at a ')' alone on its line; the text keeps the new line before it.
    const from = this.i;
    let k = from;
    for (;;) {
      const close = this.src.indexOf(')', k);
      if (close < 0) this.fail('Unexpected EOF processing block.', this.src.length);
      const before = this.src[close - 1];
      const after = this.src[close + 1];
      if (close > from && before === '\n' && (after === undefined || after === '\n')) {
        this.i = close + 1;
        return { kind: 'string', value: this.src.slice(from, close), pos };
      }
      k = close + 1;
    }
  }

  /** After a leading '-': an integer (with an optional size suffix) or a float. */
  private parseNegative(start: number, pos: ConfPos): ConfNode {
    const c = this.peek();
    if (!isDigit(c)) this.fail(c === '.' ? "Floats must start with a digit, not '.'." : `Expected a digit but got '${show(c)}'.`);
    while (isDigit(this.peek())) this.next();
    const d = this.peek();
    if (d === '.') {
      this.next();
      return this.parseFloatTail(start, pos);
    }
    if (isSizeLetter(d)) {
      this.next();
      return this.parseSuffixed(start, pos);
    }
    return this.makeInt(start, pos);
  }

  /** A value starting with a digit: an integer, a float, an IP-like string, a date-time, or a string. */
  private parseNumberish(start: number, pos: ConfPos): ConfNode {
    while (isDigit(this.peek())) this.next();
    const c = this.peek();
    if (c === '-') {
      if (this.i - start !== 4) this.fail('All ISO8601 dates must be in full Zulu form.');
      this.next();
      return this.parseDate(start, pos);
    }
    if (c === '.') {
      this.next();
      return this.parseFloatTail(start, pos);
    }
    if (isSizeLetter(c)) {
      this.next();
      return this.parseSuffixed(start, pos);
    }
    if (c === EOF || isNL(c) || isBlank(c) || c === '}' || c === ';' || c === ',') return this.makeInt(start, pos);
    // Anything else makes the whole token a string ('10s', '4222abc'); the character itself is part of it.
    this.next();
    return this.parseUnquoted(start, pos, this.src.slice(start, this.i));
  }

  /** After the size letter: any run of b/B/i/I; then the number must end, or the token is a string ('1h' is not, '1kx' is). */
  private parseSuffixed(start: number, pos: ConfPos): ConfNode {
    while ('bBiI'.includes(this.peek()) && this.peek() !== EOF) this.next();
    const c = this.peek();
    if (c === EOF || isNL(c) || isBlank(c) || c === '}' || c === ';' || c === ',' || isDigit(c)) return this.makeInt(start, pos);
    return this.parseUnquoted(start, pos, this.src.slice(start, this.i));
  }

  private makeInt(start: number, pos: ConfPos): ConfNode {
    const text = this.src.slice(start, this.i);
    const m = /^(-?\d+)(.*)$/.exec(text)!;
    const num = BigInt(m[1]!);
    if (num < INT64_MIN || num > INT64_MAX) this.fail(`integer '${text}' is out of the range`, start);
    const suffix = m[2]!.trim().toLowerCase();
    const mult = SIZE_SUFFIXES[suffix];
    if (mult === undefined) this.fail(`integer '${text}' has an unknown size suffix '${m[2]}'`, start);
    // Like the Go server, the multiplication wraps around on overflow.
    return { kind: 'int', value: BigInt.asIntN(64, num * mult), text, pos };
  }

  /** After 'digits.': at least one digit; a second '.' makes it an IP-like string (digits, '.', ':', '-'). */
  private parseFloatTail(start: number, pos: ConfPos): ConfNode {
    const c = this.peek();
    if (!isDigit(c)) this.fail(`Floats must have a digit after the '.', but got '${show(c)}' instead.`);
    while (isDigit(this.peek())) this.next();
    if (this.peek() === '.') {
      this.next();
      while (/[0-9.:-]/.test(this.peek()) && this.peek() !== EOF) this.next();
      return { kind: 'string', value: this.src.slice(start, this.i), pos };
    }
    const text = this.src.slice(start, this.i);
    const value = Number(text);
    if (!Number.isFinite(value)) this.fail(`float '${text}' is out of the range`, start);
    return { kind: 'float', value, pos };
  }

  /** After 'YYYY-': 'MM-DDTHH:MM:SSZ'. */
  private parseDate(start: number, pos: ConfPos): ConfNode {
    for (const f of '00-00T00:00:00Z') {
      const at = this.i;
      const c = this.next();
      if (f === '0') {
        if (!isDigit(c)) this.fail(`Expected digit in ISO8601 datetime, but found '${show(c)}' instead.`, at);
      } else if (c !== f) this.fail(`Expected '${f}' in ISO8601 datetime, but found '${show(c)}' instead.`, at);
    }
    const text = this.src.slice(start, this.i);
    const [y, mo, d, h, mi, s] = text.match(/\d+/g)!.map(Number) as [number, number, number, number, number, number];
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    const valid =
      date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
    if (!valid) this.fail(`expected Zulu formatted DateTime, but got '${text}'`, start);
    return { kind: 'date', value: date, pos };
  }

  private resolveVariable(name: string, start: number, pos: ConfPos): ConfNode {
    // A bcrypt hash written without quotes ($2a$...) is a string, not a variable.
    if (name.startsWith('2a$')) return { kind: 'string', value: `$${name}`, pos };
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const entry = this.scopes[k]!.entries.get(name);
      if (entry) {
        entry.usedAsVariable = true;
        return entry.value;
      }
    }
    const fromEnv = this.env[name];
    if (fromEnv !== undefined) {
      let parsed: ConfMap;
      try {
        // The value is read as a config value; it may refer to other variables, but not back to itself.
        parsed = new Parser(`pk=${fromEnv}`, '', { ...this.env, [name]: undefined }, this.chain).parseTop();
      } catch (err) {
        const reason = err instanceof ConfError ? err.reason : String(err);
        this.fail(`variable reference for '${name}' could not be parsed: ${reason}`, start);
      }
      const v = parsed.entries.get('pk');
      if (!v) this.fail(`variable reference for '${name}' could not be parsed`, start);
      return relocate(v.value, pos);
    }
    return this.fail(`variable reference for '${name}' can not be found`, start);
  }
}

/** A value read from an environment variable takes the position of the reference. */
function relocate(node: ConfNode, pos: ConfPos): ConfNode {
  switch (node.kind) {
    case 'array':
      return { ...node, pos, items: node.items.map((n) => relocate(n, pos)) };
    case 'map': {
      const entries = new Map<string, ConfEntry>();
      for (const [k, e] of node.entries) entries.set(k, { ...e, keyPos: pos, value: relocate(e.value, pos) });
      return { ...node, pos, entries };
    }
    default:
      return { ...node, pos };
  }
}

// ---- writing

/** Writes values back in the NATS config format (used to hand the NATS part of a config file to nats-server). */
export function renderConf(entries: Iterable<ConfEntry>, indent = ''): string {
  let out = '';
  for (const e of entries) out += `${indent}${renderKey(e.key)}: ${renderValue(e.value, indent)}\n`;
  return out;
}

function renderKey(key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) && key.toLowerCase() !== 'include') return key;
  return key.includes('"') ? `'${key}'` : `"${key}"`;
}

function renderString(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function renderValue(node: ConfNode, indent: string): string {
  const inner = `${indent}  `;
  switch (node.kind) {
    case 'string':
      return renderString(node.value);
    case 'bool':
      return node.value ? 'true' : 'false';
    case 'int':
      return node.value.toString();
    case 'float': {
      const s = String(node.value);
      return /^-?\d+$/.test(s) ? `${s}.0` : s;
    }
    case 'date':
      return node.value.toISOString().replace(/\.\d{3}Z$/, 'Z');
    case 'array':
      if (node.items.length === 0) return '[]';
      return `[\n${node.items.map((n) => `${inner}${renderValue(n, inner)}\n`).join('')}${indent}]`;
    case 'map':
      if (node.entries.size === 0) return '{}';
      return `{\n${renderConf(node.entries.values(), inner)}${indent}}`;
  }
}
