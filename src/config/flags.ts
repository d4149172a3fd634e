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
  flag(['cid', 'cluster_id'], 'string', 'Cluster ID (default: test-cluster)', (o, v) => (o.clusterId = v)),
  flag(['st', 'store'], 'string', 'Store type: MEMORY|FILE|SQL (default: MEMORY)', (o, v) => {
    const t = v.toUpperCase() as StoreKind;
    if (!STORE_TYPES.includes(t)) throw new ValueError(`unsupported store type "${v}" (expected MEMORY, FILE or SQL)`);
    o.storeType = t;
  }),
  flag(['dir'], 'string', 'For FILE store type, this is the root directory', (o, v) => (o.dir = v)),
  flag(['mc', 'max_channels'], 'int', 'Max number of channels (0 for unlimited)', (o, v) => (o.storeLimits.maxChannels = v)),
  flag(['msu', 'max_subs'], 'int', 'Max number of subscriptions per channel (0 for unlimited)', (o, v) => (o.storeLimits.maxSubscriptions = v)),
  flag(['mm', 'max_msgs'], 'int', 'Max number of messages per channel (0 for unlimited)', (o, v) => (o.storeLimits.maxMsgs = v)),
  flag(['mb', 'max_bytes'], 'size', 'Max messages total size per channel (0 for unlimited)', (o, v) => (o.storeLimits.maxBytes = v)),
  flag(['ma', 'max_age'], 'duration', 'Max duration a message can be stored ("0s" for unlimited)', (o, v) => (o.storeLimits.maxAge = v)),
  flag(['mi', 'max_inactivity'], 'duration', 'Max inactivity (no new message, no subscription) after which a channel can be garbage collected (0 for unlimited)', (o, v) => (o.storeLimits.maxInactivity = v)),
  flag(['ns', 'nats_server'], 'string', 'Connect to this external NATS Server URL (embedded otherwise)', (o, v) => (o.natsServerUrl = v)),
  flag(['hbi', 'hb_interval'], 'duration', 'Interval at which server sends heartbeat to a client', (o, v) => (o.hbInterval = v)),
  flag(['hbt', 'hb_timeout'], 'duration', 'How long server waits for a heartbeat response', (o, v) => (o.hbTimeout = v)),
  flag(['hbf', 'hb_fail_count'], 'int', 'Number of failed heartbeats before server closes the client connection', (o, v) => (o.hbFailCount = v)),
  flag(['ft_group'], 'string', 'Name of this server\'s fault tolerance group', (o, v) => (o.ftGroup = v)),
  flag(['replace_durable'], 'bool', 'Replace the existing durable subscription instead of reporting a duplicate durable error', (o, v) => (o.replaceDurable = v)),
  flag(['SD', 'stan_debug'], 'bool', 'Enable STAN debugging output', (o, v) => (o.streamingDebug = v)),
  flag(['SV', 'stan_trace'], 'bool', 'Trace the raw STAN protocol', (o, v) => (o.streamingTrace = v)),
  flag(['SDV'], 'bool', 'Debug and trace STAN', (o, v) => {
    o.streamingDebug = v;
    o.streamingTrace = v;
  }),
  flag(['sc', 'stan_config'], 'string', 'Streaming server configuration file'),
  flag(['secure'], 'bool', 'Use a TLS connection to the NATS server without verification', (o, v) => (o.secure = v)),
  flag(['tls_client_key'], 'string', 'Client key for the streaming server', (o, v) => (o.tlsClientKey = v)),
  flag(['tls_client_cert'], 'string', 'Client certificate for the streaming server', (o, v) => (o.tlsClientCert = v)),
  flag(['tls_client_cacert'], 'string', 'Client certificate CA for the streaming server', (o, v) => (o.tlsClientCa = v)),
  flag(['file_compact_enabled'], 'bool', 'Enable file compaction', (o, v) => (o.file.compactEnabled = v)),
  flag(['file_compact_frag'], 'int', 'File fragmentation threshold for compaction', (o, v) => (o.file.compactFragmentation = v)),
  flag(['file_compact_interval'], 'int', 'Minimum interval (in seconds) between file compactions', (o, v) => (o.file.compactInterval = v)),
  flag(['file_compact_min_size'], 'size', 'Minimum file size for compaction', (o, v) => (o.file.compactMinFileSize = v)),
  flag(['file_buffer_size'], 'size', 'File buffer size (in bytes)', (o, v) => (o.file.bufferSize = v)),
  flag(['file_crc'], 'bool', 'Enable file CRC-32 checksum', (o, v) => (o.file.doCRC = v)),
  flag(['file_crc_poly'], 'int', 'Polynomial used to make the table used for CRC-32 checksum', (o, v) => (o.file.crcPolynomial = v)),
  flag(['file_sync'], 'bool', 'Enable File.Sync on Flush', (o, v) => (o.file.doSync = v)),
  flag(['file_slice_max_msgs'], 'int', 'Maximum number of messages per file slice (subject to channel limits)', (o, v) => (o.file.sliceMaxMsgs = v)),
  flag(['file_slice_max_bytes'], 'size', 'Maximum file slice size - including index file (subject to channel limits)', (o, v) => (o.file.sliceMaxBytes = v)),
  flag(['file_slice_max_age'], 'duration', 'Maximum file slice duration starting when the first message is stored (subject to channel limits)', (o, v) => (o.file.sliceMaxAge = v)),
  flag(['file_slice_archive_script'], 'string', 'Path to script to use if you want to archive a file slice being removed', (o, v) => (o.file.sliceArchiveScript = v)),
  flag(['file_fds_limit'], 'int', 'Store will try to use no more file descriptors than this given limit', (o, v) => (o.file.fileDescriptorsLimit = v)),
  flag(['file_parallel_recovery'], 'int', 'On startup, number of channels that can be recovered in parallel', (o, v) => (o.file.parallelRecovery = v)),
  flag(['file_truncate_bad_eof'], 'bool', 'Truncate files for which there is an unexpected EOF on recovery, dataloss may occur', (o, v) => (o.file.truncateUnexpectedEOF = v)),
  flag(['file_read_buffer_size'], 'size', 'Size of messages read ahead buffer (0 to disable)', (o, v) => (o.file.readBufferSize = v)),
  flag(['file_auto_sync'], 'duration', "Interval at which the store should be automatically flushed and sync'ed on disk (<= 0 to disable)", (o, v) => (o.file.autoSync = v)),
  flag(['io_batch_size'], 'int', 'Maximum number of messages collected from clients before starting their processing', (o, v) => (o.ioBatchSize = v)),
  flag(['io_sleep_time'], 'int', 'Duration (in micro-seconds) the server waits for more message to fill up a batch'),
  flag(['sql_driver'], 'string', 'SQL Driver', (o, v) => (o.sql.driver = v)),
  flag(['sql_source'], 'string', 'SQL Data Source', (o, v) => (o.sql.source = v)),
  flag(['sql_no_caching'], 'bool', 'Enable/Disable caching', (o, v) => (o.sql.noCaching = v)),
  flag(['sql_max_open_conns'], 'int', 'Max opened connections to the database', (o, v) => (o.sql.maxOpenConns = v)),
  flag(['sql_bulk_insert_limit'], 'int', 'Limit the number of messages inserted in one SQL query', (o, v) => (o.sql.bulkInsertLimit = v)),
  flag(['encrypt'], 'bool', 'Specify if server should use encryption at rest', (o, v) => (o.encrypt = v)),
  flag(['encryption_cipher'], 'string', 'Encryption cipher. Supported are AES and CHACHA (default is AES)', (o, v) => (o.encryptionCipher = v)),
  flag(['encryption_key'], 'string', 'Encryption Key', (o, v) => (o.encryptionKey = v)),
  flag(['metrics_per_subscription'], 'bool', 'Expose per-subscription series on /metrics (default: true)', (o, v) => (o.subscriptionMetrics = v)),
  flag(['syslog_name'], 'string', 'Syslog Name', (o, v) => (o.syslogName = v)),
  flag(['a', 'addr', 'net'], 'string', 'Bind to host address (default: 0.0.0.0)', (o, v) => (o.host = v), true),
  flag(['p', 'port'], 'int', 'Use port for clients (default: 4222)', (o, v) => (o.port = v), true),
  flag(['n', 'name', 'server_name'], 'string', 'Server name (default: auto)', undefined, true),
  flag(['m', 'http_port'], 'int', 'Use port for http monitoring', (o, v) => (o.httpPort = v)),
  flag(['ms', 'https_port'], 'int', 'Use port for https monitoring'),
  flag(['c', 'config'], 'string', 'Configuration file'),
  flag(['P', 'pid'], 'string', 'File to store PID', (o, v) => (o.pidFile = v)),
  flag(['l', 'log', 'log_file'], 'string', 'File to redirect log output', (o, v) => (o.logFile = v)),
  flag(['T', 'logtime'], 'bool', 'Timestamp log entries (default: true)', (o, v) => (o.logTime = v)),
  flag(['s', 'syslog'], 'bool', 'Enable syslog as log method'),
  flag(['r', 'remote_syslog'], 'string', 'Syslog server addr (udp://127.0.0.1:514)'),
  flag(['D', 'debug'], 'bool', 'Enable debugging output', (o, v) => (o.natsDebug = v), true),
  flag(['V', 'trace'], 'bool', 'Trace the raw protocol', (o, v) => (o.natsTrace = v), true),
  flag(['DV'], 'bool', 'Debug and trace', (o, v) => {
    o.natsDebug = v;
    o.natsTrace = v;
  }, true),
  flag(['user'], 'string', 'User required for connections', (o, v) => (o.natsUser = v), true),
  flag(['pass'], 'string', 'Password required for connections', (o, v) => (o.natsPass = v), true),
  flag(['auth'], 'string', 'Authorization token required for connections', (o, v) => (o.natsToken = v), true),
  flag(['tls'], 'bool', 'Enable TLS, do not verify clients (default: false)', undefined, true),
  flag(['tlscert'], 'string', 'Server certificate file', undefined, true),
  flag(['tlskey'], 'string', 'Private key for server certificate', undefined, true),
  flag(['tlsverify'], 'bool', 'Enable TLS, verify client certificates', undefined, true),
  flag(['tlscacert'], 'string', 'Client certificate CA for verification', undefined, true),
  flag(['routes'], 'string', 'Routes to solicit and connect', undefined, true),
  flag(['cluster'], 'string', 'Cluster URL for solicited routes', undefined, true),
  flag(['cluster_name'], 'string', 'Cluster Name, if not set one will be dynamically generated', undefined, true),
  flag(['max_payload'], 'size', 'Maximum number of bytes in a message payload', undefined, true),
  flag(['signal', 'sl'], 'string', 'Send signal to the streaming server process (stop, quit, reopen)'),
  flag(['h', 'help'], 'bool', 'Show this message'),
  flag(['v', 'version'], 'bool', 'Show version'),
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
