import { assertMayRunChild } from '../automations/access'
import { resolveParameters } from '../automations/parameters'
import type { Queryable } from '../db/database'
import type { RunState } from '../domain'
import { coerceError } from '../errors'
import { notifyRunChanges } from '../events/notify'
import { releaseMutex } from '../mutex/handoff'
import { enqueueRun } from './enqueue'
import { RUN_COLUMNS, type RunRow } from './run-row'
import { currentVersion, loadDefinition } from './versions'

/** The reason stored in cancel_requested when a deadline passes; the run ends TIMED_OUT, not CANCELLED. */
export const TIMEOUT_REASON = 'timed out'

/** Hooks other features attach to run completion (after-automation triggers). */
export type FinishedHook = (tx: Queryable, run: RunRow) => Promise<void>
const finishedHooks: FinishedHook[] = []
export function onRunFinished(hook: FinishedHook): void {
  finishedHooks.push(hook)
}

/**
 * Everything that follows a run reaching a final state, in the transaction that
 * put it there: the mutex passes to the next waiter, the parent chain moves on
 * (or ends, which recurses to its own parent), and the changes are announced.
 */
export async function afterFinished(tx: Queryable, finished: readonly RunRow[]): Promise<void> {
  const changed: RunRow[] = [...finished]
  for (const run of finished) changed.push(...(await followUps(tx, run)))
  await notifyRunChanges(tx, changed)
}

/** Mutex hand-off, parent advance and hooks for one finished run; returns the rows it changed. */
async function followUps(tx: Queryable, run: RunRow): Promise<RunRow[]> {
  const changed: RunRow[] = []
  if (run.mutex_name) {
    const next = await releaseMutex(tx, run.org_id, run.mutex_name, run.id)
    if (next) changed.push(next)
  }
  if (run.parent_run_id) changed.push(...(await advanceParent(tx, run)))
  for (const hook of finishedHooks) await hook(tx, run)
  return changed
}

/** Marks runs final (from any non-final state) and runs afterFinished. */
export async function finishRuns(
  tx: Queryable,
  ids: readonly string[],
  state: RunState,
  error: string | null,
  outputs: Record<string, unknown> | null = null,
): Promise<RunRow[]> {
  if (ids.length === 0) return []
  const rows = await tx.query<RunRow>(
    `update runs set state = $2, error = coalesce($3, error), outputs = coalesce($4::jsonb, outputs),
       finished_at = clock_timestamp(), lease_owner = null, lease_expires_at = null
     where id = any($1::int8[]) and state not in ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED')
     returning ${RUN_COLUMNS}`,
    [ids, state, error, outputs ? JSON.stringify(outputs) : null],
  )
  await afterFinished(tx, rows)
  return rows
}

/**
 * A child of a chain finished: start the next step, or end the chain. Locks the
 * parent row so two children finishing at once (never for a chain, but for
 * future parallel parents) cannot both advance it.
 */
export async function advanceParent(tx: Queryable, child: RunRow): Promise<RunRow[]> {
  const [parent] = await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1 for update`, [
    child.parent_run_id,
  ])
  if (!parent || parent.state !== 'RUNNING' || parent.lease_owner) return []
  const def = await loadDefinition(tx, parent.version_id)
  const children = (def.config as { children: string[] }).children
  const step = child.step ?? 0
  const ok = child.state === 'SUCCEEDED' || child.state === 'SKIPPED'
  if (ok && !parent.cancel_requested && step + 1 < children.length) {
    try {
      const next = await enqueueChild(tx, parent, children[step + 1]!, step + 1)
      // A child skipped at once (its mutex busy under SKIP) never finishes later: move on now.
      return next.state === 'SKIPPED' ? [next, ...(await advanceParent(tx, next))] : [next]
    } catch (err) {
      return endChain(
        tx,
        parent,
        children.length,
        step + 1,
        'FAILED',
        `step ${step + 2}: ${coerceError(err).message}`,
      )
    }
  }
  if (ok && !parent.cancel_requested)
    return endChain(tx, parent, children.length, step + 1, 'SUCCEEDED', null)
  const state: RunState = parent.cancel_requested
    ? parent.cancel_requested === TIMEOUT_REASON
      ? 'TIMED_OUT'
      : 'CANCELLED'
    : 'FAILED'
  const error =
    parent.cancel_requested ?? `step ${step + 1} ended ${child.state}${child.error ? `: ${child.error}` : ''}`
  return endChain(tx, parent, children.length, step + 1, state, error)
}

/** Starts step `step` of a chain run as a child run, as the chain's run-as user. */
export async function enqueueChild(
  tx: Queryable,
  parent: RunRow,
  automationId: string,
  step: number,
): Promise<RunRow> {
  const current = await currentVersion(tx, parent.org_id, automationId)
  if (!current) throw new Error(`automation ${automationId} no longer exists`)
  await assertMayRunChild(tx, { orgId: parent.org_id, runAsUserId: parent.run_as, automationId })
  const declared = new Set(current.definition.parameters.map((p) => p.name))
  const passed = Object.fromEntries(Object.entries(parent.parameters).filter(([k]) => declared.has(k)))
  const { run } = await enqueueRun(tx, {
    orgId: parent.org_id,
    automationId,
    versionId: current.versionId,
    version: current.version,
    definition: current.definition,
    triggerSource: 'CHAIN',
    triggeredBy: parent.triggered_by,
    runAs: parent.run_as,
    parentRunId: parent.id,
    step,
    parameters: resolveParameters(current.definition.parameters, passed),
  })
  return run
}

async function endChain(
  tx: Queryable,
  parent: RunRow,
  total: number,
  from: number,
  state: RunState,
  error: string | null,
): Promise<RunRow[]> {
  const def = await loadDefinition(tx, parent.version_id)
  const children = (def.config as { children: string[] }).children
  const skipped: RunRow[] = []
  // Steps never reached are recorded SKIPPED, so the timeline shows the whole chain.
  for (let step = from; step < total && state !== 'SUCCEEDED'; step++) {
    const current = await currentVersion(tx, parent.org_id, children[step]!)
    const [row] = await tx.query<RunRow>(
      `insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by, run_as,
         parent_run_id, step, error, finished_at)
       values ($1, $2, $3, $4, $5, 'SKIPPED', 'CHAIN', $6, $7, $8, $9, 'an earlier step did not succeed', clock_timestamp())
       returning ${RUN_COLUMNS}`,
      [
        parent.org_id,
        children[step],
        current?.versionId ?? parent.version_id,
        current?.version ?? 0,
        current?.definition.kind ?? 'UNKNOWN',
        parent.triggered_by,
        parent.run_as,
        parent.id,
        step,
      ],
    )
    skipped.push(row!)
  }
  const [ended] = await tx.query<RunRow>(
    `update runs set state = $2, error = $3, finished_at = clock_timestamp(), outputs = $4::jsonb where id = $1 returning ${RUN_COLUMNS}`,
    [
      parent.id,
      state,
      error,
      JSON.stringify({ steps: total, completed: state === 'SUCCEEDED' ? total : from - 1 }),
    ],
  )
  // The chain is final now: its own mutex and its own parent follow (recursion for nested chains).
  return [...skipped, ended!, ...(await followUps(tx, ended!))]
}
