import type { Definition } from '../automations/definition'
import type { Queryable } from '../db/database'
import { type RunState, isFinal } from '../domain'
import { coerceError } from '../errors'
import type { KindModule } from '../kinds/kind'
import { type Launched, enqueueChild, launchChildren } from './launch-child'
import { lockMutex } from './mutex-lock'
import { syncingQueue } from './run-queue'
import { type ChildRow, RUN_COLUMNS, type RunRow, childColumnsOf } from './run-row'
import { type PlannedConfig, plannedConfig } from './planned-parents'
import type { ChildResolver, Foreseen, LaunchMemo, LockedParents, RunOps } from './types'

/**
 * What an orchestrating kind (CHAIN, later WORKFLOW) sees while it moves its run
 * on. The parent row is locked for the transaction, so two children ending at
 * once advance it one after the other. Every method returns the rows it changed
 * and did not announce; the engine announces them with the change that caused them.
 */
export interface OrchestrationContext<C = unknown, P = unknown> {
  readonly tx: Queryable
  readonly parent: RunRow
  readonly config: C
  /** What the kind derived from the config (Orchestrator.plan), once per version. */
  readonly plan: P
  /**
   * Starts a child run of an automation as the parent's run-as user (checked
   * against the child first). A child that ends at once (mutex busy, policy SKIP)
   * is handed straight back to the orchestrator's childrenFinished.
   */
  startChild(automationId: string, step: number, parameters?: Record<string, unknown>): Promise<RunRow[]>
  /** Records a step that will not run, with why. */
  skipChild(automationId: string, step: number, reason: string): Promise<RunRow[]>
  /**
   * Queues children (automations, or inline definitions of the parent's version) in
   * one go and returns each as queued, announced, or the error that kept it from
   * starting (it no longer exists, its run-as check or parameters failed). A child
   * that ended at once is not handed back to childrenFinished: the caller (WORKFLOW)
   * looks at its children again itself.
   */
  launchChildren(specs: readonly ChildSpec[]): Promise<(Launched | Error)[]>
  /** Records a child decided not to run (SKIPPED with its cause) or failed before running. */
  recordChild(spec: RecordedChild): Promise<RunRow>
  /** The children started so far, in step order. */
  children(): Promise<ChildRow[]>
  /** Ends the parent run; its own mutex and parent follow. */
  end(state: RunState, error: string | null, outputs?: Record<string, unknown>): Promise<RunRow[]>
}

/** Where a child sits among its parent's children (WORKFLOW: per attempt, per forEach item). */
export interface ChildPlace {
  step: number
  item?: number | null
  /** The parent attempt deciding this child (WORKFLOW); null for CHAIN steps. */
  parentAttempt?: number | null
}

export interface ChildSpec extends ChildPlace {
  /** An automation of the organization, run at its current version... */
  automationId?: string
  /** ...or a step defined inside the parent's own version (an inline SQL step). */
  inline?: Definition
  parameters: Record<string, unknown>
  /** Per-step settings over the child's own. */
  maxAttempts?: number | undefined
  timeoutMs?: number | undefined
}

export interface RecordedChild extends ChildPlace {
  /** The automation, or null for an inline step (recorded under the parent's automation). */
  automationId: string | null
  kind?: string
  state: 'SKIPPED' | 'FAILED'
  error: string
  skipCause?: string | null
}

/** The orchestration capability of a kind: how its run starts its children and moves on. */
export interface Orchestrator<C = unknown, P = unknown> {
  /**
   * What moving on needs from the config beyond the config itself (WORKFLOW: the steps in
   * topological order, each step's incoming edges). Versions never change, so the engine
   * parses a version's config and plans it once, not at every child that ends.
   */
  plan?(config: C): P
  /** The run has given up its worker slot: start its first children. */
  start(o: OrchestrationContext<C, P>): Promise<RunRow[]>
  /**
   * Children reached a final state (those of one completion batch): start
   * the next ones, or end the parent. Called once per parent per batch, so a fan-in of
   * a hundred children settled together moves its workflow on once, not a hundred times.
   */
  childrenFinished(o: OrchestrationContext<C, P>, children: readonly RunRow[]): Promise<RunRow[]>
  /**
   * Set when moving on reads every child (WORKFLOW): a completion batch then reads them with
   * its first statements, in the same round trip, instead of after them.
   */
  readonly readsChildren?: true
  /**
   * The automations the end of a child (its step, its outcome) will likely make the parent
   * start: a chain's next step, a workflow's successors. They are resolved with the
   * completion's first statements, saving the round trip of resolving them after the
   * decision; a guess that is not started costs one read and changes nothing.
   */
  nextAutomations?(config: C, plan: P, ended: { step: number | null; state: string }): readonly string[]
  /**
   * Set by kinds that read children: whether moving on after these children ended (the
   * parent's children of one batch) can do without reading the others (WORKFLOW: a step
   * whose successors its outcome alone decides). The batch then leaves that read out.
   */
  movesOnAlone?(
    config: C,
    plan: P,
    ended: readonly { step: number | null; item: number | null; state: string }[],
  ): boolean
  /** The definition a worker executes for a child defined inside the parent's version. */
  inlineStep?(config: C, parent: Definition, step: number): Definition | undefined
  /**
   * Before a rerun (a new attempt of the same run): carries the children it keeps over
   * into the new attempt; the rest are decided again by start().
   */
  prepareRerun?(o: OrchestrationContext<C, P>, fromStep: string | null): Promise<void>
}

