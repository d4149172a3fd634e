/** Store limits with the Go server's meaning: 0 in a per-channel entry inherits the global value, a negative value means unlimited. Durations are milliseconds here and nanoseconds on the wire. */
export interface ChannelLimits {
  maxMsgs: number;
  maxBytes: number;
  maxAge: number;
  maxSubscriptions: number;
  maxInactivity: number;
}

export interface StoreLimits extends ChannelLimits {
  maxChannels: number;
  perChannel: Map<string, Partial<ChannelLimits>>;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = Object.freeze({
  maxChannels: 100,
  maxMsgs: 1_000_000,
  maxBytes: 1_000_000 * 1024,
  maxAge: 0,
  maxSubscriptions: 1000,
  maxInactivity: 0,
  perChannel: new Map<string, Partial<ChannelLimits>>(),
});

export function defaultStoreLimits(): StoreLimits {
  return { ...DEFAULT_STORE_LIMITS, perChannel: new Map() };
}

const CHANNEL_LIMIT_KEYS = ['maxMsgs', 'maxBytes', 'maxAge', 'maxSubscriptions', 'maxInactivity'] as const;

function globalPart(limits: StoreLimits): ChannelLimits {
  const { maxMsgs, maxBytes, maxAge, maxSubscriptions, maxInactivity } = limits;
  return { maxMsgs, maxBytes, maxAge, maxSubscriptions, maxInactivity };
}

/** Matches a channel name against a per-channel key that may use NATS wildcards (`*` one token, `>` the rest). */
export function channelPatternMatches(pattern: string, channel: string): boolean {
  if (pattern === channel) return true;
  const p = pattern.split('.');
  const c = channel.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return c.length > i;
    if (i >= c.length) return false;
    if (p[i] !== '*' && p[i] !== c[i]) return false;
  }
  return p.length === c.length;
}

/** Fills the inherited (zero) fields of a per-channel entry from the globals; a negative value stays as "unlimited". */
function inherit(entry: Partial<ChannelLimits>, from: ChannelLimits): ChannelLimits {
  const out = { ...from };
  for (const key of CHANNEL_LIMIT_KEYS) {
    const v = entry[key];
    if (v !== undefined && v !== 0) out[key] = v;
  }
  return out;
}

/**
 * The effective limits of a channel: an exact per-channel entry wins, else the most specific wildcard entry that matches
 * (the one with the most literal tokens), else the globals.
 */
export function channelLimitsFor(limits: StoreLimits, channel: string): ChannelLimits {
  const global = globalPart(limits);
  const exact = limits.perChannel.get(channel);
  if (exact) return inherit(exact, global);
  let best: Partial<ChannelLimits> | undefined;
  let bestScore = -1;
  for (const [pattern, entry] of limits.perChannel) {
    if (!pattern.includes('*') && !pattern.includes('>')) continue;
    if (!channelPatternMatches(pattern, channel)) continue;
    const score = pattern.split('.').filter((t) => t !== '*' && t !== '>').length * 2 + (pattern.endsWith('>') ? 0 : 1);
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return best ? inherit(best, global) : global;
}

/** "Unlimited" for the arithmetic in stores: 0 and negative values both mean no limit on a resolved ChannelLimits. */
export function isLimited(value: number): boolean {
  return value > 0;
}
