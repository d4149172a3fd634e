import type { ServerOptions, StoreKind } from './options.js';
import { ValueError, parseBool, parseDuration, parseInteger, parseSize } from './units.js';

type Kind = 'string' | 'bool' | 'int' | 'duration' | 'size';

interface FlagSpec {
  names: string[];
  kind: Kind;
  help: string;
  /** Applies the parsed value; absent for flags that are only accepted (their behaviour lives elsewhere). */
  apply?: (o: ServerOptions, v: never) => void;
  /** A NATS server flag, handed to the nats-server child when there is no -ns. */
  nats?: boolean;
}

function flag<K extends Kind>(
  names: string[],
  kind: K,
  help: string,
  apply?: (o: ServerOptions, v: K extends 'string' ? string : K extends 'bool' ? boolean : number) => void,
  nats = false,
): FlagSpec {
  return { names, kind, help, apply: apply as FlagSpec['apply'], nats };
}

const STORE_TYPES: StoreKind[] = ['MEMORY', 'FILE', 'SQL'];

/** The Go server's flags; Go's flag package accepts each with one or two dashes. */
export const FLAGS: FlagSpec[] = [
  flag(['cid', 'cluster_id'], 'string', 'The cluster ID clients connect to (default test-cluster)', (o, v) => (o.clusterId = v)),
  flag(['st', 'store'], 'string', 'Where messages are kept: MEMORY, FILE or SQL (default MEMORY)', (o, v) => {
    const t = v.toUpperCase() as StoreKind;
    if (!STORE_TYPES.includes(t)) throw new ValueError(`unsupported store type "${v}" (expected MEMORY, FILE or SQL)`);
    o.storeType = t;
  }),
  flag(['dir'], 'string', "The FILE store's directory", (o, v) => (o.dir = v)),
  flag(['mc', 'max_channels'], 'int', 'Most channels the server keeps; 0 means no limit', (o, v) => (o.storeLimits.maxChannels = v)),
  flag(['msu', 'max_subs'], 'int', 'Most subscriptions on one channel; 0 means no limit', (o, v) => (o.storeLimits.maxSubscriptions = v)),
  flag(['mm', 'max_msgs'], 'int', 'Most messages kept per channel, oldest dropped first; 0 means no limit', (o, v) => (o.storeLimits.maxMsgs = v)),
  flag(['mb', 'max_bytes'], 'size', 'Most bytes of messages kept per channel, e.g. 512MB; 0 means no limit', (o, v) => (o.storeLimits.maxBytes = v)),
  flag(['ma', 'max_age'], 'duration', 'How long a message is kept, e.g. 24h; 0 keeps it forever', (o, v) => (o.storeLimits.maxAge = v)),
  flag(['mi', 'max_inactivity'], 'duration', 'Delete a channel after this long with no message and no subscription; 0 never deletes', (o, v) => (o.storeLimits.maxInactivity = v)),
  flag(['ns', 'nats_server'], 'string', 'URL of the NATS server to use; without it a nats-server child is started on -a/-p', (o, v) => (o.natsServerUrl = v)),
  flag(['hbi', 'hb_interval'], 'duration', 'How often each client is sent a heartbeat', (o, v) => (o.hbInterval = v)),
  flag(['hbt', 'hb_timeout'], 'duration', 'How long a heartbeat may take to be answered', (o, v) => (o.hbTimeout = v)),
  flag(['hbf', 'hb_fail_count'], 'int', 'Heartbeats a client may miss in a row before it is closed', (o, v) => (o.hbFailCount = v)),
  flag(['ft_group'], 'string', 'Run as a member of this fault-tolerance group (FILE or SQL store)', (o, v) => (o.ftGroup = v)),
  flag(['replace_durable'], 'bool', 'Let a new durable subscription take over an online one with the same name instead of refusing it', (o, v) => (o.replaceDurable = v)),
  flag(['SD', 'stan_debug'], 'bool', 'Log debug lines for clients, channels and subscriptions', (o, v) => (o.streamingDebug = v)),
  flag(['SV', 'stan_trace'], 'bool', 'Log trace lines as well', (o, v) => (o.streamingTrace = v)),
  flag(['SDV'], 'bool', 'Same as -SD and -SV', (o, v) => {
    o.streamingDebug = v;
    o.streamingTrace = v;
  }),
  flag(['sc', 'stan_config'], 'string', 'Read streaming settings from this config file'),
  flag(['secure'], 'bool', 'Connect to NATS over TLS', (o, v) => (o.secure = v)),
  flag(['tls_client_key'], 'string', 'Key file for TLS to NATS', (o, v) => (o.tlsClientKey = v)),
  flag(['tls_client_cert'], 'string', 'Certificate file for TLS to NATS', (o, v) => (o.tlsClientCert = v)),
  flag(['tls_client_cacert'], 'string', 'CA certificate file to check the NATS server with', (o, v) => (o.tlsClientCa = v)),
  flag(['file_compact_enabled'], 'bool', 'Compact subscription and client files', (o, v) => (o.file.compactEnabled = v)),
  flag(['file_compact_frag'], 'int', 'Percentage of deleted records above which a file is compacted', (o, v) => (o.file.compactFragmentation = v)),
  flag(['file_compact_interval'], 'int', 'Seconds between two compactions of one file', (o, v) => (o.file.compactInterval = v)),
  flag(['file_compact_min_size'], 'size', 'Files smaller than this are not compacted', (o, v) => (o.file.compactMinFileSize = v)),
  flag(['file_buffer_size'], 'size', "Accepted, no effect here: each flush is one write from the store's own buffers", (o, v) => (o.file.bufferSize = v)),
  flag(['file_crc'], 'bool', 'Check record checksums when reading', (o, v) => (o.file.doCRC = v)),
  flag(['file_crc_poly'], 'int', 'CRC-32 polynomial of the record checksums', (o, v) => (o.file.crcPolynomial = v)),
  flag(['file_sync'], 'bool', 'Sync files to disk before acking publishes', (o, v) => (o.file.doSync = v)),
  flag(['file_slice_max_msgs'], 'int', 'Messages per slice file before a new one starts; 0 derives it from the channel limits', (o, v) => (o.file.sliceMaxMsgs = v)),
  flag(['file_slice_max_bytes'], 'size', 'Bytes per slice (data and index) before a new one starts; 0 derives it from the channel limits', (o, v) => (o.file.sliceMaxBytes = v)),
  flag(['file_slice_max_age'], 'duration', "Age of a slice's first message after which a new slice starts", (o, v) => (o.file.sliceMaxAge = v)),
  flag(['file_slice_archive_script'], 'string', "Script run with a slice's files before they are removed", (o, v) => (o.file.sliceArchiveScript = v)),
  flag(['file_fds_limit'], 'int', 'Accepted, no effect here: a channel keeps 3 files open (its write slice and subs.dat), others close after 1 s unused', (o, v) => (o.file.fileDescriptorsLimit = v)),
  flag(['file_parallel_recovery'], 'int', 'Channels recovered at the same time on start', (o, v) => (o.file.parallelRecovery = v)),
  flag(['file_truncate_bad_eof'], 'bool', 'Cut a file at a damaged last record on recovery instead of failing (what follows is lost)', (o, v) => (o.file.truncateUnexpectedEOF = v)),
  flag(['file_read_buffer_size'], 'size', 'Read-ahead size for message lookups; 0 turns it off', (o, v) => (o.file.readBufferSize = v)),
  flag(['file_auto_sync'], 'duration', 'Sync files this often even without publishes; 0 or less turns it off', (o, v) => (o.file.autoSync = v)),
  flag(['io_batch_size'], 'int', 'Most publishes handled in one batch', (o, v) => (o.ioBatchSize = v)),
  flag(['io_sleep_time'], 'int', 'Accepted for compatibility; batches form per event-loop turn'),
  flag(['sql_driver'], 'string', 'postgres or mysql', (o, v) => (o.sql.driver = v)),
  flag(['sql_source'], 'string', "How to reach the database, in the driver's DSN form", (o, v) => (o.sql.source = v)),
  flag(['sql_no_caching'], 'bool', 'Write every subscription update at once instead of batching them', (o, v) => (o.sql.noCaching = v)),
  flag(['sql_max_open_conns'], 'int', 'Most database connections', (o, v) => (o.sql.maxOpenConns = v)),
  flag(['sql_bulk_insert_limit'], 'int', 'Most rows in one INSERT', (o, v) => (o.sql.bulkInsertLimit = v)),
  flag(['encrypt'], 'bool', 'Encrypt stored messages (not supported yet)', (o, v) => (o.encrypt = v)),
  flag(['encryption_cipher'], 'string', 'AES or CHACHA (not supported yet)', (o, v) => (o.encryptionCipher = v)),
  flag(['encryption_key'], 'string', 'Key for stored-message encryption (not supported yet)', (o, v) => (o.encryptionKey = v)),
  flag(['metrics_per_subscription'], 'bool', 'Per-subscription series on /metrics (default true)', (o, v) => (o.subscriptionMetrics = v)),
  flag(['syslog_name'], 'string', 'Accepted for compatibility; logs go to stdout or -l', (o, v) => (o.syslogName = v)),
  flag(['a', 'addr', 'net'], 'string', 'Address nats-server and the monitoring endpoint listen on (default 0.0.0.0)', (o, v) => (o.host = v), true),
  flag(['p', 'port'], 'int', 'Port of the nats-server child (default 4222)', (o, v) => (o.port = v), true),
  flag(['n', 'name', 'server_name'], 'string', 'Name of the nats-server child', undefined, true),
  flag(['m', 'http_port'], 'int', 'Port of the monitoring endpoint (/streaming, /metrics)', (o, v) => (o.httpPort = v)),
  flag(['ms', 'https_port'], 'int', 'HTTPS monitoring port (not supported yet)', (o, v) => (o.httpsPort = v)),
  flag(['c', 'config'], 'string', 'NATS (and, alone, streaming) config file'),
  flag(['P', 'pid'], 'string', 'Write the process ID to this file', (o, v) => (o.pidFile = v)),
  flag(['l', 'log', 'log_file'], 'string', 'Write logs to this file instead of stdout', (o, v) => (o.logFile = v)),
  flag(['T', 'logtime'], 'bool', 'Put a timestamp on log lines (default true)', (o, v) => (o.logTime = v)),
  flag(['s', 'syslog'], 'bool', 'Accepted for compatibility; logs go to stdout or -l'),
  flag(['r', 'remote_syslog'], 'string', 'Accepted for compatibility; logs go to stdout or -l'),
  flag(['D', 'debug'], 'bool', 'Debug logging in the nats-server child', (o, v) => (o.natsDebug = v), true),
  flag(['V', 'trace'], 'bool', 'Protocol tracing in the nats-server child', (o, v) => (o.natsTrace = v), true),
  flag(['DV'], 'bool', 'Same as -D and -V', (o, v) => {
    o.natsDebug = v;
    o.natsTrace = v;
  }, true),
  flag(['user'], 'string', 'User name for NATS connections', (o, v) => (o.natsUser = v), true),
  flag(['pass'], 'string', 'Password for NATS connections', (o, v) => (o.natsPass = v), true),
  flag(['auth'], 'string', 'Token for NATS connections', (o, v) => (o.natsToken = v), true),
  flag(['tls'], 'bool', 'TLS on the nats-server child, without client verification', undefined, true),
  flag(['tlscert'], 'string', 'Certificate of the nats-server child', undefined, true),
  flag(['tlskey'], 'string', 'Key of the nats-server child', undefined, true),
  flag(['tlsverify'], 'bool', 'TLS on the nats-server child, verifying client certificates', undefined, true),
  flag(['tlscacert'], 'string', 'CA the nats-server child checks client certificates with', undefined, true),
  flag(['routes'], 'string', 'Routes of the nats-server child', undefined, true),
  flag(['cluster'], 'string', 'Cluster URL of the nats-server child', undefined, true),
  flag(['cluster_name'], 'string', 'Cluster name of the nats-server child', undefined, true),
  flag(['max_payload'], 'size', 'Largest message the nats-server child accepts', undefined, true),
  flag(['signal', 'sl'], 'string', 'Signal a running server: stop, quit, term, reopen or reload, as NAME or NAME=PID (PID from -P otherwise)'),
  flag(['h', 'help'], 'bool', 'Print this help'),
  flag(['v', 'version'], 'bool', 'Print the version'),
];

