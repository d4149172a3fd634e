/**
 * Configuration files, read the way the Go server reads them (server/conf.go and the embedded nats-server):
 *
 * - `-sc FILE` alone: the file configures streaming (its `streaming { }` block, or its top level when it has no such
 *   block) and also NATS (its top level);
 * - `-c FILE` alone: the same file is used for both;
 * - both: streaming reads only the -sc file, NATS only the -c file.
 *
 * Keys are case-insensitive and every alias the Go server accepts is accepted. Unlike the Go server, which ignores
 * keys it does not know, an unknown key is an error here (a top-level key is known if either NATS or streaming knows
 * it, or if it is used as a `$variable`), and every error names the file, line and column.
 */
import type { ChannelLimits } from '../stores/limits.js';
import { ConfError, type ConfEntry, type ConfMap, type ConfNode, formatPos, parseConfFile, renderConf } from './natsconf.js';
import type { ServerOptions, StoreKind } from './options.js';
import { parseDuration } from './units.js';

export interface ConfigFileNames {
  /** -sc / --stan_config */
  stanConfigFile: string;
  /** -c / --config */
  natsConfigFile: string;
}

/** The nats-server top-level keys (v2.9), which may stand beside the streaming keys in a config file. */
const NATS_TOP_KEYS = new Set([
  'listen', 'client_advertise', 'port', 'server_name', 'host', 'net', 'debug', 'trace', 'trace_verbose', 'logtime',
  'logtime_utc', 'mappings', 'maps', 'disable_sublist_cache', 'no_sublist_cache', 'accounts', 'authorization', 'http',
  'https', 'http_port', 'monitor_port', 'https_port', 'http_base_path', 'cluster', 'gateway', 'leaf', 'leafnodes',
  'store_dir', 'storedir', 'jetstream', 'logfile', 'log_file', 'logfile_size_limit', 'log_size_limit', 'syslog',
  'remote_syslog', 'pidfile', 'pid_file', 'ports_file_dir', 'prof_port', 'max_control_line', 'max_payload',
  'max_pending', 'max_connections', 'max_conn', 'max_traced_msg_len', 'max_subscriptions', 'max_subs',
  'max_sub_tokens', 'max_subscription_tokens', 'ping_interval', 'ping_max', 'tls', 'ocsp', 'ocsp_cache',
  'allow_non_tls', 'write_deadline', 'lame_duck_duration', 'lame_duck_grace_period', 'operator', 'operators', 'roots',
  'root', 'root_operators', 'root_operator', 'resolver', 'account_resolver', 'accounts_resolver', 'resolver_tls',
  'resolver_preload', 'resolver_pinned_accounts', 'no_auth_user', 'system_account', 'system', 'no_system_account',
  'no_system', 'no_sys_acc', 'no_header_support', 'trusted', 'trusted_keys', 'connect_error_reports',
  'reconnect_error_reports', 'websocket', 'ws', 'mqtt', 'server_tags', 'default_js_domain',
]);

/** NATS keys this process handles itself, so they are not handed to the nats-server child. */
const NATS_KEYS_HANDLED_HERE = new Set([
  'listen', 'host', 'net', 'port', 'http', 'https', 'http_port', 'monitor_port', 'https_port', 'http_base_path',
  'logfile', 'log_file', 'pidfile', 'pid_file',
]);

/** Keys of the NATS server's own tls and cluster blocks: allowed in the shared blocks of a file without `streaming { }`. */
const NATS_TLS_KEYS = new Set([
  'cert_file', 'key_file', 'ca_file', 'insecure', 'verify', 'verify_and_map', 'verify_cert_and_check_known_urls',
  'cipher_suites', 'curve_preferences', 'timeout', 'connection_rate_limit', 'pinned_certs', 'cert_store',
  'cert_match_by', 'cert_match', 'ocsp_peer',
]);
const NATS_CLUSTER_KEYS = new Set([
  'name', 'listen', 'port', 'host', 'net', 'authorization', 'routes', 'tls', 'cluster_advertise', 'advertise',
  'no_advertise', 'connect_retries', 'permissions',
]);

type GoKind = 'string' | 'bool' | 'int64' | 'float64' | 'slice' | 'map' | 'struct';

