import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTime, formatUptime } from '../../src/monitor/endpoints.js';
import { goJson } from '../../src/monitor/http.js';

describe('monitoring output in the Go server format', () => {
  it('writes uptimes like the Go server', () => {
    assert.equal(formatUptime(0), '0s');
    assert.equal(formatUptime(59_999), '59s');
    assert.equal(formatUptime(61_000), '1m1s');
    assert.equal(formatUptime(3_600_000 + 5000), '1h0m5s');
    assert.equal(formatUptime(86_400_000 + 5000), '1d0h0m5s');
  });
  it('writes times as RFC 3339 with nanoseconds and no trailing zeros', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'UTC';
    try {
      assert.equal(formatTime(1795318658241516400n), '2026-11-22T03:37:38.2415164Z');
      assert.equal(formatTime(1795318658000000000n), '2026-11-22T03:37:38Z');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });
  it('escapes <, > and & inside strings as Go does', () => {
    assert.equal(goJson({ a: 'b&<x>' }), '{\n  "a": "b\\u0026\\u003cx\\u003e"\n}');
  });
});
