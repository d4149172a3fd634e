import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OptionsError, loadOptions } from '../../src/config/load.js';

describe('command-line flags', () => {
  it('has the Go server defaults', () => {
    const { options: o } = loadOptions([]);
    assert.equal(o.clusterId, 'test-cluster');
    assert.equal(o.storeType, 'MEMORY');
    assert.equal(o.hbInterval, 30_000);
    assert.equal(o.hbTimeout, 10_000);
    assert.equal(o.hbFailCount, 10);
    assert.equal(o.storeLimits.maxChannels, 100);
    assert.equal(o.storeLimits.maxMsgs, 1_000_000);
    assert.equal(o.storeLimits.maxBytes, 1_024_000_000);
    assert.equal(o.storeLimits.maxSubscriptions, 1000);
    assert.equal(o.port, 4222);
  });

  it('accepts each flag with one or two dashes, with = or a separate value', () => {
    const { options: o } = loadOptions(['-cid', 'a', '--max_msgs=5', '-mb', '1MB', '--hbi', '2s', '-ma=1h', '-replace_durable', '--SD']);
    assert.equal(o.clusterId, 'a');
    assert.equal(o.storeLimits.maxMsgs, 5);
    assert.equal(o.storeLimits.maxBytes, 1024 * 1024);
    assert.equal(o.hbInterval, 2000);
    assert.equal(o.storeLimits.maxAge, 3_600_000);
    assert.equal(o.replaceDurable, true);
    assert.equal(o.streamingDebug, true);
  });

  it('reads every file store flag, with the Go defaults when absent', () => {
    assert.deepEqual(loadOptions([]).options.file, {
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
    });
    const args = [
      ['file_compact_enabled=false'],
      ['file_compact_frag', '20'],
      ['file_compact_interval', '60'],
      ['file_compact_min_size', '2KB'],
      ['file_buffer_size', '1MB'],
      ['file_crc=false'],
      ['file_crc_poly', '3988292384'],
      ['file_sync=false'],
      ['file_slice_max_msgs', '1000'],
      ['file_slice_max_bytes', '10MB'],
      ['file_slice_max_age', '1h'],
      ['file_slice_archive_script', '/bin/archive'],
      ['file_fds_limit', '100'],
      ['file_parallel_recovery', '4'],
      ['file_truncate_bad_eof'],
      ['file_read_buffer_size', '0'],
      ['file_auto_sync', '30s'],
    ].flatMap(([flag, ...value]) => [`--${flag}`, ...value]);
    assert.deepEqual(loadOptions(['-st', 'FILE', '--dir', '/tmp/x', ...args]).options.file, {
      compactEnabled: false,
      compactFragmentation: 20,
      compactInterval: 60,
      compactMinFileSize: 2048,
      bufferSize: 1024 * 1024,
      doCRC: false,
      crcPolynomial: 3988292384,
      doSync: false,
      sliceMaxMsgs: 1000,
      sliceMaxBytes: 10 * 1024 * 1024,
      sliceMaxAge: 3_600_000,
      sliceArchiveScript: '/bin/archive',
      fileDescriptorsLimit: 100,
      parallelRecovery: 4,
      truncateUnexpectedEOF: true,
      readBufferSize: 0,
      autoSync: 30_000,
    });
  });

  it('refuses the file store values the Go file store refuses', () => {
    const file = ['-st', 'FILE', '--dir', '/tmp/x'];
    const refused: [string[], RegExp][] = [
      [['--file_buffer_size', '-1'], /file store: buffer size cannot be negative \(-1\)/],
      [['--file_read_buffer_size', '-1'], /read buffer size cannot be negative/],
      [['--file_compact_interval', '0'], /compact interval must be at least 1 second \(0\)/],
      [['--file_compact_frag', '0'], /compact fragmentation must be at least 1/],
      [['--file_compact_min_size', '-1'], /compact minimum file size cannot be negative/],
      [['--file_crc_poly', '0'], /CRC polynomial must be between 1 and 4294967295 \(0\)/],
      [['--file_crc_poly', '4294967296'], /CRC polynomial must be between/],
      [['--file_slice_max_msgs', '-1'], /slice limits cannot be negative/],
      [['--file_fds_limit', '-1'], /file descriptors limit cannot be negative/],
      [['--file_parallel_recovery', '0'], /parallel recovery must be at least 1 \(0\)/],
    ];
    for (const [args, message] of refused) {
      assert.throws(() => loadOptions([...file, ...args]), (e: unknown) => e instanceof OptionsError && message.test(e.message), args.join(' '));
    }
    // As with the Go server, they are checked when the file store is used only.
    assert.equal(loadOptions(['--file_crc_poly', '0']).options.file.crcPolynomial, 0);
  });

  it('takes booleans as -flag=false', () => {
    const { options: o } = loadOptions(['--file_sync=false', '-T=false']);
    assert.equal(o.file.doSync, false);
    assert.equal(o.logTime, false);
  });

  it('upper-cases the store type and refuses unknown ones', () => {
    assert.equal(loadOptions(['-st', 'file', '--dir', '/tmp/x']).options.storeType, 'FILE');
    assert.throws(() => loadOptions(['-st', 'redis']), /unsupported store type/);
  });

  it('refuses unknown flags, missing values and bad values with a clear message', () => {
    assert.throws(() => loadOptions(['--nope']), (e: unknown) => e instanceof OptionsError && /not defined: -nope/.test(e.message));
    assert.throws(() => loadOptions(['-cid']), /needs an argument: -cid/);
    assert.throws(() => loadOptions(['-hbi', '5x']), /invalid value "5x" for flag -hbi/);
    assert.throws(() => loadOptions(['-mm', 'abc']), /invalid value "abc" for flag -mm/);
    assert.throws(() => loadOptions(['stray']), /unexpected argument/);
    assert.throws(() => loadOptions(['-mm', '-5']), /max messages limit cannot be negative/);
  });

  it('passes NATS flags to the nats-server child', () => {
    const { options: o } = loadOptions(['-p', '5222', '-a', '127.0.0.1', '--user', 'u', '-DV']);
    assert.equal(o.port, 5222);
    assert.equal(o.natsUser, 'u');
    assert.deepEqual(o.natsChildArgs, ['-p=5222', '-a=127.0.0.1', '-user=u', '-DV=true']);
  });

  it('recognises -h and -v', () => {
    assert.equal(loadOptions(['-h']).help, true);
    assert.equal(loadOptions(['--version']).version, true);
  });
});

describe('options this server refuses rather than ignores', () => {
  it('refuses encryption at rest and HTTPS monitoring with a clear message', () => {
    assert.throws(() => loadOptions(['--encrypt']), /encryption at rest .* not supported/);
    assert.throws(() => loadOptions(['-ms', '8443']), /HTTPS monitoring .* not supported/);
  });
});
