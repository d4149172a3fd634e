/**
 * Watch a failover without Docker: nats-server, two servers in one FT group, a publisher and a durable subscriber;
 * the active is killed with SIGKILL and the timeline is printed.
 *   npm run demo:failover
 */
import { fileStore, runFailover } from './failover.js';

async function main(): Promise<void> {
  const r = await runFailover(fileStore());
  console.log('failover timeline (ms after the kill):');
  for (const [ms, what] of r.timeline) console.log(`  ${String(ms).padStart(6)}  ${what}`);
  console.log(`messages acked ${r.acked}, received by the durable subscriber ${r.received}, acked but lost ${r.lost}`);
  if (r.lost > 0) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
