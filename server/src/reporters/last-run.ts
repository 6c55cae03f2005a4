import type { Database } from '../db/database'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import type { RunSnapshot } from './domain'
import { snapshotOf } from './enqueue'

/** The last ended run of an automation as a snapshot, or a sample when it never ran. */
export async function lastRunSnapshot(
  db: Database,
  orgId: string,
  automationId: string,
  runId?: string | null,
) {
  const [run] = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where automation_id = $1 and org_id = $2
       and ($3::int8 is null or id = $3::int8) and state in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
     order by id desc limit 1`,
    [automationId, orgId, runId && /^[1-9][0-9]{0,17}$/.test(runId) ? runId : null],
  )
  if (run) return { runId: run.id, snapshot: snapshotOf(run) }
  const now = new Date().toISOString()
  const sample: RunSnapshot = {
    id: '0',
    org_id: orgId,
    automation_id: automationId,
    state: 'SUCCEEDED',
    attempt: 1,
    max_attempts: 1,
    error: null,
    trigger_source: 'MANUAL',
    triggered_by: null,
    parent_run_id: null,
    version: 1,
    parameters: {},
    outputs: {},
    created_at: now,
    started_at: now,
    finished_at: now,
  }
  return { runId: null, snapshot: sample }
}
