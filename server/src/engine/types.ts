import type { Definition } from '../automations/definition'
import type { Queryable } from '../db/database'
import type { RunState, TriggerSource } from '../domain'
import type { ChildRow, RunRow } from './run-row'

/** A run to insert: who asked, as whom, which version, with what. */
export interface NewRun {
  orgId: string
  automationId: string
  versionId: string
  version: number
  definition: Definition
  triggerSource: TriggerSource
  triggeredBy: string | null
  runAs: string | null
  embedTokenId?: string | null
  parentRunId?: string | null
  step?: number | null
  /** WORKFLOW children: the forEach item, and the parent attempt that decided the step. */
  stepItem?: number | null
  parentAttempt?: number | null
  parameters: Record<string, unknown>
  /** Claimed before runs of a higher number (scheduled runs go first). */
  priority?: number
  /** Due time when later than now (a scheduled tick queued ahead of time). */
  runAt?: Date | null
}

/** Claim priority of scheduled runs: due ticks never wait behind a backlog of other runs. */
export const SCHEDULED_PRIORITY = -1

export interface Enqueued {
  run: RunRow
  /** True when the mutex was busy under policy SKIP: the run was recorded SKIPPED. */
  skipped: boolean
}

export type FinalOutcome = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT'

/**
 * A claimed run as a worker holds it. The claim token is the fencing token: every
 * heartbeat, log line and completion presents it, and the engine applies none whose
 * token is no longer the run's current one.
 */
export interface Claim {
  run: RunRow
  token: string
}

/** How one execution ended, as the worker saw it. */
export type Outcome =
  | { claim: Claim; state: FinalOutcome; outputs?: Record<string, unknown>; error?: string }
  /** An orchestrating kind (CHAIN) gives up its lease; its children move it on. */
  | { claim: Claim; orchestrate: true }

/** Called in the transaction that made a run final (AFTER_AUTOMATION followers). */
export type FinishedHook = (tx: Queryable, run: RunRow) => Promise<void>

/** An automation's current version, as a child run of it is queued. */
export interface CurrentVersion {
  version_id: string
  version: number
  definition: Definition
}

/**
 * Finds the current version of a child automation (undefined: it no longer exists) once
 * its parent's run-as user is found allowed to run it; throws with a message naming it if not.
 * One statement: an orchestrating run queues its next child with it, on the hot path.
 */
export type ChildResolver = (
  q: Queryable,
  child: { orgId: string; runAsUserId: string | null; automationId: string },
) => Promise<CurrentVersion | undefined>

/**
 * The run-state operations inside one transaction, as the engine wires them. Operation
 * files take this object instead of importing each other, so the engine has no import
 * cycles even though cancelling can finish a run and finishing can start another.
 */
export interface RunOps {
  enqueue(tx: Queryable, run: NewRun): Promise<Enqueued>
  /**
   * Queues a run under an id drawn ahead (taken from `aheadId`) without waiting for its
   * INSERT (see enqueueAhead) and returns that id: undefined, and nothing sent or taken,
   * when it cannot (the run has a mutex, the transaction does not hold its announcements,
   * or no id was drawn).
   */
  enqueueAhead(
    tx: Queryable,
    run: NewRun,
    aheadId: () => Promise<string | undefined>,
  ): Promise<string | undefined>
  /** Queues many runs in order; those without a mutex in one statement. */
  enqueueMany(tx: Queryable, runs: readonly NewRun[]): Promise<Enqueued[]>
  cancel(tx: Queryable, runId: string, reason: string): Promise<RunRow | undefined>
  /** Marks runs final (from any non-final state) and runs their follow-ups; returns every changed row. */
  finish(
    tx: Queryable,
    ids: readonly string[],
    state: RunState,
    error: string | null,
    outputs?: Record<string, unknown> | null,
  ): Promise<RunRow[]>
  /**
   * What follows runs that just became final: mutex hand-offs, hooks, and each parent
   * moved on once for all of its children that ended together. `handed`: hand-offs the
   * caller sent already, by run id (a completion batch sends them with its first statements).
   */
  followUps(
    tx: Queryable,
    runs: readonly RunRow[],
    locked?: LockedParents,
    handed?: ReadonlyMap<string, Promise<RunRow[]>>,
  ): Promise<RunRow[]>
  definition(q: Queryable, versionId: string): Promise<Definition>
}

/**
 * Parent rows a completion batch locked and read with its first statements, before anything
 * else in its transaction could change them, and (for kinds that read them) their children
 * as of then: each is used once, by the first move-on of that parent (a later one, after a
 * child's parent ended in between, reads again). A mutex hand-off to one of the children
 * drops them (followUps), so what is used is what a fresh read would return. `foreseen`
 * holds the automations the parent's kind expected to start next, resolved in the same
 * round trip, with run ids drawn for them (see foreseeChildren).
 */
export type LockedParents = Map<string, { row: RunRow; children?: ChildRow[]; foreseen?: Foreseen }>

/**
 * The children's automations an orchestrating parent has resolved (current version, run-as
 * check) in one transaction, by automation id: a fan-out of a hundred steps of one
 * automation reads it once.
 */
export type LaunchMemo = Map<string, Promise<CurrentVersion | undefined>>

/**
 * What a completion batch prepared, with its first statements, for the children a parent
 * will likely start (see foreseeChildren): their automations resolved, and a run id drawn
 * for each. A child queued under such an id is announced from what is known without its
 * INSERT's answer, so the batch's claim, which may take that child, goes out right behind
 * the INSERT (see enqueueAhead). An id not used is a gap in the sequence, nothing more.
 */
export interface Foreseen {
  memo: LaunchMemo
  /** Taken from the front, one per child started. */
  ids: Promise<string[]>
}

/** An outcome that ends its run (not an orchestrating hand-over). */
export type Ended = Extract<Outcome, { state: FinalOutcome }>

/** What never changes about a parent run: its kind and version. */
export interface ParentFacts {
  kind: string
  versionId: string
}

/**
 * Which parents a completion batch reads the children of with its lock: those whose kind
 * moves on by reading them all, or whose kind it has not seen yet. A run's kind and version
 * never change, so the engine remembers those of the parents it locked (bounded).
 */
export interface ChildReading {
  readonly kinds: readonly string[]
  readonly seen: Map<string, ParentFacts>
}

/** The reason stored in cancel_requested when a deadline passes; the run ends TIMED_OUT, not CANCELLED. */
export const TIMEOUT_REASON = 'timed out'
