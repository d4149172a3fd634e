import { after } from 'node:test';
import { SqlStore } from '../../src/stores/sql/sqlstore.js';
import { mysqlSchema, startMariaDb, type MariaDbServer } from '../helpers/mariadb.js';
import { storeConformance } from './suite.js';

let server: Promise<MariaDbServer> | undefined;
const maria = () => (server ??= startMariaDb());
after(async () => {
  if (server) await (await server).stop();
});

for (const noCaching of [false, true]) {
  let db = '';
  const open = async () => SqlStore.open({ driver: 'mysql', source: (await maria()).dsn(db), noCaching, maxOpenConns: 0, bulkInsertLimit: 0 });
  storeConformance(noCaching ? 'mysql (sql_no_caching)' : 'mysql', {
    async create() {
      const s = await maria();
      db = await s.createDatabase();
      await s.exec(db, mysqlSchema());
      return open();
    },
    reopen: open,
  });
}
