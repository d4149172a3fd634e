import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyConfigFiles } from '../../src/config/conffile.js';
import { OptionsError, loadOptions } from '../../src/config/load.js';
import { type ServerOptions, defaultOptions } from '../../src/config/options.js';
import { channelLimitsFor } from '../../src/stores/limits.js';
import { GO_FIXTURES } from '../helpers/go-fixture.js';

const FIXTURES = resolve('test/fixtures/config');
const fixture = (name: string): string => join(FIXTURES, name);
const SHARED_STAN_CONF = join(GO_FIXTURES, 'stan.conf');

const tmp = mkdtempSync(join(tmpdir(), 'config-file-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
function writeConf(text: string): string {
  const file = join(tmp, `c${counter++}.conf`);
  writeFileSync(file, text);
  return file;
}

/** Options from a -sc file alone, without flags. */
function fromStanFile(file: string): ServerOptions {
  const o = defaultOptions();
  applyConfigFiles(o, { stanConfigFile: file, natsConfigFile: '' }, {});
  return o;
}

function fromText(text: string): ServerOptions {
  return fromStanFile(writeConf(text));
}

function expectFailure(text: string, re: RegExp): void {
  const file = writeConf(text);
  assert.throws(() => fromStanFile(file), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, re, `content ${JSON.stringify(text)}`);
    assert.ok(e.message.startsWith(`${file}:`), `the message names the file: ${e.message}`);
    return true;
  });
}

