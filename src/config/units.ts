/** Values in the Go server's syntax: durations as time.ParseDuration reads them, sizes with optional K/M/G/T suffixes. */

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export class ValueError extends Error {}

/** A Go duration ("1h30m", "500ms", "1.5s", "0") in milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (!m) throw new ValueError(`invalid duration "${text}"`);
  let total = 0;
  for (const part of s.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS_MS[part[2]!]!;
  }
  return m[1] === '-' ? -total : total;
}

const SIZE_POWERS: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };

/**
 * A byte size as the Go server reads it (through the NATS config syntax): a whole number, optionally followed by
 * k, m, g, t, p or e, which are powers of 1000, or the same letter followed by b, i or ib (any case), powers of 1024.
 */
export function parseSize(text: string): number {
  const m = /^\s*(-?\d+)\s*(?:([kmgtpe])(b|i|ib)?)?\s*$/i.exec(text);
  if (!m) throw new ValueError(`invalid size "${text}"`);
  const power = SIZE_POWERS[(m[2] ?? '').toLowerCase()]!;
  const base = m[3] ? 1024 : 1000;
  return Number(m[1]) * base ** power;
}

/** A whole number. */
export function parseInteger(text: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new ValueError(`invalid number "${text}"`);
  return Number(text);
}

/** A boolean as Go's strconv.ParseBool reads it. */
export function parseBool(text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new ValueError(`invalid boolean "${text}"`);
}
