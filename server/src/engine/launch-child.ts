import type { Definition } from '../automations/definition'
import { resolveParameters } from '../automations/parameters'
import type { Queryable } from '../db/database'
import { coerceError } from '../errors'
import type { RunRow } from './run-row'
import type { ChildSpec, OrchestrationDeps } from './orchestration'
import type { CurrentVersion, LaunchMemo, NewRun } from './types'
import { readCurrentVersion } from './versions'

/**
 * How an orchestrating run's children are queued: as the parent's run-as user, checked
 * against each child, at the child automation's current version (read once per
 * transaction for a fan-out) or as an inline step of the parent's own version.
 */

/**
 * Queues one child. With an id drawn ahead for it (`aheadId`, see Foreseen), a child without
 * a mutex is queued without waiting for its INSERT (RunOps.enqueueAhead) and undefined is
 * returned: it is QUEUED. Otherwise its row as queued.
 */
export async function enqueueChild(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
  automationId: string,
  step: number,
  extra: Record<string, unknown>,
  memo: LaunchMemo,
  aheadId: () => Promise<string | undefined>,
): Promise<RunRow | undefined> {
  const run = await prepareChild(deps, tx, parent, null, { automationId, step, parameters: extra }, memo)
  if (await deps.ops.enqueueAhead(tx, run, aheadId)) return undefined
  return (await deps.ops.enqueue(tx, run)).run
}

/** A child as queued: its id, and its state (QUEUED, WAITING, or final if its mutex was busy). */
export type Launched = Pick<RunRow, 'id' | 'state'>

/**
 * Queues children as the parent's run-as user; one that cannot start is returned as its
 * error. A lone child without a mutex goes under an id drawn ahead when there is one (see
 * enqueueChild); more than one are queued together in one INSERT.
 */
export async function launchChildren(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
  parentDef: Definition,
  specs: readonly ChildSpec[],
  memo: LaunchMemo,
  aheadId: () => Promise<string | undefined>,
): Promise<(Launched | Error)[]> {
  const prepared: (NewRun | Error)[] = []
  for (const spec of specs) {
    try {
      prepared.push(await prepareChild(deps, tx, parent, parentDef, spec, memo))
    } catch (err) {
      prepared.push(coerceError(err))
    }
  }
  const runs = prepared.filter((p): p is NewRun => !(p instanceof Error))
  const [only] = runs
  const id = runs.length === 1 ? await deps.ops.enqueueAhead(tx, only!, aheadId) : undefined
  if (id) return prepared.map((p) => (p instanceof Error ? p : { id, state: 'QUEUED' }))
  const queued: Launched[] = (await deps.ops.enqueueMany(tx, runs)).map((q) => q.run)
  return prepared.map((p) => (p instanceof Error ? p : queued.shift()!))
}

/** The run of one child, after checking that the parent's run-as user may run it. */
async function prepareChild(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
  parentDef: Definition | null,
  spec: ChildSpec,
  memo: LaunchMemo,
): Promise<NewRun> {
  let target: { automationId: string; versionId: string; version: number; definition: Definition }
  let parameters: Record<string, unknown>
  if (spec.inline) {
    // An inline step runs under the parent's own automation and version; the worker
    // asks the parent's kind for its definition (Orchestrator.inlineStep).
    if (!parentDef) throw new Error('an inline step needs its parent definition')
    target = {
      automationId: parent.automation_id,
      versionId: parent.version_id,
      version: parent.version,
      definition: spec.inline,
    }
    parameters = spec.parameters
  } else {
    const current = await resolveInto(deps, tx, memo, {
      orgId: parent.org_id,
      runAsUserId: parent.run_as,
      automationId: spec.automationId!,
    })
    if (!current) throw new Error(`automation ${spec.automationId} no longer exists`)
    target = {
      automationId: spec.automationId!,
      versionId: current.version_id,
      version: current.version,
      definition: current.definition,
    }
    const declared = new Set(current.definition.parameters.map((p) => p.name))
    const given = { ...parent.parameters, ...spec.parameters }
    const passed = Object.fromEntries(Object.entries(given).filter(([k]) => declared.has(k)))
    parameters = resolveParameters(current.definition.parameters, passed)
  }
  const definition: Definition = {
    ...target.definition,
    retry: {
      ...target.definition.retry,
      maxAttempts: spec.maxAttempts ?? target.definition.retry.maxAttempts,
    },
    timeoutMs: spec.timeoutMs ?? target.definition.timeoutMs,
  }
  return {
    orgId: parent.org_id,
    automationId: target.automationId,
    versionId: target.versionId,
    version: target.version,
    definition,
    triggerSource: 'CHAIN',
    triggeredBy: parent.triggered_by,
    runAs: parent.run_as,
    parentRunId: parent.id,
    step: spec.step,
    stepItem: spec.item ?? null,
    parentAttempt: spec.parentAttempt ?? null,
    parameters,
  }
}

/**
 * Resolves a child's automation as its parent's run-as user, once per memo: sends the read
 * at once (so callers may send several before waiting) and keeps its promise. A promise
 * nobody awaits (a foreseen child that is not started) must not be an unhandled rejection.
 */
export function resolveInto(
  deps: OrchestrationDeps,
  tx: Queryable,
  memo: LaunchMemo,
  child: { orgId: string; runAsUserId: string | null; automationId: string },
): Promise<CurrentVersion | undefined> {
  let checked = memo.get(child.automationId)
  if (!checked) {
    checked = deps.resolveChild ? deps.resolveChild(tx, child) : readCurrentVersion(tx, child)
    checked.catch(() => {})
    memo.set(child.automationId, checked)
  }
  return checked
}
