import type { Database } from '../db/database'
import { RUN_COLUMNS, type RunRow } from '../queue/run-row'

// One state change fans out to many subscribers of the same run or automation:
// load the row once per change per node, not once per subscriber. Subscribers
// that fall behind reach a change seconds after it happened, so the row stays
// cached that long; without it, a thousand lagging subscribers each re-read it
// and their queries crowd the worker's claims out of the connection pool.
const KEEP_MS = 10_000
const MAX_ENTRIES = 20_000
const cache = new Map<string, { row: Promise<RunRow | undefined>; at: number }>()

export function loadRunShared(db: Database, runId: string, state: string): Promise<RunRow | undefined> {
  const key = `${runId}:${state}`
  const now = Date.now()
  const hit = cache.get(key)
  if (hit && now - hit.at < KEEP_MS) return hit.row
  const row = db.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1`, [runId]).then((r) => r[0])
  // A failed read is not kept: the next subscriber tries again.
  row.catch(() => cache.delete(key))
  cache.delete(key)
  cache.set(key, { row, at: now })
  // Insertion order is age order: drop the oldest past the cap or the age limit.
  for (const [k, v] of cache) {
    if (cache.size <= MAX_ENTRIES && now - v.at < KEEP_MS) break
    cache.delete(k)
  }
  return row
}
