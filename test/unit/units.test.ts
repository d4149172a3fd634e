import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBool, parseDuration, parseSize } from '../../src/config/units.js';

describe('Go durations', () => {
  it('reads the units and combinations time.ParseDuration reads', () => {
    assert.equal(parseDuration('1s'), 1000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1h30m'), 90 * 60_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2m3s'), 123_000);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('1000us'), 1);
    assert.equal(parseDuration('-1s'), -1000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('100us'), 0.1);
  });
  it('refuses what Go refuses', () => {
    for (const bad of ['', '5', '5x', 's', '1h-2m', 'abc', '1 s']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
  });
});

describe('sizes', () => {
  it('reads plain numbers, decimal letters and binary letters as the Go server does', () => {
    assert.equal(parseSize('1024'), 1024);
    assert.equal(parseSize('512KB'), 512 * 1024);
    assert.equal(parseSize('1MB'), 1024 * 1024);
    assert.equal(parseSize('2gb'), 2 * 1024 ** 3);
    assert.equal(parseSize('1Ki'), 1024);
    assert.equal(parseSize('1MiB'), 1024 * 1024);
    assert.equal(parseSize('3K'), 3000);
    assert.equal(parseSize('1m'), 1_000_000);
  });
  it('refuses garbage', () => {
    for (const bad of ['', 'MB', '1.5MB', '1XB', '1kbb', 'abc']) assert.throws(() => parseSize(bad), /invalid size/, bad);
  });
});

describe('booleans', () => {
  it('reads what strconv.ParseBool reads', () => {
    assert.equal(parseBool('true'), true);
    assert.equal(parseBool('1'), true);
    assert.equal(parseBool('F'), false);
    assert.throws(() => parseBool('yes'));
  });
});