function goKind(node: ConfNode): GoKind {
  switch (node.kind) {
    case 'string':
      return 'string';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int64';
    case 'float':
      return 'float64';
    case 'array':
      return 'slice';
    case 'map':
      return 'map';
    case 'date':
      return 'struct';
  }
}

/** A value as Go's %v prints it, for the "expected ... to be a map/struct, got %v" errors. */
function goValue(node: ConfNode): string {
  switch (node.kind) {
    case 'string':
      return node.value;
    case 'bool':
      return String(node.value);
    case 'int':
      return node.value.toString();
    case 'float':
      return String(node.value);
    case 'date':
      return node.value.toISOString();
    case 'array':
      return `[${node.items.map(goValue).join(' ')}]`;
    case 'map':
      return `map[${[...node.entries.keys()].sort().map((k) => `${k}:${goValue(node.entries.get(k)!.value)}`).join(' ')}]`;
  }
}

function fail(e: ConfEntry, reason: string): never {
  throw new ConfError(reason, e.keyPos);
}

function expect<K extends ConfNode['kind']>(e: ConfEntry, kind: K, goName: GoKind, shownKey = e.key): Extract<ConfNode, { kind: K }> {
  if (e.value.kind !== kind) fail(e, `parameter "${shownKey}" value is expected to be ${goName}, got ${goKind(e.value)}`);
  return e.value as Extract<ConfNode, { kind: K }>;
}

const str = (e: ConfEntry, shownKey?: string): string => expect(e, 'string', 'string', shownKey).value;
const bool = (e: ConfEntry, shownKey?: string): boolean => expect(e, 'bool', 'bool', shownKey).value;
const int = (e: ConfEntry, shownKey?: string): number => Number(expect(e, 'int', 'int64', shownKey).value);

/** A duration string ("10s", "1h30m"), in milliseconds. */
function duration(e: ConfEntry): number {
  const text = str(e);
  try {
    return parseDuration(text);
  } catch {
    return fail(e, `parameter "${e.key}": time: invalid duration "${text}"`);
  }
}

function block(e: ConfEntry, what: string): ConfMap {
  if (e.value.kind !== 'map') fail(e, `expected ${what} to be a map/struct, got ${goValue(e.value)}`);
  return e.value;
}

function unknownKey(e: ConfEntry, where: string): never {
  return fail(e, where ? `unknown key "${e.key}" in ${where}` : `unknown key "${e.key}"`);
}

/** Finds the `streaming` block (any case); the last one wins, as the Go loop would keep the last it saw. */
function streamingBlock(root: ConfMap): ConfEntry | undefined {
  let found: ConfEntry | undefined;
  for (const e of root.entries.values()) if (e.key.toLowerCase() === 'streaming') found = e;
  return found;
}

/** Applies the config files to the options (which hold the defaults); command-line flags are applied afterwards. */
export function applyConfigFiles(opts: ServerOptions, names: ConfigFileNames, env: Record<string, string | undefined> = process.env): void {
  const stanFile = names.stanConfigFile || names.natsConfigFile;
  const natsFile = names.natsConfigFile || names.stanConfigFile;
  if (!stanFile) return;
  const parsed = new Map<string, ConfMap>();
  const load = (file: string): ConfMap => {
    let root = parsed.get(file);
    if (!root) {
      root = parseConfFile(file, { env });
      checkTopLevelKeys(root);
      parsed.set(file, root);
    }
    return root;
  };
  const natsRoot = load(natsFile);
  const stanRoot = load(stanFile);
  applyNatsSection(opts, natsRoot);
  applyStreamingFile(opts, stanRoot);
}

/** Every top-level key must mean something to NATS or to streaming, or be used as a variable. */
function checkTopLevelKeys(root: ConfMap): void {
  for (const e of root.entries.values()) {
    const k = e.key.toLowerCase();
    if (k === 'streaming' || NATS_TOP_KEYS.has(k) || STREAMING_TOP_KEYS.has(k) || e.usedAsVariable) continue;
    unknownKey(e, '');
  }
}