describe('config files: streaming options', () => {
  it('reads every streaming option from the streaming block', () => {
    const o = fromStanFile(fixture('all-options.conf'));
    assert.equal(o.clusterId, 'my-cluster');
    assert.equal(o.discoverPrefix, '_MY.discover');
    assert.equal(o.storeType, 'FILE');
    assert.equal(o.dir, '/var/lib/stan');
    assert.equal(o.streamingDebug, true);
    assert.equal(o.streamingTrace, true);
    assert.equal(o.natsServerUrl, 'nats://127.0.0.1:4333');
    assert.equal(o.secure, true);
    assert.equal(o.hbInterval, 7000);
    assert.equal(o.hbTimeout, 1500);
    assert.equal(o.hbFailCount, 4);
    assert.equal(o.ftGroup, 'group-a');
    assert.equal(o.partitioning, true);
    assert.equal(o.syslogName, 'stan-svc');
    assert.equal(o.encrypt, true);
    assert.equal(o.encryptionCipher, 'CHACHA');
    assert.equal(o.encryptionKey, 's3cret');
    assert.equal(o.natsCredentials, '/etc/stan/user.creds');
    assert.equal(o.username, 'stan');
    assert.equal(o.password, 'stanpwd');
    assert.equal(o.token, 'stantoken');
    assert.equal(o.nkeySeedFile, '/etc/stan/seed.nk');
    assert.equal(o.replaceDurable, true);

    const l = o.storeLimits;
    assert.equal(l.maxChannels, 21);
    assert.equal(l.maxMsgs, 22);
    assert.equal(l.maxBytes, 23 * 1024);
    assert.equal(l.maxAge, 24_000);
    assert.equal(l.maxSubscriptions, 25);
    assert.equal(l.maxInactivity, 26 * 60_000);
    assert.deepEqual([...l.perChannel.keys()], ['orders.*', 'audit.>', 'plain']);
    assert.deepEqual(l.perChannel.get('orders.*'), { maxMsgs: 31, maxBytes: 32, maxAge: 33_000, maxSubscriptions: 34, maxInactivity: 35_000 });
    // Only what is written is set; the rest is inherited.
    assert.deepEqual(l.perChannel.get('audit.>'), { maxMsgs: 41, maxAge: 90 * 60_000 });
    // A per-channel 0 means unlimited, stored as -1 as the Go server does.
    assert.deepEqual(l.perChannel.get('plain'), { maxSubscriptions: -1 });

    assert.equal(o.tlsClientCert, '/certs/client-cert.pem');
    assert.equal(o.tlsClientKey, '/certs/client-key.pem');
    assert.equal(o.tlsClientCa, '/certs/ca.pem');
    assert.equal(o.tlsServerName, 'nats.example.com');
    assert.equal(o.tlsSkipVerify, true);

    assert.deepEqual(o.file, {
      compactEnabled: false,
      compactFragmentation: 11,
      compactInterval: 12,
      compactMinFileSize: 13,
      bufferSize: 14,
      doCRC: false,
      crcPolynomial: 15,
      doSync: false,
      sliceMaxMsgs: 16,
      sliceMaxBytes: 17,
      sliceMaxAge: 18_000,
      sliceArchiveScript: '/usr/local/bin/archive.sh',
      fileDescriptorsLimit: 19,
      parallelRecovery: 20,
      truncateUnexpectedEOF: false,
      readBufferSize: 21,
      autoSync: 22_000,
    });

    assert.deepEqual(o.clustering, {
      clustered: true,
      nodeId: 'n1',
      bootstrap: true,
      peers: ['n2', 'n3'],
      raftLogPath: '/raft/log',
      logCacheSize: 64,
      logSnapshots: 3,
      trailingLogs: 128,
      sync: true,
      proceedOnRestoreFailure: true,
      allowAddRemoveNode: true,
      raftLogging: true,
      raftHeartbeatTimeout: 2000,
      raftElectionTimeout: 3000,
      raftLeaseTimeout: 750,
      raftCommitTimeout: 25,
      boltFreeListSync: true,
      boltFreeListMap: true,
      nodesConnections: true,
    });

    assert.deepEqual(o.sql, { driver: 'postgres', source: 'dbname=stan sslmode=disable', noCaching: true, maxOpenConns: 7, bulkInsertLimit: 250 });
    // Nothing for the NATS server in this file.
    assert.equal(o.natsServerConfig, '');
  });

  it('accepts every alias the Go server accepts, keys in any case', () => {
    const o = fromStanFile(fixture('aliases.conf'));
    assert.equal(o.clusterId, 'alias-cluster');
    assert.equal(o.storeType, 'MEMORY');
    assert.equal(o.dir, '/data/alias');
    assert.equal(o.streamingDebug, true);
    assert.equal(o.streamingTrace, true);
    assert.equal(o.natsServerUrl, 'nats://10.0.0.1:4222');
    assert.equal(o.hbInterval, 3000);
    assert.equal(o.hbTimeout, 2000);
    assert.equal(o.hbFailCount, 5);
    assert.equal(o.ftGroup, 'ftg');
    assert.equal(o.username, 'u1');
    assert.equal(o.password, 'p1');
    assert.equal(o.replaceDurable, true);
    const l = o.storeLimits;
    assert.deepEqual(
      { mc: l.maxChannels, mm: l.maxMsgs, mb: l.maxBytes, ma: l.maxAge, msu: l.maxSubscriptions, mi: l.maxInactivity },
      { mc: 3, mm: 4, mb: 1024 * 1024, ma: 5 * 60_000, msu: 6, mi: 7000 },
    );
    assert.deepEqual(l.perChannel.get('a.b'), { maxMsgs: 8, maxBytes: 9, maxAge: 10_000, maxSubscriptions: 11, maxInactivity: 12_000 });
    assert.deepEqual(l.perChannel.get('c'), { maxMsgs: 13, maxBytes: 14, maxAge: 15_000, maxSubscriptions: 16, maxInactivity: 17_000 });
    assert.deepEqual(l.perChannel.get('d'), { maxMsgs: 18 });
    assert.equal(o.tlsClientCa, '/ca.pem');
    assert.equal(o.tlsServerName, 'host.x');
    assert.equal(o.tlsSkipVerify, true);
    assert.equal(o.file.compactEnabled, true);
    assert.equal(o.file.compactFragmentation, 60);
    assert.equal(o.file.sliceMaxMsgs, 100);
    assert.equal(o.file.sliceMaxBytes, 2 * 1024 * 1024);
    assert.equal(o.file.sliceMaxAge, 3_600_000);
    assert.equal(o.file.sliceArchiveScript, '/bin/true');
    assert.equal(o.file.fileDescriptorsLimit, 50);
    assert.equal(o.file.readBufferSize, 4096);
    assert.equal(o.file.autoSync, 0);
    assert.equal(o.sql.maxOpenConns, 9);
    // Other aliases, one file each.
    assert.equal(fromText('id: a').clusterId, 'a');
    assert.equal(fromText('cluster_id: b').clusterId, 'b');
    assert.equal(fromText('st: sql').storeType, 'SQL');
    assert.equal(fromText('storetype: File').storeType, 'FILE');
    assert.equal(fromText('sv: true').streamingTrace, true);
    assert.equal(fromText('ns: "nats://h:1"').natsServerUrl, 'nats://h:1');
    assert.equal(fromText('hbi: "1s"').hbInterval, 1000);
    assert.equal(fromText('hbt: "2s"').hbTimeout, 2000);
    assert.equal(fromText('hbf: 3').hbFailCount, 3);
    assert.equal(fromText('replace_durables: true').replaceDurable, true);
    assert.equal(fromText('replace_duplicate_durable: true').replaceDurable, true);
    assert.equal(fromText('storelimits { maxchannels: 9 }').storeLimits.maxChannels, 9);
    assert.equal(fromText('store_limits { channels_limits { x: { mm: 1 } } }').storeLimits.perChannel.get('x')?.maxMsgs, 1);
    assert.equal(fromText('store_limits { channelslimits { x: { mm: 2 } } }').storeLimits.perChannel.get('x')?.maxMsgs, 2);
    assert.equal(fromText('store_limits { per_channel_limits { x: { mm: 3 } } }').storeLimits.perChannel.get('x')?.maxMsgs, 3);
    assert.equal(fromText('file { slice_msgs: 4 }').file.sliceMaxMsgs, 4);
    assert.equal(fromText('file { slice_count: 5 }').file.sliceMaxMsgs, 5);
    assert.equal(fromText('file { slice_bytes: 6 }').file.sliceMaxBytes, 6);
    assert.equal(fromText('file { slice_size: 7 }').file.sliceMaxBytes, 7);
    assert.equal(fromText('file { slice_age: "8s" }').file.sliceMaxAge, 8000);
    assert.equal(fromText('file { slice_time_limit: "9s" }').file.sliceMaxAge, 9000);
    assert.equal(fromText('file { slice_script: "s" }').file.sliceArchiveScript, 's');
    assert.equal(fromText('file { sync_on_flush: false }').file.doSync, false);
    assert.equal(fromText('tls { client_cacert: "ca" }').tlsClientCa, 'ca');
    assert.equal(fromText('tls { skip_verify: true }').tlsSkipVerify, true);
    // The old `cache` file option is accepted and has no effect.
    assert.deepEqual(fromText('file { cache: true }').file, defaultOptions().file);
  });

  it('reads the shared Go fixture stan.conf in place: limited gets max_msgs 100, slices have no byte limit', () => {
    const o = fromStanFile(SHARED_STAN_CONF);
    const defaults = defaultOptions();
    assert.deepEqual([...o.storeLimits.perChannel.entries()], [['limited', { maxMsgs: 100 }]]);
    assert.equal(o.file.sliceMaxBytes, 0);
    // Everything else keeps its default.
    assert.equal(o.storeLimits.maxMsgs, defaults.storeLimits.maxMsgs);
    assert.equal(o.storeLimits.maxBytes, defaults.storeLimits.maxBytes);
    assert.equal(o.storeLimits.maxChannels, 100);
    assert.deepEqual({ ...o.file, sliceMaxBytes: 64 * 1024 * 1024 }, defaults.file);
    assert.equal(o.clusterId, 'test-cluster');
    // The limits the store applies to the channel: max_msgs from the file, the rest inherited.
    assert.deepEqual(channelLimitsFor(o.storeLimits, 'limited'), {
      maxMsgs: 100,
      maxBytes: 1_024_000_000,
      maxAge: 0,
      maxSubscriptions: 1000,
      maxInactivity: 0,
    });
    assert.equal(channelLimitsFor(o.storeLimits, 'other').maxMsgs, 1_000_000);
    // Through the command line as the fixtures were made: -st FILE --dir X -sc stan.conf.
    const { options } = loadOptions(['-st', 'FILE', '--dir', '/tmp/x', '-sc', SHARED_STAN_CONF], {});
    assert.equal(options.storeLimits.perChannel.get('limited')?.maxMsgs, 100);
    assert.equal(options.file.sliceMaxBytes, 0);
    assert.equal(options.storeType, 'FILE');
  });

  it('stores per-channel zeros as -1 (unlimited), not as "inherit"', () => {
    const o = fromText('store_limits: {channels: {foo: {max_msgs: 0, max_bytes: 0, max_age: "0", max_subs: 0, max_inactivity: "0"}}}');
    assert.deepEqual(o.storeLimits.perChannel.get('foo'), { maxMsgs: -1, maxBytes: -1, maxAge: -1, maxSubscriptions: -1, maxInactivity: -1 });
    assert.equal(channelLimitsFor(o.storeLimits, 'foo').maxMsgs, -1);
    // Global zeros stay zeros.
    assert.equal(fromText('store_limits { max_msgs: 0 }').storeLimits.maxMsgs, 0);
  });

  it('reads the store type in any case and refuses unknown ones', () => {
    for (const t of ['memory', 'MEMORY', 'file', 'FILE', 'sql', 'Sql']) assert.equal(fromText(`store=${t}`).storeType, t.toUpperCase());
    expectFailure('store=xyz', /:1:1: unknown store type: xyz$/);
  });

  it('takes the whole top level when there is no streaming block', () => {
    const o = fromStanFile(fixture('top-level.conf'));
    assert.equal(o.clusterId, 'top-level');
    assert.equal(o.storeLimits.maxMsgs, 5);
    assert.equal(o.storeLimits.maxBytes, 1024 * 1024);
    // The same top level is the NATS configuration.
    assert.equal(o.port, 4255);
    assert.equal(o.natsUser, 'admin');
    assert.equal(o.natsPass, 'pw');
  });

  it('follows includes relative to the including file, and variables', () => {
    const o = fromStanFile(fixture('with-include.conf'));
    assert.equal(o.clusterId, 'included');
    assert.equal(o.storeLimits.maxBytes, 10 * 1024 * 1024);
    assert.equal(o.storeLimits.maxMsgs, 500);
    assert.deepEqual(o.storeLimits.perChannel.get('inc.*'), { maxMsgs: 9 });
    // Environment variables.
    const file = writeConf('streaming { id: $STAN_ID, store_limits { max_msgs: $STAN_MM } }');
    const withEnv = defaultOptions();
    applyConfigFiles(withEnv, { stanConfigFile: file, natsConfigFile: '' }, { STAN_ID: 'env-id', STAN_MM: '77' });
    assert.equal(withEnv.clusterId, 'env-id');
    assert.equal(withEnv.storeLimits.maxMsgs, 77);
  });
});

