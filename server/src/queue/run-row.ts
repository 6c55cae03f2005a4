import type { RunState } from '../domain'

/** A row of `runs` as the engine reads it (snake_case, as SQL returns it). */
export interface RunRow {
  id: string
  org_id: string
  automation_id: string
  version_id: string
  version: number
  kind: string
  state: RunState
  trigger_source: string
  triggered_by: string | null
  run_as: string | null
  embed_token_id: string | null
  parent_run_id: string | null
  step: number | null
  attempt: number
  max_attempts: number
  parameters: Record<string, unknown>
  outputs: Record<string, unknown> | null
  error: string | null
  mutex_name: string | null
  timeout_ms: number | null
  run_at: Date
  created_at: Date
  started_at: Date | null
  finished_at: Date | null
  deadline_at: Date | null
  lease_owner: string | null
  lease_expires_at: Date | null
  cancel_requested: string | null
}

export const RUN_COLUMNS = `id, org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
  run_as, embed_token_id, parent_run_id, step, attempt, max_attempts, parameters, outputs, error, mutex_name,
  timeout_ms, run_at, created_at, started_at, finished_at, deadline_at, lease_owner, lease_expires_at, cancel_requested`

/** The same list qualified by a table alias, for joins and UPDATE ... FROM. */
export const runColumnsOf = (alias: string): string =>
  RUN_COLUMNS.split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ')
