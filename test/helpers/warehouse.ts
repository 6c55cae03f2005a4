import { type Warehouse, createWarehouse } from '../../server/src/warehouse/warehouse'
import type { TestDatabase } from './db'
import { TEST_SECRET_KEY } from './server'

/** Result caps for tests that do not exercise them. */
export const TEST_LIMITS = { maxRows: 1_000_000, maxBytes: 64 * 1024 * 1024 }

/**
 * The warehouses of a test database, as the app would open them: databases
 * on the test server, or in-memory PGlite workers. The test database's drop()
 * removes every warehouse database and role they created.
 */
export function testWarehouse(tdb: TestDatabase, limits = TEST_LIMITS): Warehouse {
  return createWarehouse({
    db: tdb.db,
    secretKey: Buffer.from(TEST_SECRET_KEY),
    serverUrl: tdb.url,
    dataDir: 'memory://',
    idleMs: 60_000,
    limits,
  })
}