const BY_NAME = new Map<string, FlagSpec>();
for (const spec of FLAGS) for (const name of spec.names) BY_NAME.set(name, spec);

export class FlagError extends Error {}

export interface ParsedFlag {
  spec: FlagSpec;
  name: string;
  raw: string;
  value: string | boolean | number;
}

export interface ParsedArgs {
  flags: ParsedFlag[];
  help: boolean;
  version: boolean;
  configFile: string;
  stanConfigFile: string;
  signal: string;
}

function convert(spec: FlagSpec, name: string, raw: string): string | boolean | number {
  try {
    switch (spec.kind) {
      case 'string':
        return raw;
      case 'bool':
        return parseBool(raw);
      case 'int':
        return parseInteger(raw);
      case 'duration':
        return parseDuration(raw);
      case 'size':
        return parseSize(raw);
    }
  } catch (err) {
    throw new FlagError(`invalid value "${raw}" for flag -${name}: ${(err as Error).message}`);
  }
}

/** Parses arguments the way Go's flag package does: `-f`, `--f`, `-f=v`, `-f v`; booleans take a value only with `=`. */
export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { flags: [], help: false, version: false, configFile: '', stanConfigFile: '', signal: '' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') throw new FlagError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = BY_NAME.get(name);
    if (!spec) throw new FlagError(`flag provided but not defined: -${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      raw = argv[++i]!;
    }
    const value = convert(spec, name, raw);
    if (spec.names.includes('h')) out.help = value === true;
    else if (spec.names.includes('v')) out.version = value === true;
    else if (spec.names.includes('c')) out.configFile = String(value);
    else if (spec.names.includes('sc')) out.stanConfigFile = String(value);
    else if (spec.names.includes('signal')) out.signal = String(value);
    out.flags.push({ spec, name, raw, value });
  }
  return out;
}

/** Applies parsed flags over options (defaults, or what the config file set): flags win. */
export function applyFlags(opts: ServerOptions, parsed: ParsedArgs): void {
  for (const f of parsed.flags) {
    try {
      f.spec.apply?.(opts, f.value as never);
    } catch (err) {
      throw new FlagError(`invalid value "${f.raw}" for flag -${f.name}: ${(err as Error).message}`);
    }
    if (f.spec.nats) opts.natsChildArgs.push(f.spec.kind === 'bool' ? `-${f.name}=${f.value}` : `-${f.name}=${f.raw}`);
  }
}

export function usage(): string {
  const lines = ['Usage: nats-streaming-server [options]', ''];
  for (const spec of FLAGS) {
    const names = spec.names.map((n) => (n.length <= 3 ? `-${n}` : `--${n}`)).join(', ');
    const arg = spec.kind === 'bool' ? '' : ` <${spec.kind}>`;
    lines.push(`    ${(names + arg).padEnd(40)} ${spec.help}`);
  }
  return lines.join('\n');
}
