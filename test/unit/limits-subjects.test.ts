import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidChannelName, isValidClientId } from '../../src/server/subjects.js';
import { channelLimitsFor, channelPatternMatches, defaultStoreLimits } from '../../src/stores/limits.js';

describe('channel names', () => {
  it('accepts literal subjects and refuses wildcards and empty tokens', () => {
    for (const ok of ['foo', 'foo.bar', 'a-b_c.d1', 'Foo.BAR', 'foo bar']) assert.ok(isValidChannelName(ok), ok);
    for (const bad of ['', '.foo', 'foo.', 'foo..bar', 'foo.*', 'foo.>', 'fo*o', 'a>b', 'a/b']) assert.ok(!isValidChannelName(bad), bad);
  });
  it('accepts client IDs of letters, digits, - and _ only', () => {
    assert.ok(isValidClientId('client-1_A'));
    for (const bad of ['', 'a.b', 'a b', 'a*', 'é']) assert.ok(!isValidClientId(bad), bad);
  });
});

describe('channel limits', () => {
  it('matches NATS wildcards', () => {
    assert.ok(channelPatternMatches('foo.*', 'foo.bar'));
    assert.ok(!channelPatternMatches('foo.*', 'foo.bar.baz'));
    assert.ok(channelPatternMatches('foo.>', 'foo.bar.baz'));
    assert.ok(!channelPatternMatches('foo.>', 'foo'));
  });
  it('inherits zero values from the globals, keeps explicit ones, prefers the exact name then the narrowest pattern', () => {
    const l = defaultStoreLimits();
    l.maxMsgs = 50;
    l.perChannel.set('foo.>', { maxMsgs: 10, maxSubscriptions: 0 });
    l.perChannel.set('foo.bar', { maxBytes: 99 });
    assert.deepEqual(
      { ...channelLimitsFor(l, 'foo.baz') },
      { maxMsgs: 10, maxBytes: l.maxBytes, maxAge: 0, maxSubscriptions: 1000, maxInactivity: 0 },
    );
    assert.equal(channelLimitsFor(l, 'foo.bar').maxBytes, 99);
    assert.equal(channelLimitsFor(l, 'other').maxMsgs, 50);
  });
});
