import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConfigFiles } from './conffile.js';
import { FlagError, applyFlags, parseArgs } from './flags.js';
import { ConfError } from './natsconf.js';
import { type FileStoreOptions, type ServerOptions, defaultOptions } from './options.js';

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
  /** `--signal NAME[=PID]`: send a signal to a running server instead of running one. */
  signal: string;
}

/**
 * Options as the Go server builds them: the defaults, then the config files (-sc for streaming, -c for NATS, either
 * one for both when it is alone), then the command-line flags, which win.
 */
export function loadOptions(argv: string[], env: Record<string, string | undefined> = process.env): LoadedOptions {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof FlagError) throw new OptionsError(err.message, true);
    throw err;
  }
  const options = defaultOptions();
  if (parsed.help || parsed.version) {
    // As in Go, -h and -v act before the config files are read and before any value is checked.
    return { options, help: parsed.help, version: parsed.version, signal: parsed.signal };
  }
  if (parsed.configFile || parsed.stanConfigFile) {
    try {
      applyConfigFiles(options, { stanConfigFile: parsed.stanConfigFile, natsConfigFile: parsed.configFile }, env);
    } catch (err) {
      if (err instanceof ConfError) throw new OptionsError(err.message);
      throw err;
    }
  }
  try {
    applyFlags(options, parsed);
  } catch (err) {
    if (err instanceof FlagError) throw new OptionsError(err.message);
    throw err;
  }
  validate(options);
  if (options.natsServerConfig && !options.natsServerUrl) {
    // The nats-server child reads the NATS part of the config file; its own flags (the passthrough ones) still win.
    options.natsChildArgs.unshift(`-c=${writeNatsChildConfig(options.natsServerConfig)}`);
  }
  return { options, help: parsed.help, version: parsed.version, signal: parsed.signal };
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
  if (o.storeType === 'FILE') validateFileOptions(o.file);
  // Refused rather than ignored: a user who asked for encrypted storage must not get plain files silently.
  if (o.encrypt) throw new OptionsError('encryption at rest (--encrypt) is not supported by this server yet');
  if (o.partitioning) throw new OptionsError('partitioning is not supported by this server');
  if (o.httpsPort) throw new OptionsError('HTTPS monitoring (-ms) is not supported yet; use -m behind a TLS proxy');
}

/** The Go file store refuses these values when it is created (its AllOptions), so the Go server does not start. */
function validateFileOptions(f: FileStoreOptions): void {
  const refuse = (what: string) => {
    throw new OptionsError(`file store: ${what}`);
  };
  if (f.bufferSize < 0) refuse(`buffer size cannot be negative (${f.bufferSize})`);
  if (f.readBufferSize < 0) refuse(`read buffer size cannot be negative (${f.readBufferSize})`);
  if (f.compactInterval <= 0) refuse(`compact interval must be at least 1 second (${f.compactInterval})`);
  if (f.compactFragmentation <= 0) refuse(`compact fragmentation must be at least 1 (${f.compactFragmentation})`);
  if (f.compactMinFileSize < 0) refuse(`compact minimum file size cannot be negative (${f.compactMinFileSize})`);
  if (f.crcPolynomial <= 0 || f.crcPolynomial > 0xffffffff) refuse(`CRC polynomial must be between 1 and 4294967295 (${f.crcPolynomial})`);
  if (f.sliceMaxMsgs < 0 || f.sliceMaxBytes < 0 || f.sliceMaxAge < 0) refuse('slice limits cannot be negative');
  if (f.fileDescriptorsLimit < 0) refuse(`file descriptors limit cannot be negative (${f.fileDescriptorsLimit})`);
  if (f.parallelRecovery <= 0) refuse(`parallel recovery must be at least 1 (${f.parallelRecovery})`);
}

const childConfigDirs: string[] = [];

/** Writes the NATS server config for the nats-server child to a private temporary file, removed when the process exits. */
function writeNatsChildConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nats-streaming-ts-'));
  const file = join(dir, 'nats-server.conf');
  writeFileSync(file, text, { mode: 0o600 });
  if (childConfigDirs.length === 0) {
    process.once('exit', () => {
      for (const d of childConfigDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  childConfigDirs.push(dir);
  return file;
}
