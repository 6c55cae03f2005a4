import { mkdirSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { PGlite, types } from '@electric-sql/pglite'
import { RunFailure } from '../../kinds/kind'
import { type ResultLimits, ResultReader } from '../limits'
import type { QueryReply, WorkerReply, WorkerRequest } from './protocol'

/*
 * One organization's embedded warehouse: a PGlite instance of its own, in a
 * worker thread of its own, so its statements never run on the server's event
 * loop nor in the platform's database session. Requests arrive one at a time.
 */

/** SQLSTATEs with which DECLARE refuses a statement that is not a query: run it plainly instead. */
const NOT_A_QUERY = new Set(['42601', '0A000'])

/** The worker's one instance; a worker serves one warehouse and is thrown away with it. */
const state: { pg: PGlite | undefined } = { pg: undefined }

const db = (): PGlite => {
  if (!state.pg) throw new Error('the warehouse is not open')
  return state.pg
}

/**
 * A statement's result through a cursor, batch by batch under the caps: the
 * worker stops fetching as soon as a cap is passed, so a huge result is never
 * produced, let alone copied to the server. Statements that cannot be a cursor
 * (DDL, DML) run plainly; they bring no rows, or only what RETURNING asks for.
 */
async function cappedQuery(
  text: string,
  params: unknown[],
  limits: ResultLimits,
  keep: number,
): Promise<QueryReply> {
  const p = db()
  const own = !p.isInTransaction()
  await p.query(own ? 'begin' : 'savepoint sy_cursor')
  let declared = false
  try {
    await p.query(`declare sy_cursor no scroll cursor for ${text}`, params)
    declared = true
  } catch (err) {
    const code = (err as { code?: string }).code
    await p.query(own ? 'rollback' : 'rollback to savepoint sy_cursor')
    if (!code || !NOT_A_QUERY.has(code)) throw err
  }
  if (!declared) {
    const r = await p.query<Record<string, unknown>>(text, params)
    const reader = new ResultReader(limits, keep)
    reader.add(r.rows)
    return { rows: reader.rows, rowCount: r.rows.length > 0 ? reader.rowCount : (r.affectedRows ?? 0) }
  }
  try {
    const reader = new ResultReader(limits, keep)
    for (;;) {
      const batch = await p.query<Record<string, unknown>>(
        `fetch forward ${reader.nextBatchSize()} from sy_cursor`,
      )
      if (batch.rows.length === 0) break
      reader.add(batch.rows)
    }
    // Closed before the next statement of the same transaction declares its own.
    await p.query('close sy_cursor')
    await p.query(own ? 'commit' : 'release savepoint sy_cursor')
    return { rows: reader.rows, rowCount: reader.rowCount }
  } catch (err) {
    await p.query(own ? 'rollback' : 'rollback to savepoint sy_cursor').catch(() => {})
    throw err
  }
}

async function handle(req: WorkerRequest): Promise<QueryReply | null> {
  if (req.op === 'open') {
    if (!req.dataDir.startsWith('memory://')) mkdirSync(req.dataDir, { recursive: true })
    // int8 stays a string, as on the platform's drivers.
    state.pg = await PGlite.create(req.dataDir, { parsers: { [types.INT8]: (v: string) => v } })
    return null
  }
  if (req.op === 'close') {
    await state.pg?.close()
    state.pg = undefined
    return null
  }
  if (req.capped) return cappedQuery(req.text, req.params, req.capped.limits, req.capped.keep)
  const r = await db().query<Record<string, unknown>>(req.text, req.params)
  return { rows: r.rows, rowCount: r.rows.length > 0 ? r.rows.length : (r.affectedRows ?? 0) }
}

const port = parentPort!
port.on('message', (req: WorkerRequest) => {
  handle(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies WorkerReply),
    (err: unknown) => {
      const e = err as { message?: string; code?: string }
      port.postMessage({
        id: req.id,
        ok: false,
        error: { message: e.message ?? String(err), code: e.code, failure: err instanceof RunFailure },
      } satisfies WorkerReply)
    },
  )
})
