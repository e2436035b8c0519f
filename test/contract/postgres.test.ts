/** The PostgreSQL backend: the shared contract, each test on a fresh schema of this run's database. */
import { after } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { startPostgres } from '../helpers/postgres.js';
import { runMailStoreContract } from './mail-store.contract.js';

const server = await startPostgres();
after(() => server.stop());

runMailStoreContract('postgres', async () => openPostgresStore(server.url, { schema: await server.newSchema() }));