describe('config files: errors', () => {
  it('refuses non-map blocks', () => {
    expectFailure('streaming: xxx', /expected streaming section to be a map\/struct, got xxx/);
    expectFailure('streaming: 5', /expected streaming section to be a map\/struct, got 5/);
    expectFailure('store_limits: xxx', /expected store limits to be a map\/struct/);
    expectFailure('store_limits: {\nchannels: xxx\n}', /:2:1: expected per channel limits to be a map\/struct/);
    expectFailure('store_limits: {\nchannels: {\n"foo": xxx\n}\n}', /:3:1: expected channel limits to be a map\/struct, got xxx/);
    expectFailure('streaming { tls: xxx }', /expected TLS to be a map\/struct/);
    expectFailure('file: [1 ]', /expected file options to be a map\/struct, got \[1\]/);
    expectFailure('cluster: xxx', /expected cluster to be a map\/struct/);
    expectFailure('sql: xxx', /expected SQL options to be a map\/struct/);
  });

  it('refuses values of the wrong type, naming the key', () => {
    const cases: [string, string][] = [
      ['streaming:{id:123}', 'string'],
      ['id: 123', 'string'],
      ['discover_prefix: 123', 'string'],
      ['store: 123', 'string'],
      ['dir: 123', 'string'],
      ['sd: 123', 'bool'],
      ['sv: 123', 'bool'],
      ['ns: 123', 'string'],
      ['secure: 123', 'bool'],
      ['hb_interval: 123', 'string'],
      ['hb_timeout: 123', 'string'],
      ['hb_fail_count: false', 'int64'],
      ['ft_group: 123', 'string'],
      ['partitioning: 123', 'bool'],
      ['syslog_name: 123', 'string'],
      ['replace_durable: 123', 'bool'],
      ['encrypt: 123', 'bool'],
      ['encryption_cipher: 123', 'string'],
      ['encryption_key: 123', 'string'],
      ['credentials: 123', 'string'],
      ['username: 123', 'string'],
      ['password: 123', 'string'],
      ['token: 123', 'string'],
      ['nkey_seed_file: 123', 'string'],
      ['store_limits:{max_channels:false}', 'int64'],
      ['store_limits:{max_msgs:false}', 'int64'],
      ['store_limits:{max_bytes:false}', 'int64'],
      ['store_limits:{max_age:false}', 'string'],
      ['store_limits:{max_subs:false}', 'int64'],
      ['store_limits:{max_inactivity:false}', 'string'],
      ['store_limits:{max_msgs:1.5}', 'int64'],
      ['store_limits:{channels:{"foo":{max_msgs:false}}}', 'int64'],
      ['store_limits:{channels:{"foo":{max_bytes:false}}}', 'int64'],
      ['store_limits:{channels:{"foo":{max_age:false}}}', 'string'],
      ['store_limits:{channels:{"foo":{max_subs:false}}}', 'int64'],
      ['store_limits:{channels:{"foo":{max_inactivity:false}}}', 'string'],
      ['tls:{client_cert:123}', 'string'],
      ['tls:{client_key:123}', 'string'],
      ['tls:{client_ca:123}', 'string'],
      ['tls:{server_name:123}', 'string'],
      ['tls:{insecure:123}', 'bool'],
      ['file:{compact:123}', 'bool'],
      ['file:{compact_frag:false}', 'int64'],
      ['file:{compact_interval:false}', 'int64'],
      ['file:{compact_min_size:false}', 'int64'],
      ['file:{buffer_size:false}', 'int64'],
      ['file:{read_buffer_size:false}', 'int64'],
      ['file:{crc:123}', 'bool'],
      ['file:{crc_poly:false}', 'int64'],
      ['file:{sync:123}', 'bool'],
      ['file:{slice_max_msgs:true}', 'int64'],
      ['file:{slice_max_bytes:false}', 'int64'],
      ['file:{slice_max_age:123}', 'string'],
      ['file:{slice_archive_script:123}', 'string'],
      ['file:{fds_limit:false}', 'int64'],
      ['file:{parallel_recovery:false}', 'int64'],
      ['file:{auto_sync:123}', 'string'],
      ['cluster:{node_id:false}', 'string'],
      ['cluster:{bootstrap:1}', 'bool'],
      ['cluster:{peers:1}', 'slice'],
      ['cluster:{log_path:1}', 'string'],
      ['cluster:{log_cache_size:false}', 'int64'],
      ['cluster:{log_snapshots:false}', 'int64'],
      ['cluster:{trailing_logs:false}', 'int64'],
      ['cluster:{sync:1}', 'bool'],
      ['cluster:{proceed_on_restore_failure:123}', 'bool'],
      ['cluster:{raft_logging:1}', 'bool'],
      ['cluster:{raft_heartbeat_timeout:123}', 'string'],
      ['cluster:{raft_election_timeout:123}', 'string'],
      ['cluster:{raft_lease_timeout:123}', 'string'],
      ['cluster:{raft_commit_timeout:123}', 'string'],
      ['cluster:{allow_add_remove_node:1}', 'bool'],
      ['cluster:{bolt_free_list_sync:123}', 'bool'],
      ['cluster:{bolt_free_list_map:123}', 'bool'],
      ['sql:{driver:false}', 'string'],
      ['sql:{source:false}', 'string'],
      ['sql:{no_caching:123}', 'bool'],
      ['sql:{max_open_conns:false}', 'int64'],
      ['sql:{bulk_insert_limit:"x"}', 'int64'],
    ];
    for (const [text, expected] of cases) {
      const key = /([A-Za-z_]+):[^:{]*}*$/.exec(text)![1]!;
      expectFailure(text, new RegExp(`parameter "${key}" value is expected to be ${expected}, got `));
    }
  });

  it('refuses durations Go cannot read', () => {
    for (const text of [
      'hb_interval: "foo"',
      'hb_timeout: "foo"',
      'store_limits:{max_age:"foo"}',
      'store_limits:{max_inactivity:"foo"}',
      'store_limits:{channels:{"foo":{max_age:"1h:0m"}}}',
      'store_limits:{channels:{"foo":{max_inactivity:"1L0m"}}}',
      'file:{slice_max_age:"1h:0m"}',
      'file:{auto_sync:"1h:0m"}',
      'cluster:{raft_heartbeat_timeout:"not_a_time"}',
      'cluster:{raft_commit_timeout:"10"}',
    ]) {
      expectFailure(text, /time: invalid duration/);
    }
  });

  it('refuses invalid per-channel names, wildcards allowed', () => {
    for (const name of ['foo.*bar', 'foo.>.>', 'foo..bar', 'foo/bar', '.foo', 'foo.', 'a>']) {
      expectFailure(`store_limits:{channels:{"${name}":{}}}`, /invalid channel name/);
    }
    const o = fromText('store_limits:{channels:{"foo.*":{}, "foo.>":{}, "*":{}, ">":{}, "a.*.c":{}}}');
    assert.deepEqual([...o.storeLimits.perChannel.keys()], ['foo.*', 'foo.>', '*', '>', 'a.*.c']);
  });

  it('refuses unknown keys, with the file, line and key', () => {
    const file = fixture('unknown-key.conf');
    assert.throws(() => fromStanFile(file), (e: unknown) => e instanceof Error && e.message === `${file}:5:5: unknown key "max_mesages" in store_limits`);
    expectFailure('streaming {\n  id: a\n  colour: blue\n}', /:3:3: unknown key "colour" in the streaming block$/);
    expectFailure('nonsense: 1', /:1:1: unknown key "nonsense"$/);
    expectFailure('store_limits { channels { foo: { max_msg: 1 } } }', /unknown key "max_msg" in the limits of channel "foo"/);
    expectFailure('file { slice_max: 1 }', /unknown key "slice_max" in file options/);
    expectFailure('sql { drv: "x" }', /unknown key "drv" in SQL options/);
    expectFailure('streaming { tls { cert_file: "x" } }', /unknown key "cert_file" in tls/);
    expectFailure('streaming { cluster { listen: "x" } }', /unknown key "listen" in cluster/);
    // Top-level NATS keys are fine, and so are keys used as variables.
    assert.equal(fromText('port: 4333\nmax_payload: 1MB\nMY_ID: "v"\nstreaming { id: $MY_ID }').clusterId, 'v');
    // Without a streaming block, tls and cluster are shared with NATS, so their NATS keys are allowed.
    assert.equal(fromText('tls { cert_file: "c", client_cert: "cc" }').tlsClientCert, 'cc');
  });

  it('refuses values of the wrong type in the wrong-type fixture with file:line', () => {
    const file = fixture('wrong-type.conf');
    assert.throws(
      () => fromStanFile(file),
      (e: unknown) => e instanceof Error && e.message === `${file}:3:3: parameter "hb_fail_count" value is expected to be int64, got string`,
    );
  });

  it('reports syntax errors and missing files through the command line as OptionsError', () => {
    const bad = fixture('bad-syntax.conf');
    assert.throws(
      () => loadOptions(['-sc', bad], {}),
      (e: unknown) => e instanceof OptionsError && e.message === `${bad}:5:1: Unexpected EOF processing map.` && !e.showUsage,
    );
    assert.throws(() => loadOptions(['-c', fixture('unknown-key.conf')], {}), (e: unknown) => e instanceof OptionsError && /:5:5: unknown key "max_mesages"/.test(e.message));
    for (const args of [['-sc', 'xxx.conf'], ['-c', 'xxx.conf'], ['-sc', 'xxx.conf', '-c', fixture('aliases.conf')], ['-sc', fixture('aliases.conf'), '-c', 'xxx.conf']]) {
      assert.throws(() => loadOptions(args, {}), (e: unknown) => e instanceof OptionsError && /error opening config file: open xxx\.conf: no such file or directory/.test(e.message), args.join(' '));
    }
    // -h and -v come before the files, as in Go.
    assert.equal(loadOptions(['-h', '-sc', 'xxx.conf'], {}).help, true);
    assert.equal(loadOptions(['-v', '-c', 'xxx.conf'], {}).version, true);
  });
});