export interface OrchestrationDeps {
  ops: RunOps
  kinds: (name: string) => KindModule | undefined
  resolveChild?: ChildResolver | undefined
  /** The engine's cache of planned configs by version id (bounded; versions never change). */
  plans: Map<string, PlannedConfig>
}

/** Builds the context for one locked, orchestrating parent run. */
async function contextFor(
  deps: OrchestrationDeps,
  tx: Queryable,
  parent: RunRow,
  prefetched?: ChildRow[],
  foreseen?: Foreseen,
): Promise<{ o: OrchestrationContext; orchestrator: Orchestrator } | undefined> {
  const kind = deps.kinds(parent.kind)
  if (!kind?.orchestrator) return undefined
  const def = await deps.ops.definition(tx, parent.version_id)
  // One advance can start many children of one automation (a fan-out): its current
  // version and its run-as check are read once per transaction, not once per child.
  const memo: LaunchMemo = foreseen?.memo ?? new Map()
  // Ids drawn with the batch's first statements for the children foreseen (see Foreseen).
  const aheadId = async (): Promise<string | undefined> => (await foreseen?.ids)?.shift()
  const orchestrator = kind.orchestrator as Orchestrator
  const { config, plan } = plannedConfig(deps, orchestrator, kind, def, parent.version_id)
  const o: OrchestrationContext = {
    tx,
    parent,
    config,
    plan,
    async startChild(automationId, step, parameters) {
      const child = await enqueueChild(deps, tx, parent, automationId, step, parameters ?? {}, memo, aheadId)
      // Queued ahead (no row to wait for), a child is QUEUED: only a busy mutex ends one at once.
      return child && isFinal(child.state) ? orchestrator.childrenFinished(o, [child]) : []
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
    launchChildren: (specs) => launchChildren(deps, tx, parent, def, specs, memo, aheadId),
    async recordChild(c) {
      const [row] = await tx.query<RunRow>(
        `insert into runs (org_id, automation_id, version_id, version, kind, state, trigger_source, triggered_by,
           run_as, parent_run_id, step, step_item, parent_attempt, skip_cause, error, started_at, finished_at)
         select $1, coalesce($2::uuid, $11::uuid), coalesce(v.id, $5::uuid), coalesce(v.version, $12::int),
           coalesce($13, v.definition->>'kind', 'UNKNOWN'), $14, 'CHAIN', $3, $4, $6, $7, $8, $9, $15, $10,
           case when $14 = 'FAILED' then clock_timestamp() end, clock_timestamp()
         from (select 1) one
         left join automations a on a.id = $2::uuid and a.org_id = $1
         left join automation_versions v on v.id = a.current_version_id
         returning ${RUN_COLUMNS}`,
        [
          parent.org_id,
          c.automationId,
          parent.triggered_by,
          parent.run_as,
          parent.version_id,
          parent.id,
          c.step,
          c.item ?? null,
          c.parentAttempt ?? null,
          c.error,
          parent.automation_id,
          parent.version,
          c.kind ?? null,
          c.state,
          c.skipCause ?? null,
        ],
      )
      return row!
    },
    children() {
      // Read with the batch's lock (see LockedParents), good for the first look only: the
      // children this move-on starts or records are read again by the next.
      const first = prefetched
      prefetched = undefined
      if (first) return Promise.resolve(first)
      return tx.query<ChildRow>(
        `select ${childColumnsOf('c')} from runs c where c.parent_run_id = $1 order by c.step, c.id`,
        [parent.id],
      )
    },
    async end(state, error, outputs) {
      const [ended] = await tx.query<RunRow>(
        syncingQueue(`update runs set state = $2, error = $3, outputs = $4::jsonb, finished_at = clock_timestamp(),
           lease_owner = null, lease_expires_at = null, claim_token = null
         where id = $1 and state = 'RUNNING' returning ${RUN_COLUMNS}`),
        [parent.id, state, error, outputs ? JSON.stringify(outputs) : null],
      )
      if (!ended) return []
      return [ended, ...(await deps.ops.followUps(tx, [ended]))]
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

/** Why a rerun was refused; the message says what to do instead. */
export class RerunRefused extends Error {
  override name = 'RerunRefused'
}

/**
 * Reruns an ended orchestrating run as its next attempt (WORKFLOW): the children its
 * kind keeps are carried over, the rest are decided again. The ended attempt is kept in
 * run_attempts. The run takes its own mutex again, or the rerun is refused while it is busy.
 */
export async function rerunOrchestration(
  deps: OrchestrationDeps,
  tx: Queryable,
  runId: string,
  fromStep: string | null,
): Promise<RunRow[]> {
  const [run] = await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1 for update`, [runId])
  if (!run) throw new RerunRefused(`run ${runId} does not exist`)
  if (!['FAILED', 'CANCELLED', 'TIMED_OUT'].includes(run.state)) {
    throw new RerunRefused(
      `run ${runId} is ${run.state}; only a failed, cancelled or timed-out run can be rerun`,
    )
  }
  const found = await contextFor(deps, tx, run)
  if (!found?.orchestrator.prepareRerun) throw new RerunRefused(`a ${run.kind} run cannot be rerun in place`)
  if (run.mutex_name) {
    const m = await lockMutex(tx, run.org_id, run.mutex_name)
    if (m.holderRunId !== null || m.waiting > 0) {
      throw new RerunRefused(`mutex "${run.mutex_name}" is busy; rerun when it is free`)
    }
    await tx.query(
      'update mutexes set holder_run_id = $3, acquired_at = now() where org_id = $1 and name = $2',
      [run.org_id, run.mutex_name, run.id],
    )
  }
  await found.orchestrator.prepareRerun(found.o, fromStep)
  await tx.query(
    `insert into run_attempts (run_id, attempt, org_id, state, started_at, finished_at, outputs, error)
     values ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), $7::jsonb, $8)`,
    [
      run.id,
      run.attempt,
      run.org_id,
      run.state,
      run.started_at,
      run.finished_at,
      JSON.stringify(run.outputs),
      run.error,
    ],
  )
  const [again] = await tx.query<RunRow>(
    syncingQueue(`update runs set state = 'RUNNING', attempt = attempt + 1, error = null, outputs = null, cancel_requested = null,
       started_at = clock_timestamp(), finished_at = null, lease_owner = null, lease_expires_at = null, claim_token = null,
       deadline_at = case when timeout_ms is not null then now() + make_interval(secs => timeout_ms::float8 / 1000) end
     where id = $1 returning ${RUN_COLUMNS}`),
    [run.id],
  )
  const next = await contextFor(deps, tx, again!)
  return [again!, ...(await next!.orchestrator.start(next!.o))]
}

/**
 * Children ended: each parent that is still orchestrating moves on once, under its
 * lock. Parents are taken in id order, the order every batch locks rows in.
 */
export async function childrenFinished(
  deps: OrchestrationDeps,
  tx: Queryable,
  ended: readonly RunRow[],
  locked?: LockedParents,
): Promise<RunRow[]> {
  const byParent = new Map<string, RunRow[]>()
  for (const child of ended) {
    if (!child.parent_run_id) continue
    byParent.set(child.parent_run_id, [...(byParent.get(child.parent_run_id) ?? []), child])
  }
  const changed: RunRow[] = []
  for (const parentId of [...byParent.keys()].sort((a, b) => Number(BigInt(a) - BigInt(b)))) {
    const preread = locked?.get(parentId)
    locked?.delete(parentId) // used once: moving a child's parent on may change its own parent
    const [parent] = preread
      ? [preread.row]
      : await tx.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1 for update`, [parentId])
    if (!parent || parent.state !== 'RUNNING' || parent.lease_owner) continue
    const found = await contextFor(deps, tx, parent, preread?.children, preread?.foreseen)
    if (!found) continue
    try {
      changed.push(...(await found.orchestrator.childrenFinished(found.o, byParent.get(parentId)!)))
    } catch (err) {
      changed.push(...(await found.o.end('FAILED', coerceError(err).message)))
    }
  }
  return changed
}
