import type { Definition } from '../automations/definition'
import type { Database, Queryable } from '../db/database'
import type { RunState } from '../domain'
import type { KindModule } from '../kinds/kind'
import type { Logger } from '../log'
import { requestCancel } from './cancel'
import { type ClaimRequest, type StartedHook, claimIn, claimRuns, nextDueInMs } from './claim'
import { type Completion, completeRuns } from './complete'
import { enqueueAhead, enqueueRun } from './enqueue'
import { type ScheduledRun, enqueueMany } from './enqueue-many'
import { finishRuns } from './finish'
import { cancelRequests, heartbeat } from './heartbeat'
import { handOverMutex } from './mutex-handoff'
import { childrenFinished, rerunOrchestration, startOrchestration } from './orchestration'
import { foreseeChildren, readsChildrenFor } from './planned-parents'
import { notifyRunChanges } from '../events/notify'
import { expireDeadlines, recoverExpiredLeases } from './recover'
import type { RunRow } from './run-row'
import type {
  ChildReading,
  ChildResolver,
  Claim,
  Enqueued,
  FinishedHook,
  NewRun,
  Outcome,
  RunOps,
} from './types'
import { type DefinitionCache, createDefinitionCache } from './versions'

/**
 * Terminology: the engine is the only writer of run state. Every change to a run
 * (enqueue, claim, heartbeat, complete, cancel, retry, recover) goes through one
 * of its methods; GraphQL, webhooks, the scheduler, workers and run buttons call
 * them. Methods ending in `In` run inside the caller's transaction.
 */
export interface Engine {
  /** Queues a run in its own transaction, applying its mutex policy. */
  enqueue(run: NewRun): Promise<Enqueued>
  enqueueIn(tx: Queryable, run: NewRun): Promise<Enqueued>
  /** Queues many runs (scheduled ticks) in the caller's transaction, in order. */
  enqueueManyIn(tx: Queryable, runs: readonly ScheduledRun[]): Promise<Enqueued[]>
  /** Ends runs from any non-final state, as a worker or a cancel would, with every follow-up. */
  finishIn(tx: Queryable, ids: readonly string[], state: RunState, error: string | null): Promise<RunRow[]>
  /** Cancels a run whatever its state (see cancel.ts). */
  cancel(runId: string, reason: string): Promise<RunRow | undefined>
  /** Claims due runs for a worker, each with a fresh fencing token. */
  claim(next: ClaimRequest): Promise<Claim[]>
  nextDueInMs(): Promise<number | null>
  /** Extends leases of current claims; returns the runs still ours with their stored cancel request. */
  heartbeat(
    claims: readonly Claim[],
    leaseMs: number,
  ): Promise<Map<string, { cancelRequested: string | null }>>
  /** Stored cancel requests of current claims (the worker checks after a cancel notification). */
  cancelRequests(claims: readonly Claim[]): Promise<Map<string, string>>
  /**
   * Records outcomes; stale claims are refused and counted. With `next`, claims the
   * worker's next runs in the same transaction (one transaction per step, not two).
   */
  complete(outcomes: readonly Outcome[], next?: ClaimRequest): Promise<Completion>
  /** Retries or fails runs whose worker stopped heartbeating; times out chains past their deadline. */
  recover(): Promise<{ recovered: number; expired: number }>
  /** The definition of an automation version (cached: versions never change). */
  definition(q: Queryable, versionId: string): Promise<Definition>
  /**
   * Reruns an ended workflow run as its next attempt, from its failed steps or from the
   * named step, keeping the outputs of the steps it does not run again. Throws RerunRefused.
   */
  rerun(runId: string, fromStep: string | null): Promise<RunRow>
  /** Registers a hook called in the transaction that makes a run final; returns its removal. */
  onRunFinished(hook: FinishedHook): () => void
  /**
   * Registers a hook called in the claim transaction that moves runs to RUNNING; returns its
   * removal. `active` is false while the hook would do nothing for any run: a worker's claim
   * then needs no transaction of its own.
   */
  onRunStarted(hook: StartedHook, active?: () => boolean): () => void
  /** Outcomes refused because their claim was no longer current, since start. */
  readonly stats: { readonly rejectedCompletions: number }
}

export interface EngineOptions {
  db: Database
  log: Logger
  kinds: (name: string) => KindModule | undefined
  /**
   * Finds a child's current version once its run-as user is found allowed to run it (a chain
   * or workflow starting a step); without it, children are queued unchecked (engine tests).
   */
  resolveChild?: ChildResolver
  /** Kinds whose orchestrator reads every child to move on (Orchestrator.readsChildren). */
  childReaderKinds?: readonly string[]
}

