import { FlagError, applyFlags, parseArgs } from './flags.js';
import { type ServerOptions, defaultOptions } from './options.js';

export class OptionsError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

export interface LoadedOptions {
  options: ServerOptions;
  help: boolean;
  version: boolean;
}

/** Options from the command line over the defaults. */
export function loadOptions(argv: string[]): LoadedOptions {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof FlagError) throw new OptionsError(err.message, true);
    throw err;
  }
  const options = defaultOptions();
  if (parsed.configFile || parsed.stanConfigFile) {
    throw new OptionsError('configuration files (-c, -sc) are not supported yet; pass the settings as flags');
  }
  try {
    applyFlags(options, parsed);
  } catch (err) {
    if (err instanceof FlagError) throw new OptionsError(err.message);
    throw err;
  }
  validate(options);
  return { options, help: parsed.help, version: parsed.version };
}

function validate(o: ServerOptions): void {
  const l = o.storeLimits;
  const negatives: [string, number][] = [
    ['max channels', l.maxChannels],
    ['max subscriptions', l.maxSubscriptions],
    ['max messages', l.maxMsgs],
    ['max bytes', l.maxBytes],
    ['max age', l.maxAge],
    ['max inactivity', l.maxInactivity],
  ];
  for (const [name, v] of negatives) if (v < 0) throw new OptionsError(`${name} limit cannot be negative (${v})`);
  if (o.hbInterval <= 0 || o.hbTimeout <= 0) throw new OptionsError('heartbeat interval and timeout must be positive');
  if (o.hbFailCount < 0) throw new OptionsError('heartbeat fail count cannot be negative');
  if (o.storeType === 'FILE' && !o.dir) throw new OptionsError('for FILE store type, --dir is required');
}
