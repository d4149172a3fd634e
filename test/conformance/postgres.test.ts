import { after } from 'node:test';
import { SqlStore } from '../../src/stores/sql/sqlstore.js';
import { postgresSchema, startPostgres, type PgServer } from '../helpers/postgres.js';
import { storeConformance } from './suite.js';

let server: Promise<PgServer> | undefined;
const pg = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});

for (const noCaching of [false, true]) {
  let db = '';
  const open = async () => SqlStore.open({ driver: 'postgres', source: (await pg()).dsn(db), noCaching, maxOpenConns: 0, bulkInsertLimit: 0 });
  storeConformance(noCaching ? 'postgres (sql_no_caching)' : 'postgres', {
    async create() {
      const s = await pg();
      db = await s.createDatabase();
      await s.exec(db, postgresSchema());
      return open();
    },
    reopen: open,
  });
}
