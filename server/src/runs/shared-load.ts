import type { Database } from '../db/database'
import { RUN_COLUMNS, type RunRow } from '../queue/run-row'

// One state change fans out to many subscribers of the same run or automation:
// load the row once per change per node, not once per subscriber.
const inflight = new Map<string, Promise<RunRow | undefined>>()

export function loadRunShared(db: Database, runId: string, state: string): Promise<RunRow | undefined> {
  const key = `${runId}:${state}`
  let p = inflight.get(key)
  if (!p) {
    p = db.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1`, [runId]).then((r) => r[0])
    inflight.set(key, p)
    void p.finally(() => setTimeout(() => inflight.delete(key), 100))
  }
  return p
}