export function createEngine(opts: EngineOptions): Engine {
  const { db, log } = opts
  const hooks = new Set<FinishedHook>()
  // Each started hook with what tells whether it would act on any run now.
  const startedHooks = new Map<StartedHook, () => boolean>()
  const runStarted: StartedHook = async (tx, runs) => {
    for (const hook of startedHooks.keys()) await hook(tx, runs)
  }
  const startedWanted = (): StartedHook | undefined => {
    for (const active of startedHooks.values()) if (active()) return runStarted
    return undefined
  }
  const definitions: DefinitionCache = createDefinitionCache()
  const childReading: ChildReading = { kinds: opts.childReaderKinds ?? [], seen: new Map() }
  let rejected = 0

  const ops: RunOps = {
    enqueue: (tx, run) => enqueueRun(ops, tx, run),
    enqueueAhead,
    enqueueMany: (tx, runs) => enqueueMany(ops, tx, runs),
    cancel: (tx, runId, reason) => requestCancel(ops, tx, runId, reason),
    finish: (tx, ids, state, error, outputs) => finishRuns(ops, tx, ids, state, error, outputs ?? null),
    async followUps(tx, runs, locked, handed) {
      const changed: RunRow[] = []
      for (const run of runs) {
        if (run.mutex_name) {
          const handing = handed?.get(run.id) ?? handOverMutex(tx, run.org_id, run.mutex_name, run.id)
          changed.push(...(await handing))
        }
        for (const hook of hooks) await hook(tx, run)
      }
      // A hand-off moved one of a parent's children on: the children read with the lock are stale.
      for (const c of changed) {
        const entry = c.parent_run_id ? locked?.get(c.parent_run_id) : undefined
        if (entry) delete entry.children
      }
      changed.push(...(await childrenFinished(deps, tx, runs, locked)))
      return changed
    },
    definition: (q, versionId) => definitions.load(q, versionId),
  }
  const deps = { ops, kinds: opts.kinds, resolveChild: opts.resolveChild, plans: new Map() }

  return {
    // Without a mutex, queueing is one statement that announces itself: no transaction needed.
    // With a mutex, a transaction of its own, whose last statement (the INSERT) carries the COMMIT.
    enqueue: (run) =>
      run.definition.mutex
        ? db.transaction((tx) => enqueueRun(ops, tx, run, { last: true }))
        : ops.enqueue(db, run),
    enqueueIn: (tx, run) => ops.enqueue(tx, run),
    enqueueManyIn: (tx, runs) => ops.enqueueMany(tx, runs),
    finishIn: (tx, ids, state, error) => ops.finish(tx, ids, state, error),
    cancel: (runId, reason) => db.transaction((tx) => ops.cancel(tx, runId, reason)),
    claim: (next) => claimRuns(db, next, startedWanted()),
    nextDueInMs: () => nextDueInMs(db),
    heartbeat: (claims, leaseMs) => heartbeat(db, claims, leaseMs),
    cancelRequests: (claims) => cancelRequests(db, claims),
    async complete(outcomes, next) {
      const result = await completeRuns(ops, db, outcomes, {
        orchestrate: (tx, run) => startOrchestration(deps, tx, run),
        claimNext: next ? (tx, opts) => claimIn(tx, next, startedWanted(), opts) : undefined,
        reading: childReading,
        foresee: (tx, ended) => foreseeChildren(deps, tx, ended, childReading.seen),
        readsChildren: (parentId, ended) => readsChildrenFor(deps, parentId, ended, childReading.seen),
      })
      if (result.rejected > 0) {
        rejected += result.rejected
        log.warn({ rejected: result.rejected }, 'refused outcomes of claims that are no longer current')
      }
      return result
    },
    async recover() {
      const recovered = await recoverExpiredLeases(ops, db)
      const expired = await expireDeadlines(ops, db)
      return { recovered, expired }
    },
    definition: (q, versionId) => definitions.load(q, versionId),
    rerun: (runId, fromStep) =>
      db.transaction(async (tx) => {
        const changed = await rerunOrchestration(deps, tx, runId, fromStep)
        await notifyRunChanges(tx, changed)
        return changed[0]!
      }),
    onRunFinished(hook) {
      hooks.add(hook)
      return () => hooks.delete(hook)
    },
    onRunStarted(hook, active = () => true) {
      startedHooks.set(hook, active)
      return () => startedHooks.delete(hook)
    },
    get stats() {
      return { rejectedCompletions: rejected }
    },
  }
}
