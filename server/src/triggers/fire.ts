import type { Definition } from '../automations/definition'
import { resolveParameters } from '../automations/parameters'
import type { Queryable } from '../db/database'
import type { TriggerSource } from '../domain'
import { coerceError } from '../errors'
import type { Engine } from '../engine/engine'
import type { RunRow } from '../engine/run-row'
import { SCHEDULED_PRIORITY } from '../engine/types'
import { resolveRunAs } from '../runs/run-as'

/** What a trigger starts: the automation's current version and whose grants it runs with. */
export interface Target {
  orgId: string
  automationId: string
  versionId: string
  version: number
  definition: Definition
  runAs: string | null
}

/** The live automation's current version and run-as user, or undefined when it is gone. */
export async function loadTarget(
  q: Queryable,
  orgId: string,
  automationId: string,
): Promise<Target | undefined> {
  const [row] = await q.query<{
    version_id: string
    version: number
    definition: Definition
    run_as_user_id: string | null
    created_by: string | null
  }>(
    `select v.id as version_id, v.version, v.definition, a.run_as_user_id, a.created_by from automations a
     join automation_versions v on v.id = a.current_version_id
     where a.id = $1 and a.org_id = $2 and a.deleted_at is null`,
    [automationId, orgId],
  )
  if (!row) return undefined
  return {
    orgId,
    automationId,
    versionId: row.version_id,
    version: row.version,
    definition: row.definition,
    runAs: await resolveRunAs(q, orgId, row),
  }
}

export interface FireRequest {
  triggerId: string
  target: Target
  /** Unique per trigger: a tick's time, an upstream run id, an evaluation time. */
  key: string
  source: TriggerSource
  parameters: Record<string, unknown>
  /** The scheduler's clock. */
  at: Date
  scheduledAt?: Date | null
  /** A tick queued ahead of its time waits until then (the worker claims it when due). */
  runAt?: Date | null
}

export type FireResult =
  | { kind: 'FIRED'; run: RunRow; skipped: boolean }
  /** Another scheduler (or node) fired this key already. */
  | { kind: 'DUPLICATE' }
  /** The parameters no longer match the automation's declarations. */
  | { kind: 'INVALID'; message: string }

/**
 * Fires one trigger key inside the caller's transaction: checks the
 * parameters, claims the key (ON CONFLICT DO NOTHING), then queues the run as
 * the run-as user. INVALID leaves the key unclaimed. The key
 * and the run commit together or not at all, so a key is fired exactly once.
 */
export async function fireTrigger(engine: Engine, tx: Queryable, r: FireRequest): Promise<FireResult> {
  // Checked before the key is claimed: a rejected request must not use up its key, or a
  // corrected retry with the same Idempotency-Key would be refused as a duplicate.
  let parameters: Record<string, unknown>
  try {
    parameters = resolveParameters(r.target.definition.parameters, r.parameters)
  } catch (err) {
    return { kind: 'INVALID', message: coerceError(err).message }
  }
  const claimed = await tx.query(
    `insert into trigger_fires (trigger_id, fire_key, org_id, scheduled_at, fired_at) values ($1, $2, $3, $4, $5)
     on conflict do nothing returning trigger_id`,
    [r.triggerId, r.key, r.target.orgId, r.scheduledAt ?? null, r.at],
  )
  if (claimed.length === 0) return { kind: 'DUPLICATE' }
  const t = r.target
  const { run, skipped } = await engine.enqueueIn(tx, {
    orgId: t.orgId,
    automationId: t.automationId,
    versionId: t.versionId,
    version: t.version,
    definition: t.definition,
    triggerSource: r.source,
    triggeredBy: null,
    runAs: t.runAs,
    parameters,
    runAt: r.runAt ?? null,
    priority: r.source === 'SCHEDULE' ? SCHEDULED_PRIORITY : 0,
  })
  const queued = run
  await tx.query('update trigger_fires set run_id = $3 where trigger_id = $1 and fire_key = $2', [
    r.triggerId,
    r.key,
    run.id,
  ])
  return { kind: 'FIRED', run: queued, skipped }
}
