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