/** Streaming options from a parsed file: its streaming block, or its top level when it has none. */
export function applyStreamingFile(opts: ServerOptions, root: ConfMap): void {
  const section = streamingBlock(root);
  if (section) {
    applyStreaming(opts, block(section, 'streaming section'), false);
  } else {
    applyStreaming(opts, root, true);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// NATS server keys

function splitHostPort(e: ConfEntry): { host: string; port: number } {
  const v = e.value;
  if (v.kind === 'int') return { host: '', port: Number(v.value) };
  if (v.kind !== 'string') fail(e, `parameter "${e.key}": expected port or host:port, got ${goKind(v)}`);
  const text = v.value;
  let host: string;
  let port: string;
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  if (m) {
    host = m[1]!;
    port = m[2]!;
  } else {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
    if (colon < 0 || host.includes(':')) fail(e, `could not parse address string "${text}"`);
  }
  if (!/^[+-]?\d+$/.test(port)) fail(e, `could not parse port "${port}"`);
  return { host, port: Number(port) };
}

/** The NATS server keys this process uses, and the rest as config text for the nats-server child. */
function applyNatsSection(opts: ServerOptions, root: ConfMap): void {
  const forChild: ConfEntry[] = [];
  for (const e of root.entries.values()) {
    const k = e.key.toLowerCase();
    if (!NATS_TOP_KEYS.has(k)) continue;
    if (!NATS_KEYS_HANDLED_HERE.has(k)) forChild.push(e);
    switch (k) {
      case 'listen': {
        const hp = splitHostPort(e);
        // An empty host means every interface, as nats-server's default host does.
        opts.host = hp.host || '0.0.0.0';
        opts.port = hp.port;
        break;
      }
      case 'port':
        opts.port = int(e);
        break;
      case 'host':
      case 'net':
        opts.host = str(e);
        break;
      case 'http': {
        const hp = splitHostPort(e);
        opts.httpHost = hp.host;
        opts.httpPort = hp.port;
        break;
      }
      case 'https': {
        const hp = splitHostPort(e);
        opts.httpHost = hp.host;
        opts.httpsPort = hp.port;
        break;
      }
      case 'http_port':
      case 'monitor_port':
        opts.httpPort = int(e);
        break;
      case 'https_port':
        opts.httpsPort = int(e);
        break;
      case 'debug':
        opts.natsDebug = bool(e);
        break;
      case 'trace':
        opts.natsTrace = bool(e);
        break;
      case 'trace_verbose':
        opts.natsTrace = bool(e);
        break;
      case 'logtime':
        opts.logTime = bool(e);
        break;
      case 'logfile':
      case 'log_file':
        opts.logFile = str(e);
        break;
      case 'pidfile':
      case 'pid_file':
        opts.pidFile = str(e);
        break;
      case 'authorization':
        applyNatsAuthorization(opts, block(e, 'authorization'));
        break;
    }
  }
  opts.natsServerConfig = renderConf(forChild);
}

/** The single user/password or token of the NATS authorization block (also what the streaming server connects with). */
function applyNatsAuthorization(opts: ServerOptions, m: ConfMap): void {
  for (const e of m.entries.values()) {
    switch (e.key.toLowerCase()) {
      case 'user':
      case 'username':
        opts.natsUser = str(e);
        break;
      case 'pass':
      case 'password':
        opts.natsPass = str(e);
        break;
      case 'token':
        opts.natsToken = str(e);
        break;
      // users, timeout, permissions, ...: the nats-server child checks and applies them.
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming keys

const STREAMING_TOP_KEYS = new Set([
  'id', 'cid', 'cluster_id', 'discover_prefix', 'st', 'store_type', 'store', 'storetype', 'dir', 'datastore', 'sd',
  'stan_debug', 'sv', 'stan_trace', 'ns', 'nats_server', 'nats_server_url', 'credentials', 'secure', 'tls', 'limits',
  'store_limits', 'storelimits', 'file', 'file_options', 'sql', 'sql_options', 'hbi', 'hb_interval',
  'server_to_client_hb_interval', 'hbt', 'hb_timeout', 'server_to_client_hb_timeout', 'hbf', 'hb_fail_count',
  'server_to_client_hb_fail_count', 'ft_group', 'ft_group_name', 'partitioning', 'cluster', 'syslog_name', 'encrypt',
  'encryption_cipher', 'encryption_key', 'username', 'user', 'password', 'pass', 'token', 'nkey_seed_file',
  'replace_durable', 'replace_durables', 'replace_duplicate_durable', 'replace_duplicate_durables',
]);

const STORE_TYPES: StoreKind[] = ['MEMORY', 'FILE', 'SQL'];

/**
 * The streaming keys of `m`. `atTopLevel`: `m` is the whole file (no streaming block), so the NATS keys beside the
 * streaming ones, and the NATS keys of the shared tls and cluster blocks, are allowed.
 */
function applyStreaming(opts: ServerOptions, m: ConfMap, atTopLevel: boolean): void {
  for (const e of m.entries.values()) {
    const k = e.key.toLowerCase();
    switch (k) {
      case 'id':
      case 'cid':
      case 'cluster_id':
        opts.clusterId = str(e);
        break;
      case 'discover_prefix':
        opts.discoverPrefix = str(e);
        break;
      case 'st':
      case 'store_type':
      case 'store':
      case 'storetype': {
        const v = str(e);
        const t = v.toUpperCase() as StoreKind;
        if (!STORE_TYPES.includes(t)) fail(e, `unknown store type: ${v}`);
        opts.storeType = t;
        break;
      }
      case 'dir':
      case 'datastore':
        opts.dir = str(e);
        break;
      case 'sd':
      case 'stan_debug':
        opts.streamingDebug = bool(e);
        break;
      case 'sv':
      case 'stan_trace':
        opts.streamingTrace = bool(e);
        break;
      case 'ns':
      case 'nats_server':
      case 'nats_server_url':
        opts.natsServerUrl = str(e);
        break;
      case 'credentials':
        opts.natsCredentials = str(e);
        break;
      case 'secure':
        opts.secure = bool(e);
        break;
      case 'tls':
        applyTls(opts, block(e, 'TLS'), atTopLevel);
        break;
      case 'limits':
      case 'store_limits':
      case 'storelimits':
        applyStoreLimits(opts, block(e, 'store limits'));
        break;
      case 'file':
      case 'file_options':
        applyFileOptions(opts, block(e, 'file options'));
        break;
      case 'sql':
      case 'sql_options':
        applySqlOptions(opts, block(e, 'SQL options'));
        break;
      case 'hbi':
      case 'hb_interval':
      case 'server_to_client_hb_interval':
        opts.hbInterval = duration(e);
        break;
      case 'hbt':
      case 'hb_timeout':
      case 'server_to_client_hb_timeout':
        opts.hbTimeout = duration(e);
        break;
      case 'hbf':
      case 'hb_fail_count':
      case 'server_to_client_hb_fail_count':
        opts.hbFailCount = int(e);
        break;
      case 'ft_group':
      case 'ft_group_name':
        opts.ftGroup = str(e);
        break;
      case 'partitioning':
        opts.partitioning = bool(e);
        break;
      case 'cluster':
        applyCluster(opts, block(e, 'cluster'), atTopLevel);
        break;
      case 'syslog_name':
        opts.syslogName = str(e);
        break;
      case 'encrypt':
        opts.encrypt = bool(e);
        break;
      case 'encryption_cipher':
        opts.encryptionCipher = str(e);
        break;
      case 'encryption_key':
        opts.encryptionKey = str(e);
        opts.encrypt = true;
        break;
      case 'username':
      case 'user':
        opts.username = str(e);
        break;
      case 'password':
      case 'pass':
        opts.password = str(e);
        break;
      case 'token':
        opts.token = str(e);
        break;
      case 'nkey_seed_file':
        opts.nkeySeedFile = str(e);
        break;
      case 'replace_durable':
      case 'replace_durables':
      case 'replace_duplicate_durable':
      case 'replace_duplicate_durables':
        opts.replaceDurable = bool(e);
        break;
      default:
        // At the top level, the other keys were checked against the NATS keys already.
        if (!atTopLevel && !e.usedAsVariable) unknownKey(e, 'the streaming block');
    }
  }
}

function applyTls(opts: ServerOptions, m: ConfMap, shared: boolean): void {
  for (const e of m.entries.values()) {
    const k = e.key.toLowerCase();
    switch (k) {
      case 'client_cert':
        opts.tlsClientCert = str(e);
        break;
      case 'client_key':
        opts.tlsClientKey = str(e);
        break;
      case 'client_ca':
      case 'client_cacert':
        opts.tlsClientCa = str(e);
        break;
      case 'server_name':
      case 'server_hostname':
        opts.tlsServerName = str(e);
        break;
      case 'skip_verify':
      case 'insecure':
        opts.tlsSkipVerify = bool(e);
        break;
      default:
        if (!(shared && NATS_TLS_KEYS.has(k)) && !e.usedAsVariable) unknownKey(e, 'tls');
    }
  }
}

function applyCluster(opts: ServerOptions, m: ConfMap, shared: boolean): void {
  const c = opts.clustering;
  // As in the Go server, the presence of the block turns clustering on.
  c.clustered = true;
  for (const e of m.entries.values()) {
    const k = e.key.toLowerCase();
    switch (k) {
      case 'node_id':
        c.nodeId = str(e);
        break;
      case 'bootstrap':
        c.bootstrap = bool(e);
        break;
      case 'peers': {
        const peers = expect(e, 'array', 'slice');
        c.peers = peers.items.map((p) => {
          if (p.kind !== 'string') fail(e, `parameter "${e.key}" expects strings, got ${goKind(p)}`);
          return p.value;
        });
        break;
      }
      case 'log_path':
        c.raftLogPath = str(e);
        break;
      case 'log_cache_size':
        c.logCacheSize = int(e);
        break;
      case 'log_snapshots':
        c.logSnapshots = int(e);
        break;
      case 'trailing_logs':
        c.trailingLogs = int(e);
        break;
      case 'sync':
        c.sync = bool(e);
        break;
      case 'proceed_on_restore_failure':
        c.proceedOnRestoreFailure = bool(e);
        break;
      case 'allow_add_remove_node':
        c.allowAddRemoveNode = bool(e);
        break;
      case 'raft_logging':
        c.raftLogging = bool(e);
        break;
      case 'raft_heartbeat_timeout':
        c.raftHeartbeatTimeout = duration(e);
        break;
      case 'raft_election_timeout':
        c.raftElectionTimeout = duration(e);
        break;
      case 'raft_lease_timeout':
        c.raftLeaseTimeout = duration(e);
        break;
      case 'raft_commit_timeout':
        c.raftCommitTimeout = duration(e);
        break;
      case 'bolt_free_list_sync':
        c.boltFreeListSync = bool(e);
        break;
      case 'bolt_free_list_map':
        c.boltFreeListMap = bool(e);
        break;
      case 'nodes_connections':
        c.nodesConnections = bool(e);
        break;
      default:
        if (!(shared && NATS_CLUSTER_KEYS.has(k)) && !e.usedAsVariable) unknownKey(e, 'cluster');
    }
  }
}

function applyStoreLimits(opts: ServerOptions, m: ConfMap): void {
  const sl = opts.storeLimits;
  for (const e of m.entries.values()) {
    const k = e.key.toLowerCase();
    switch (k) {
      case 'mc':
      case 'max_channels':
      case 'maxchannels':
        sl.maxChannels = int(e);
        break;
      case 'channels':
      case 'channels_limits':
      case 'channelslimits':
      case 'per_channel':
      case 'per_channel_limits':
        applyPerChannelLimits(opts, block(e, 'per channel limits'));
        break;
      default:
        if (!applyChannelLimit(sl, e, true) && !e.usedAsVariable) unknownKey(e, 'store_limits');
    }
  }
}

/**
 * One channel limit key into `cl`; false if the key is not one. In a per-channel entry (not global), 0 is stored as
 * -1 ("unlimited"), because an absent or 0 per-channel value means "inherit".
 */
function applyChannelLimit(cl: Partial<ChannelLimits>, e: ConfEntry, isGlobal: boolean): boolean {
  const set = (field: keyof ChannelLimits, v: number): true => {
    cl[field] = !isGlobal && v === 0 ? -1 : v;
    return true;
  };
  switch (e.key.toLowerCase()) {
    case 'msu':
    case 'max_subs':
    case 'max_subscriptions':
    case 'maxsubscriptions':
      return set('maxSubscriptions', int(e));
    case 'mm':
    case 'max_msgs':
    case 'maxmsgs':
    case 'max_count':
    case 'maxcount':
      return set('maxMsgs', int(e));
    case 'mb':
    case 'max_bytes':
    case 'maxbytes':
      return set('maxBytes', int(e));
    case 'ma':
    case 'max_age':
    case 'maxage':
      return set('maxAge', duration(e));
    case 'mi':
    case 'max_inactivity':
    case 'maxinactivity':
      return set('maxInactivity', duration(e));
  }
  return false;
}

/** A channel name or pattern as the Go server accepts it in the per-channel limits (wildcards allowed). */
export function isValidChannelPattern(name: string): boolean {
  if (name === '' || name.startsWith('.')) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '/') return false;
    if (c === '.' && (i === name.length - 1 || name[i + 1] === '.')) return false;
    if (c === '*' || c === '>') {
      if (i > 0 && name[i - 1] !== '.') return false;
      if (c === '>' && i !== name.length - 1) return false;
      if (i < name.length - 1 && name[i + 1] !== '.') return false;
    }
  }
  return true;
}

function applyPerChannelLimits(opts: ServerOptions, m: ConfMap): void {
  for (const e of m.entries.values()) {
    const limits = block(e, 'channel limits');
    if (!isValidChannelPattern(e.key)) fail(e, `invalid channel name "${e.key}"`);
    const cl: Partial<ChannelLimits> = {};
    for (const le of limits.entries.values()) {
      if (!applyChannelLimit(cl, le, false) && !le.usedAsVariable) unknownKey(le, `the limits of channel "${e.key}"`);
    }
    opts.storeLimits.perChannel.set(e.key, cl);
  }
}

function applyFileOptions(opts: ServerOptions, m: ConfMap): void {
  const f = opts.file;
  for (const e of m.entries.values()) {
    switch (e.key.toLowerCase()) {
      case 'compact':
      case 'compact_enabled':
        f.compactEnabled = bool(e);
        break;
      case 'compact_frag':
      case 'compact_fragmentation':
        f.compactFragmentation = int(e);
        break;
      case 'compact_interval':
        f.compactInterval = int(e);
        break;
      case 'compact_min_size':
        f.compactMinFileSize = int(e);
        break;
      case 'buffer_size':
        f.bufferSize = int(e);
        break;
      case 'crc':
      case 'do_crc':
        f.doCRC = bool(e);
        break;
      case 'crc_poly':
        f.crcPolynomial = int(e);
        break;
      case 'sync':
      case 'do_sync':
      case 'sync_on_flush':
        f.doSync = bool(e);
        break;
      case 'slice_max_msgs':
      case 'slice_max_count':
      case 'slice_msgs':
      case 'slice_count':
        f.sliceMaxMsgs = int(e);
        break;
      case 'slice_max_bytes':
      case 'slice_max_size':
      case 'slice_bytes':
      case 'slice_size':
        f.sliceMaxBytes = int(e);
        break;
      case 'slice_max_age':
      case 'slice_age':
      case 'slice_max_time':
      case 'slice_time_limit':
        f.sliceMaxAge = duration(e);
        break;
      case 'slice_archive_script':
      case 'slice_archive':
      case 'slice_script':
        f.sliceArchiveScript = str(e);
        break;
      case 'file_descriptors_limit':
      case 'fds_limit':
        f.fileDescriptorsLimit = int(e);
        break;
      case 'parallel_recovery':
        f.parallelRecovery = int(e);
        break;
      case 'file_read_buffer_size':
      case 'read_buffer_size':
        f.readBufferSize = int(e);
        break;
      case 'file_auto_sync':
      case 'auto_sync':
        f.autoSync = duration(e);
        break;
      case 'cache':
        // An option of old releases (message caching); still found in config files, and ignored, as Go does.
        break;
      default:
        if (!e.usedAsVariable) unknownKey(e, 'file options');
    }
  }
}

function applySqlOptions(opts: ServerOptions, m: ConfMap): void {
  const s = opts.sql;
  for (const e of m.entries.values()) {
    // The Go server names SQL keys in lower case in its errors.
    const k = e.key.toLowerCase();
    switch (k) {
      case 'driver':
        s.driver = str(e, k);
        break;
      case 'source':
        s.source = str(e, k);
        break;
      case 'no_caching':
        s.noCaching = bool(e, k);
        break;
      case 'max_open_conns':
      case 'max_conns':
        s.maxOpenConns = int(e, k);
        break;
      case 'bulk_insert_limit':
        s.bulkInsertLimit = int(e, k);
        break;
      default:
        if (!e.usedAsVariable) unknownKey(e, 'SQL options');
    }
  }
}

export { ConfError, formatPos };
