/**
 * Time from SIGKILL of the FT active server to the first acked publish on the new active, median of several runs.
 *   npm run bench:failover -- --runs 5 [--stores file,postgres,mariadb]
 */
import { parseArgs } from 'node:util';
import { type StoreUnderTest, fileStore, mariadbStore, postgresStore, runFailover } from './failover.js';
import { median } from './median.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, stores: { type: 'string', default: 'file,postgres' } } });

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const all: Record<string, () => StoreUnderTest> = { file: fileStore, postgres: postgresStore, mariadb: mariadbStore };
  const stores = values.stores.split(',').map((n) => {
    const make = all[n.trim().toLowerCase()];
    if (!make) throw new Error(`unknown store "${n}" (one of ${Object.keys(all).join(', ')})`);
    return make();
  });
  for (const store of stores) {
    const results = [];
    for (let i = 0; i < runs; i++) {
      const r = await runFailover(store);
      results.push(r);
      console.log(`${store.name} run ${i + 1}: kill->lock ${r.killToLockMs} ms, kill->ready ${r.killToReadyMs} ms, kill->first ack ${r.killToFirstAckMs} ms, acked ${r.acked}, lost ${r.lost}`);
    }
    console.log(
      `${store.name} median of ${runs}: kill->first ack ${median(results.map((r) => r.killToFirstAckMs))} ms (kill->lock ${median(results.map((r) => r.killToLockMs))} ms), lost ${results.reduce((a, r) => a + r.lost, 0)}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
