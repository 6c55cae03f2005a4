import type { Definition } from '../automations/definition'
import { resolveParameters } from '../automations/parameters'
import type { Queryable } from '../db/database'
import { type RunState, isFinal } from '../domain'
import { coerceError } from '../errors'
import type { KindModule } from '../kinds/kind'
import { RUN_COLUMNS, type RunRow } from './run-row'
import type { ChildAuthorizer, RunOps } from './types'

/**
 * What an orchestrating kind (CHAIN, later WORKFLOW) sees while it moves its run
 * on. The parent row is locked for the transaction, so two children ending at
 * once advance it one after the other. Every method returns the rows it changed
 * and did not announce; the engine announces them with the change that caused them.
 */
export interface OrchestrationContext<C = unknown> {
  readonly tx: Queryable
  readonly parent: RunRow
  readonly config: C
  /**
   * Starts a child run of an automation as the parent's run-as user (checked
   * against the child first). A child that ends at once (mutex busy, policy SKIP)
   * is handed straight back to the orchestrator's childFinished.
   */
  startChild(automationId: string, step: number, parameters?: Record<string, unknown>): Promise<RunRow[]>
  /** Records a step that will not run, with why. */
  skipChild(automationId: string, step: number, reason: string): Promise<RunRow[]>
  /** The children started so far, in step order. */
  children(): Promise<RunRow[]>
  /** Ends the parent run; its own mutex and parent follow. */
  end(state: RunState, error: string | null, outputs?: Record<string, unknown>): Promise<RunRow[]>
}

/** The orchestration capability of a kind: how its run starts its children and moves on. */
export interface Orchestrator<C = unknown> {
  /** The run has given up its worker slot: start its first children. */
  start(o: OrchestrationContext<C>): Promise<RunRow[]>
  /** A child reached a final state: start the next ones, or end the parent. */
  childFinished(o: OrchestrationContext<C>, child: RunRow): Promise<RunRow[]>
}

export interface OrchestrationDeps {
  ops: RunOps
  kinds: (name: string) => KindModule | undefined
  authorizeChild?: ChildAuthorizer | undefined
}

/** Builds the context for one locked, orchestrating parent run. */
async function contextFor(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
): Promise<{ o: OrchestrationContext; orchestrator: Orchestrator } | undefined> {
  const kind = deps.kinds(parent.kind)
  if (!kind?.orchestrator) return undefined
  const def = await deps.ops.definition(tx, parent.version_id)
  const config = kind.configSchema.parse(def.config)
  const orchestrator = kind.orchestrator as Orchestrator
  const o: OrchestrationContext = {
    tx,
    parent,
    config,
    async startChild(automationId, step, parameters) {
      const child = await enqueueChild(deps, tx, parent, automationId, step, parameters)
      return isFinal(child.state) ? orchestrator.childFinished(o, child) : []
    },
    async skipChild(automationId, step, reason) {
      const [row] = await tx.query<RunRow>(
        `insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
           run_as, parent_run_id, step, error, finished_at)
         select $1, $2, coalesce(v.id, $5::uuid), coalesce(v.version, 0), coalesce(v.definition->>'kind', 'UNKNOWN'),
           'SKIPPED', 'CHAIN', $3, $4, $6, $7, $8, clock_timestamp()
         from (select 1) one
         left join automations a on a.id = $2 and a.org_id = $1
         left join automation_versions v on v.id = a.current_version_id
         returning ${RUN_COLUMNS}`,
        [
          parent.org_id,
          automationId,
          parent.triggered_by,
          parent.run_as,
          parent.version_id,
          parent.id,
          step,
          reason,
        ],
      )
      return [row!]
    },
    children: () =>
      tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where parent_run_id = $1 order by step, id`, [
        parent.id,
      ]),
    async end(state, error, outputs) {
      const [ended] = await tx.query<RunRow>(
        `update runs set state = $2, error = $3, outputs = $4::jsonb, finished_at = clock_timestamp(),
           lease_owner = null, lease_expires_at = null, claim_token = null
         where id = $1 and state = 'RUNNING' returning ${RUN_COLUMNS}`,
        [parent.id, state, error, outputs ? JSON.stringify(outputs) : null],
      )
      if (!ended) return []
      return [ended, ...(await deps.ops.followUps(tx, ended))]
    },
  }
  return { o, orchestrator }
}

/** The run gave up its lease (its kind returned `orchestrate`): let its kind start its children. */
export async function startOrchestration(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
): Promise<RunRow[]> {
  const found = await contextFor(deps, tx, parent)
  if (!found) {
    return deps.ops.finish(tx, [parent.id], 'FAILED', `kind ${parent.kind} cannot orchestrate children`)
  }
  try {
    return await found.orchestrator.start(found.o)
  } catch (err) {
    return found.o.end('FAILED', coerceError(err).message)
  }
}

/** A child ended: its parent, if it is still orchestrating, moves on. */
export async function childFinished(
  deps: OrchestrationDeps,
  tx: Queryable,
  child: RunRow,
): Promise<RunRow[]> {
  const [parent] = await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1 for update`, [
    child.parent_run_id,
  ])
  if (!parent || parent.state !== 'RUNNING' || parent.lease_owner) return []
  const found = await contextFor(deps, tx, parent)
  if (!found) return []
  try {
    return await found.orchestrator.childFinished(found.o, child)
  } catch (err) {
    return found.o.end('FAILED', coerceError(err).message)
  }
}

async function enqueueChild(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
  automationId: string,
  step: number,
  extra: Record<string, unknown> = {},
): Promise<RunRow> {
  const [current] = await tx.query<{ version_id: string; version: number; definition: Definition }>(
    `select v.id as version_id, v.version, v.definition from automations a
     join automation_versions v on v.id = a.current_version_id
     where a.id = $1 and a.org_id = $2 and a.deleted_at is null`,
    [automationId, parent.org_id],
  )
  if (!current) throw new Error(`automation ${automationId} no longer exists`)
  await deps.authorizeChild?.(tx, { orgId: parent.org_id, runAsUserId: parent.run_as, automationId })
  const declared = new Set(current.definition.parameters.map((p) => p.name))
  const given = { ...parent.parameters, ...extra }
  const passed = Object.fromEntries(Object.entries(given).filter(([k]) => declared.has(k)))
  const { run } = await deps.ops.enqueue(tx, {
    orgId: parent.org_id,
    automationId,
    versionId: current.version_id,
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
