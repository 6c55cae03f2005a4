import { join } from 'node:path'
import { type Database, type Queryable, type Row, toWire } from '../../db/database'
import { type Column, jsonRecords } from '../../data/rows'
import { RunFailure } from '../../kinds/kind'
import type { ResultLimits } from '../limits'
import { bindParameters, warehouseIdentity } from '../names'
import { recordWarehouse } from '../registry'
import { WAREHOUSE_SCHEMA, type WarehouseSession, sqlFailure, timeoutSetting } from '../session'
import type { Warehouse } from '../warehouse'
import { EmbeddedInstance } from './instance'
import type { QueryReply } from './protocol'

const quote = (n: string) => `"${n.replace(/"/g, '""')}"`

/**
 * Embedded warehouses: each organization's is a PGlite of its own (its own
 * directory under the data directory, or `memory://`), opened on first use in
 * a worker thread of its own and closed after `idleMs` without use, so memory
 * stays bounded by the organizations actually working. Statements are timed
 * on the server's side and a worker that overruns is terminated.
 */
export function createEmbeddedWarehouse(opts: {
  db: Database
  secretKey: Buffer
  dataDir: string
  idleMs: number
  limits: ResultLimits
}): Warehouse {
  const { db, secretKey, limits } = opts
  const instances = new Map<string, EmbeddedInstance>()
  const recorded = new Set<string>()
  const dirFor = (name: string) =>
    opts.dataDir.startsWith('memory://') ? 'memory://' : join(opts.dataDir, name)

  const open = async (orgId: string): Promise<EmbeddedInstance> => {
    let instance = instances.get(orgId)
    if (!instance?.alive) {
      const { name } = warehouseIdentity(orgId, secretKey)
      const dir = dirFor(name)
      // An in-memory warehouse (tests) would lose its tables when closed: it stays open.
      const idleMs = dir.startsWith('memory://') ? 0 : opts.idleMs
      const created = new EmbeddedInstance(dir, idleMs, (gone) => {
        if (instances.get(orgId) === gone) instances.delete(orgId)
      })
      instances.set(orgId, created)
      instance = created
      if (!recorded.has(orgId)) {
        await recordWarehouse(db, orgId, name)
        recorded.add(orgId)
      }
    }
    try {
      await instance.opened
    } catch (err) {
      await instance.terminate(new Error('the embedded warehouse failed to open'))
      throw new Error(`the organization's embedded warehouse did not open: ${sqlFailure(err).message}`, {
        cause: err,
      })
    }
    return instance
  }

  /** Stops the worker when the signal fires: the one way to stop a statement inside PGlite. */
  const stopOnAbort = async <T>(
    instance: EmbeddedInstance,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ) => {
    signal?.throwIfAborted()
    const onAbort = () =>
      void instance.terminate(new RunFailure('the run was cancelled while its statement ran'))
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await fn()
    } catch (err) {
      throw sqlFailure(err)
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  const capped = (
    instance: EmbeddedInstance,
    text: string,
    params: readonly unknown[],
    keep: number,
    timeoutMs: number,
  ) =>
    instance.send(
      { op: 'query', text, params: params.map(toWire), capped: { limits, keep } },
      timeoutMs,
    ) as Promise<QueryReply>

  return {
    async ensure(orgId) {
      await open(orgId)
      return WAREHOUSE_SCHEMA
    },
    async execute(req) {
      const { text, params } = bindParameters(req.statement, req.parameters)
      const instance = await open(req.orgId)
      const timeout = timeoutSetting(req.timeoutMs)
      const r = await stopOnAbort(instance, req.signal, () =>
        instance.exclusive(() => capped(instance, text, params, req.keepRows ?? limits.maxRows, timeout)),
      )
      return { rows: r.rows, rowCount: r.rowCount, command: undefined }
    },
    async session(orgId, o, fn) {
      const instance = await open(orgId)
      const timeout = timeoutSetting(o.timeoutMs)
      const direct: Queryable = {
        query: async <R = Row>(text: string, params: readonly unknown[] = []) =>
          (await capped(instance, text, params, limits.maxRows, timeout)).rows as R[],
      }
      const one = <T>(f: () => Promise<T>) => stopOnAbort(instance, o.signal, () => instance.exclusive(f))
      const session: WarehouseSession = {
        schema: WAREHOUSE_SCHEMA,
        embedded: true,
        query: (text, params) => one(() => direct.query(text, params)),
        async insertRows(table, columns, rows) {
          if (rows.length === 0) return
          const names = columns.map((c) => quote(c.name))
          // PGlite has no COPY FROM STDIN; a JSON batch parsed in C is the next fastest way in.
          // Every value arrives as text and is cast with its column's type, as COPY would.
          const text = `insert into ${quote(table)} (${names.join(', ')})
             select ${columns.map((c, i) => `x.${names[i]}::${c.type}`).join(', ')}
             from json_to_recordset($1::json) as x(${names.map((n) => `${n} text`).join(', ')})`
          const json = jsonRecords(
            columns.map((c: Column) => c.name),
            rows,
          )
          await one(() => instance.send({ op: 'query', text, params: [json] }, timeout))
        },
        copyIn: () => Promise.reject(new Error('COPY FROM STDIN is not available on the embedded warehouse')),
        atomic: (f) =>
          one(async () => {
            await instance.send({ op: 'query', text: 'begin', params: [] }, timeout)
            try {
              const result = await f(direct)
              await instance.send({ op: 'query', text: 'commit', params: [] }, timeout)
              return result
            } catch (err) {
              if (instance.alive) await instance.send({ op: 'query', text: 'rollback', params: [] }, timeout)
              throw err
            }
          }),
      }
      return fn(session)
    },
    async stop() {
      await Promise.all([...instances.values()].map((i) => i.close()))
      instances.clear()
    },
  }
}
