import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { PGlite, types } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { type Database, type Queryable, type Row, settledTransaction, toWire } from './database'
import * as schema from './schema'

/**
 * PostgreSQL's default of 128 MB of shared buffers is all resident in PGlite's WebAssembly
 * memory once touched; the platform schema's hot set is far smaller, and the embedded
 * default must idle in little memory (W8: ≤ 300 MB for every role).
 */
const SHARED_BUFFERS = '16MB'

/** initdb in a process of its own, which takes the memory initdb leaves behind with it when it ends. */
async function initDataDir(dataDir: string): Promise<void> {
  const script = fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url))
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [script, dataDir], { timeout: 300_000 }, (err, _out, stderr) =>
      err
        ? reject(
            new Error(`creating the embedded database in ${dataDir} failed: ${stderr.trim() || err.message}`),
          )
        : resolve(),
    )
  })
}

export async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true })
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initDataDir(dataDir)
  }
  const pg = await PGlite.create(dataDir, {
    // int8 stays a string, as with postgres.js, so ids look the same on both drivers.
    parsers: { [types.INT8]: (v: string) => v },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
  })
  const asQueryable = (q: Pick<PGlite, 'query'>): Queryable => ({
    query: async <T = Row>(text: string, params: readonly unknown[] = []) =>
      (await q.query<T>(text, params.map(toWire))).rows,
  })
  const root = asQueryable(pg)
  return {
    driver: 'pglite',
    dataDir,
    db: drizzle(pg, { schema }),
    query: root.query,
    transaction: (fn) => pg.transaction((tx) => settledTransaction(inOrder(asQueryable(tx)), fn)),
    async listen(channel, onPayload) {
      const unsub = await pg.listen(channel, onPayload)
      return () => unsub()
    },
    close: () => pg.close(),
  }
}

/**
 * A transaction's statements one after another, in the order issued, even when the caller
 * sends the next before the last has answered (as postgres.js pipelines them): PGlite's
 * transaction object does not queue statements itself.
 */
function inOrder(q: Queryable): Queryable {
  let last: Promise<unknown> = Promise.resolve()
  return {
    query<T = Row>(text: string, params?: readonly unknown[]) {
      const next = last.then(
        () => q.query<T>(text, params),
        () => q.query<T>(text, params),
      )
      last = next.catch(() => {})
      return next
    },
  }
}
