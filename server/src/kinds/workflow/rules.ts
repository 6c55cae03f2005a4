import type { EdgeCondition, TriggerRule } from './config'

/**
 * How a settled step looks downstream. UPSTREAM_FAILED is a step that did not run
 * because a parent failed (Airflow's upstream_failed); it is stored as a SKIPPED run
 * with skip_cause UPSTREAM_FAILED.
 */
export type StepOutcome = 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'UPSTREAM_FAILED'

/** Why a step was skipped, as a code the API and the graph show next to the text. */
export type SkipCause =
  | 'BRANCH_NOT_TAKEN'
  | 'UPSTREAM_SKIPPED'
  | 'UPSTREAM_FAILED'
  | 'RULE'
  | 'CONDITION'
  | 'CANCELLED'
  | 'WORKFLOW_ENDED'

/** One incoming edge as the child sees it: its parent's outcome (null while the parent is not settled). */
export interface Incoming {
  parent: string
  condition: EdgeCondition
  outcome: StepOutcome | null
}

export type Decision =
  | { decision: 'WAIT' }
  | { decision: 'RUN' }
  | { decision: 'SKIP'; outcome: 'SKIPPED' | 'UPSTREAM_FAILED'; cause: SkipCause; reason: string }

const WAIT: Decision = { decision: 'WAIT' }

/**
 * What an edge shows of its parent (docs/DESIGN.md): SUCCESS the real outcome; FAILURE
 * "succeeded" when the parent failed and "skipped" (branch not taken) when it succeeded;
 * COMPLETION "succeeded" once the parent ran, whatever its outcome. A parent that did not
 * run (skipped, upstream failed) shows as such through every edge.
 */
export function seenThrough(condition: EdgeCondition, outcome: StepOutcome | null): StepOutcome | null {
  if (outcome === null || condition === 'SUCCESS') return outcome
  if (outcome === 'SKIPPED' || outcome === 'UPSTREAM_FAILED') return outcome
  if (condition === 'COMPLETION') return 'SUCCEEDED'
  return outcome === 'FAILED' ? 'SUCCEEDED' : 'SKIPPED'
}

/** "load FAILED", "check SUCCEEDED (the edge runs on FAILURE only)": a parent in a skip reason. */
function describe(e: Incoming): string {
  const why = e.outcome === 'UPSTREAM_FAILED' ? 'did not run (upstream failed)' : e.outcome
  const branch =
    e.condition === 'FAILURE' && e.outcome === 'SUCCEEDED' ? ' (the edge runs on FAILURE only)' : ''
  return `${e.parent} ${why}${branch}`
}

/**
 * Applies a step's trigger rule to what it sees of its parents, with Airflow's semantics:
 * some rules decide "without waiting" for the rest of the parents. A root (no parents)
 * runs, except under rules that need a parent to have done something.
 */
export function decide(rule: TriggerRule, incoming: readonly Incoming[]): Decision {
  // No parent has settled: every rule but ALWAYS waits. Most steps of a long workflow are
  // in this state at each move-on, and skipping the lists below keeps that cheap.
  if (rule !== 'ALWAYS' && incoming.length > 0 && incoming.every((e) => e.outcome === null)) return WAIT
  const seen = incoming.map((e) => ({ e, s: seenThrough(e.condition, e.outcome) }))
  const pick = (...states: StepOutcome[]) => seen.filter((x) => x.s !== null && states.includes(x.s))
  const ok = pick('SUCCEEDED')
  const failed = pick('FAILED', 'UPSTREAM_FAILED')
  const skipped = pick('SKIPPED')
  const n = incoming.length
  const allDone = seen.every((x) => x.s !== null)
  const list = (xs: typeof seen) => xs.map((x) => describe(x.e)).join(', ')
  const upstreamFailed = (): Decision => ({
    decision: 'SKIP',
    outcome: 'UPSTREAM_FAILED',
    cause: 'UPSTREAM_FAILED',
    reason: `upstream failed: ${list(failed)}`,
  })
  const skippedBy = (xs: typeof seen, ruleText?: string): Decision => {
    const branch = xs.every((x) => x.e.condition === 'FAILURE' && x.e.outcome === 'SUCCEEDED')
    const cause: SkipCause = ruleText ? 'RULE' : branch ? 'BRANCH_NOT_TAKEN' : 'UPSTREAM_SKIPPED'
    const what =
      branch && !ruleText ? 'branch not taken' : ruleText ? `${rule} ${ruleText}` : 'a parent was skipped'
    return { decision: 'SKIP', outcome: 'SKIPPED', cause, reason: `${what}: ${list(xs)}` }
  }
  const run: Decision = { decision: 'RUN' }
  switch (rule) {
    case 'ALL_SUCCESS':
      if (failed.length > 0) return upstreamFailed()
      if (skipped.length > 0) return skippedBy(skipped)
      return allDone ? run : WAIT
    case 'ALL_FAILED': {
      const notFailed = [...ok, ...skipped]
      if (notFailed.length > 0) return skippedBy(notFailed, 'needs every parent to fail')
      return allDone ? run : WAIT
    }
    case 'ALL_DONE':
      return allDone ? run : WAIT
    case 'ONE_SUCCESS':
      if (ok.length > 0) return run
      if (!allDone) return WAIT
      if (n > 0 && skipped.length === n) return skippedBy(skipped)
      if (n === 0) return skippedBy([], 'needs a parent')
      return upstreamFailed()
    case 'ONE_FAILED':
      if (failed.length > 0) return run
      return allDone ? skippedBy(seen, 'needs a parent to fail') : WAIT
    case 'ONE_DONE':
      if (ok.length > 0 || pick('FAILED').length > 0) return run
      return allDone ? skippedBy(seen, 'needs a parent that succeeded or failed') : WAIT
    case 'NONE_FAILED':
      if (failed.length > 0) return upstreamFailed()
      return allDone ? run : WAIT
    case 'NONE_FAILED_MIN_ONE_SUCCESS':
      if (failed.length > 0) return upstreamFailed()
      if (!allDone) return WAIT
      if (ok.length > 0) return run
      return n === 0 ? skippedBy([], 'needs a parent that succeeded') : skippedBy(skipped)
    case 'NONE_SKIPPED':
      if (skipped.length > 0) return skippedBy(skipped)
      return allDone ? run : WAIT
    case 'ALWAYS':
      return run
  }
}

/** Rules that can only fire when some parent shows FAILED through its edge. */
export const NEEDS_A_FAILED_PARENT: readonly TriggerRule[] = ['ALL_FAILED', 'ONE_FAILED']
/** Rules that never fire on a step without parents. */
export const NEEDS_A_PARENT: readonly TriggerRule[] = [
  'ONE_SUCCESS',
  'ONE_FAILED',
  'ONE_DONE',
  'NONE_FAILED_MIN_ONE_SUCCESS',
]