describe('config files and flags', () => {
  it('lets flags override file values', () => {
    const file = writeConf('port: 14780\nstreaming { id: "from-file", store_limits { max_msgs: 5, max_bytes: 1MB }, sd: true, sv: true, hb_interval: "3s" }');
    const fileOnly = loadOptions(['-sc', file], {}).options;
    assert.equal(fileOnly.clusterId, 'from-file');
    assert.equal(fileOnly.storeLimits.maxMsgs, 5);
    assert.equal(fileOnly.storeLimits.maxBytes, 1024 * 1024);
    assert.equal(fileOnly.port, 14780);
    assert.equal(fileOnly.hbInterval, 3000);
    // Flags win, wherever they stand on the command line.
    const o = loadOptions(['-mm', '7', '-sc', file, '-mb', '2KB', '-cid', 'flagid', '-p', '14781', '--hbi', '4s'], {}).options;
    assert.equal(o.storeLimits.maxMsgs, 7);
    assert.equal(o.storeLimits.maxBytes, 2048);
    assert.equal(o.clusterId, 'flagid');
    assert.equal(o.port, 14781);
    assert.equal(o.hbInterval, 4000);
    // The file set debug and trace; -SDV=false clears both.
    const sdv = loadOptions(['-sc', file, '-SDV=false'], {}).options;
    assert.equal(sdv.streamingDebug, false);
    assert.equal(sdv.streamingTrace, false);
    assert.equal(fileOnly.streamingDebug, true);
    // Values the file does not set keep the defaults, and flags still apply on top of them.
    assert.equal(loadOptions(['-sc', SHARED_STAN_CONF, '--file_slice_max_bytes', '1MB'], {}).options.file.sliceMaxBytes, 1024 * 1024);
  });

  it('uses -sc for streaming and -c for NATS when both are given, and one file for both otherwise', () => {
    const sc = fixture('streaming-only.conf');
    const c = fixture('nats-only.conf');
    const both = loadOptions(['-sc', sc, '-c', c], {}).options;
    assert.equal(both.clusterId, 'from-sc');
    assert.equal(both.port, 5277);
    const scOnly = loadOptions(['-sc', sc], {}).options;
    assert.equal(scOnly.clusterId, 'from-sc');
    assert.equal(scOnly.port, 4266);
    const cOnly = loadOptions(['-c', c], {}).options;
    assert.equal(cOnly.clusterId, 'from-c');
    assert.equal(cOnly.port, 5277);
  });

  it('still validates the result: negative global limits from a file are refused', () => {
    const file = writeConf('store_limits { max_msgs: -1 }');
    assert.throws(() => loadOptions(['-sc', file], {}), /max messages limit cannot be negative \(-1\)/);
    // But a per-channel negative value is "unlimited".
    assert.equal(loadOptions(['-sc', writeConf('store_limits { channels { a: { max_msgs: -1 } } }')], {}).options.storeLimits.perChannel.get('a')?.maxMsgs, -1);
  });
});

