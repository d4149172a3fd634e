import { copyGoStore } from '../helpers/go-fixture.js';
import { goFixtureServerTests } from '../helpers/go-fixture-e2e.js';

goFixtureServerTests('file', async () => {
  const copy = await copyGoStore();
  return { args: ['-st', 'FILE', '--dir', copy.dir], cleanup: copy.cleanup };
});
