import { type StoreLimits, defaultStoreLimits } from '../stores/limits.js';

export type StoreKind = 'MEMORY' | 'FILE' | 'SQL';

/** The Go file store's options (--file_* flags and the config file's file block). Sizes in bytes, durations in ms. */
export interface FileStoreOptions {
  compactEnabled: boolean;
  compactFragmentation: number;
  compactInterval: number;
  compactMinFileSize: number;
  bufferSize: number;
  doCRC: boolean;
  crcPolynomial: number;
  doSync: boolean;
  sliceMaxMsgs: number;
  sliceMaxBytes: number;
  sliceMaxAge: number;
  sliceArchiveScript: string;
  fileDescriptorsLimit: number;
  parallelRecovery: number;
  truncateUnexpectedEOF: boolean;
  readBufferSize: number;
  autoSync: number;
}

/** The Go SQL store's options (--sql_* flags and the config file's sql block). */
export interface SqlStoreOptions {
  driver: string;
  source: string;
  noCaching: boolean;
  maxOpenConns: number;
  bulkInsertLimit: number;
}

export function defaultFileStoreOptions(): FileStoreOptions {
  return {
    compactEnabled: true,
    compactFragmentation: 50,
    compactInterval: 300,
    compactMinFileSize: 1024 * 1024,
    bufferSize: 2 * 1024 * 1024,
    doCRC: true,
    crcPolynomial: 0xedb88320,
    doSync: true,
    sliceMaxMsgs: 0,
    sliceMaxBytes: 64 * 1024 * 1024,
    sliceMaxAge: 0,
    sliceArchiveScript: '',
    fileDescriptorsLimit: 0,
    parallelRecovery: 1,
    truncateUnexpectedEOF: false,
    readBufferSize: 2 * 1024 * 1024,
    autoSync: 60_000,
  };
}

/** Streaming clustering (the config file's cluster block and the --cluster_* flags). Durations in ms; 0 means the Raft default. */
export interface ClusteringOptions {
  clustered: boolean;
  nodeId: string;
  bootstrap: boolean;
  peers: string[];
  raftLogPath: string;
  logCacheSize: number;
  logSnapshots: number;
  trailingLogs: number;
  sync: boolean;
  proceedOnRestoreFailure: boolean;
  allowAddRemoveNode: boolean;
  raftLogging: boolean;
  raftHeartbeatTimeout: number;
  raftElectionTimeout: number;
  raftLeaseTimeout: number;
  raftCommitTimeout: number;
  boltFreeListSync: boolean;
  boltFreeListMap: boolean;
  nodesConnections: boolean;
}

export function defaultClusteringOptions(): ClusteringOptions {
  return {
    clustered: false,
    nodeId: '',
    bootstrap: false,
    peers: [],
    raftLogPath: '',
    // The Go command line registers these defaults (GetDefaultOptions leaves them at 0).
    logCacheSize: 512,
    logSnapshots: 2,
    trailingLogs: 10240,
    sync: false,
    proceedOnRestoreFailure: false,
    allowAddRemoveNode: false,
    raftLogging: false,
    raftHeartbeatTimeout: 0,
    raftElectionTimeout: 0,
    raftLeaseTimeout: 0,
    raftCommitTimeout: 0,
    boltFreeListSync: false,
    boltFreeListMap: false,
    nodesConnections: false,
  };
}

/** Everything the server needs to run, with the Go server's defaults. Durations are milliseconds. */
export interface ServerOptions {
  clusterId: string;
  discoverPrefix: string;
  storeType: StoreKind;
  dir: string;
  storeLimits: StoreLimits;
  file: FileStoreOptions;
  sql: SqlStoreOptions;
  /** How often the server pings each client's heartbeat inbox, how long it waits, and how many misses close it. */
  hbInterval: number;
  hbTimeout: number;
  hbFailCount: number;
  /** What protocol-1 clients are told in the ConnectResponse (seconds, count). */
  clientPingInterval: number;
  clientPingMaxOut: number;
  replaceDurable: boolean;
  ftGroup: string;
  /** URL of an external NATS server; empty means start a nats-server child on host:port. */
  natsServerUrl: string;
  host: string;
  port: number;
  httpPort: number;
  natsUser: string;
  natsPass: string;
  natsToken: string;
  secure: boolean;
  tlsClientKey: string;
  tlsClientCert: string;
  tlsClientCa: string;
  streamingDebug: boolean;
  streamingTrace: boolean;
  natsDebug: boolean;
  natsTrace: boolean;
  logTime: boolean;
  logFile: string;
  pidFile: string;
  ioBatchSize: number;
  encrypt: boolean;
  encryptionCipher: string;
  encryptionKey: string;
  /** Whether /metrics has per-subscription series (they can be many). */
  subscriptionMetrics: boolean;
  /** NATS server flags passed through to the nats-server child when there is no -ns. */
  natsChildArgs: string[];
  /** Go's Partitioning: each server of a group handles only the channels listed in its store limits. */
  partitioning: boolean;
  syslogName: string;
  /** TLS to the NATS server: the expected server name, and whether to skip verifying its certificate. */
  tlsServerName: string;
  tlsSkipVerify: boolean;
  /**
   * Credentials the streaming server connects to NATS with when the NATS server options (natsUser, natsPass,
   * natsToken: -user/-pass/-auth or the NATS authorization block) do not give them: Go's Username, Password, Token,
   * NKeySeedFile and NATSCredentials (config file keys username, password, token, nkey_seed_file, credentials).
   */
  username: string;
  password: string;
  token: string;
  nkeySeedFile: string;
  natsCredentials: string;
  clustering: ClusteringOptions;
  /** Monitoring host from the NATS config `http: host:port` (empty: the client host) and the HTTPS monitoring port. */
  httpHost: string;
  httpsPort: number;
  /**
   * The NATS server part of the config file (-c, or -sc alone), in NATS config syntax, for the nats-server child:
   * everything except what this process handles itself (listen/host/port, monitoring, log and pid files). Empty when
   * there is none.
   */
  natsServerConfig: string;
}

export function defaultOptions(): ServerOptions {
  return {
    clusterId: 'test-cluster',
    discoverPrefix: '_STAN.discover',
    storeType: 'MEMORY',
    dir: '',
    storeLimits: defaultStoreLimits(),
    file: defaultFileStoreOptions(),
    sql: { driver: '', source: '', noCaching: false, maxOpenConns: 0, bulkInsertLimit: 0 },
    hbInterval: 30_000,
    hbTimeout: 10_000,
    hbFailCount: 10,
    clientPingInterval: 5,
    clientPingMaxOut: 3,
    replaceDurable: false,
    ftGroup: '',
    natsServerUrl: '',
    host: '0.0.0.0',
    port: 4222,
    httpPort: 0,
    natsUser: '',
    natsPass: '',
    natsToken: '',
    secure: false,
    tlsClientKey: '',
    tlsClientCert: '',
    tlsClientCa: '',
    streamingDebug: false,
    streamingTrace: false,
    natsDebug: false,
    natsTrace: false,
    logTime: true,
    logFile: '',
    pidFile: '',
    ioBatchSize: 1024,
    encrypt: false,
    encryptionCipher: '',
    encryptionKey: '',
    subscriptionMetrics: true,
    natsChildArgs: [],
    partitioning: false,
    syslogName: '',
    tlsServerName: '',
    tlsSkipVerify: false,
    username: '',
    password: '',
    token: '',
    nkeySeedFile: '',
    natsCredentials: '',
    clustering: defaultClusteringOptions(),
    httpHost: '',
    httpsPort: 0,
    natsServerConfig: '',
  };
}
