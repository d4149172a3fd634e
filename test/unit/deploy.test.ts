import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadOptions } from '../../src/config/load.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
const prometheus = parse(readFileSync(join(root, 'deploy', 'prometheus.yml'), 'utf8')) as any;

describe('docker-compose.yml and deploy/', () => {
  it('has NATS, PostgreSQL, two servers and Prometheus', () => {
    for (const name of ['nats', 'postgres', 'stan-a', 'stan-b', 'prometheus']) assert.ok(compose.services[name], name);
  });

  it('runs both servers with flags our command line accepts, in one FT group on one store', () => {
    const a = loadOptions(compose.services['stan-a'].command).options;
    const b = loadOptions(compose.services['stan-b'].command).options;
    assert.equal(a.ftGroup, 'ft');
    assert.equal(b.ftGroup, a.ftGroup);
    assert.equal(b.clusterId, a.clusterId);
    assert.equal(a.storeType, 'SQL');
    assert.equal(a.sql.driver, 'postgres');
    assert.equal(b.sql.source, a.sql.source);
    assert.equal(a.natsServerUrl, 'nats://nats:4222');
    assert.equal(a.httpPort, 8222);
    const file = loadOptions(compose.services['stan-file-a'].command).options;
    assert.equal(file.storeType, 'FILE');
    assert.equal(file.ftGroup, a.ftGroup);
  });

  it('points at files that exist: the Dockerfile, the schema script, Prometheus config and alert rules', () => {
    assert.ok(existsSync(join(root, compose.services['stan-a'].build.dockerfile)));
    const mounts: string[] = [...compose.services.postgres.volumes, ...compose.services.prometheus.volumes];
    for (const m of mounts) assert.ok(existsSync(join(root, m.split(':')[0]!)), m);
  });

  it('scrapes both servers on their monitoring port, with the alert rules loaded', () => {
    const targets: string[] = prometheus.scrape_configs[0].static_configs[0].targets;
    assert.deepEqual(targets.sort(), ['stan-a:8222', 'stan-b:8222']);
    const alerts = parse(readFileSync(join(root, 'deploy', 'alerts.yml'), 'utf8')) as any;
    const names = alerts.groups[0].rules.map((r: { alert: string }) => r.alert);
    assert.deepEqual(names.sort(), ['StreamingNoActiveServer', 'StreamingStoreLockStale', 'StreamingSubscriptionLagHigh', 'StreamingTwoActiveServers']);
  });
});
