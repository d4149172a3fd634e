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

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte size: a whole number, optionally followed by K, KB, M, MB, G, GB, T or TB (powers of 1024, any case). */
export function parseSize(text: string): number {
  const m = /^\s*(-?\d+)\s*([kmgt]?)b?\s*$/i.exec(text);
  if (!m) throw new ValueError(`invalid size "${text}"`);
  return Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
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