describe('config files: the NATS server part', () => {
  it('reads listen, http, debug and the authorization block, and hands the rest to the nats-server child', () => {
    const file = fixture('nats-and-streaming.conf');
    const { options: o } = loadOptions(['-c', file], {});
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 4244);
    assert.equal(o.httpHost, '127.0.0.1');
    assert.equal(o.httpPort, 8244);
    assert.equal(o.natsDebug, true);
    assert.equal(o.clusterId, 'both');
    // A users list is not a single user: the streaming server connects with its own credentials.
    assert.equal(o.natsUser, '');
    assert.equal(o.username, 'alice');
    assert.equal(o.password, 'foo');
    // The child gets the NATS keys, but not listen/http (handled here), nor the streaming block.
    const text = o.natsServerConfig;
    assert.match(text, /^debug: true$/m);
    assert.match(text, /^max_payload: 2097152$/m);
    assert.match(text, /^write_deadline: "5s"$/m);
    assert.match(text, /user: "alice"/);
    assert.match(text, /password: "bar"/);
    assert.doesNotMatch(text, /listen|http|streaming|both/);
    const c = o.natsChildArgs.find((a) => a.startsWith('-c='));
    assert.ok(c, `a -c argument for the child in ${JSON.stringify(o.natsChildArgs)}`);
    assert.equal(o.natsChildArgs[0], c, 'the file comes before the passthrough flags, which win');
    const childFile = c.slice(3);
    assert.ok(existsSync(childFile));
    assert.equal(readFileSync(childFile, 'utf8'), text);
    // Flags after it still override the file for the child.
    const withFlags = loadOptions(['-c', file, '-DV', '-p', '4999'], {}).options;
    assert.equal(withFlags.port, 4999);
    assert.deepEqual(withFlags.natsChildArgs.slice(1), ['-DV=true', '-p=4999']);
  });

  it('reads a single user, password or token as the NATS authorization', () => {
    const o = fromText('authorization { user: "u", password: "p" }');
    assert.equal(o.natsUser, 'u');
    assert.equal(o.natsPass, 'p');
    assert.equal(fromText('authorization { token: "t" }').natsToken, 't');
    assert.equal(fromText('authorization { username: "u2", pass: "p2" }').natsPass, 'p2');
    assert.match(fromText('authorization { token: "t" }').natsServerConfig, /authorization: \{\n  token: "t"\n\}/);
  });

  it('reads the other forms of listen, host, port and monitoring', () => {
    const a = fromText('listen: 4300');
    assert.equal(a.port, 4300);
    assert.equal(a.host, '0.0.0.0');
    const b = fromText('listen: "[::1]:4301"');
    assert.equal(b.host, '::1');
    assert.equal(b.port, 4301);
    const c = fromText('host: 10.1.2.3\nport: 4302\nhttp_port: 8302\nhttps_port: 8303');
    assert.deepEqual([c.host, c.port, c.httpPort, c.httpsPort], ['10.1.2.3', 4302, 8302, 8303]);
    assert.equal(fromText('net: "h"\nmonitor_port: 1').httpPort, 1);
    assert.equal(fromText('https: "0.0.0.0:8443"').httpsPort, 8443);
    const d = fromText('logtime: false\nlog_file: "/var/log/x.log"\npid_file: "/run/x.pid"\ntrace: true');
    assert.deepEqual([d.logTime, d.logFile, d.pidFile, d.natsTrace], [false, '/var/log/x.log', '/run/x.pid', true]);
    // All of these are handled here, so the child gets nothing.
    assert.equal(d.natsServerConfig, 'logtime: false\ntrace: true\n');
    assert.equal(fromText('listen: 4300\nhttp: 8222').natsServerConfig, '');
    expectFailure('port: "x"', /parameter "port" value is expected to be int64, got string/);
    expectFailure('listen: "nope"', /could not parse address string "nope"/);
  });

  it('does not write a child config when there is nothing for NATS or the NATS server is external', () => {
    assert.equal(loadOptions(['-sc', SHARED_STAN_CONF], {}).options.natsChildArgs.length, 0);
    const ext = loadOptions(['-c', fixture('nats-and-streaming.conf'), '-ns', 'nats://127.0.0.1:4222'], {}).options;
    assert.equal(ext.natsChildArgs.some((a) => a.startsWith('-c=')), false);
  });
});
