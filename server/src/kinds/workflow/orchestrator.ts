import type { Definition } from '../../automations/definition'
import type { RunState } from '../../domain'
import type { ChildSpec, OrchestrationContext, Orchestrator } from '../../engine/orchestration'
import type { RunRow } from '../../engine/run-row'
import { TIMEOUT_REASON } from '../../engine/types'
import { coerceError } from '../../errors'
import type { WorkflowConfig, WorkflowStep } from './config'
import { type Incoming, type StepOutcome, decide } from './rules'
import { type StepScope, evaluateCondition, resolveTemplate } from './scope'
import { type IncomingEdges, type WorkflowPlan, planWorkflow } from './plan'
import { type StepView, outcomeOf, pendingView, resolveItems, viewSteps } from './view'

type Ctx = OrchestrationContext<WorkflowConfig, WorkflowPlan>
const ACTIVE = ['QUEUED', 'WAITING', 'RUNNING']
/** Passes of decide-then-start per call: a step that ends at once (mutex SKIP) lets the next be decided. */
const MAX_PASSES = 1000

/**
 * Moves a workflow run on. Called under the parent row's lock (start, and each time a
 * child ends), so one node at a time decides; every step whose parents have settled is
 * decided here, once: started, or recorded SKIPPED / UPSTREAM_FAILED with its reason.
 * Decisions are a function of the children's stored outcomes, so a step left waiting
 * for a free slot (the concurrency limit) is decided the same way on the next call.
 */
async function advance(o: Ctx): Promise<RunRow[]> {
  const changed: RunRow[] = []
  const { order, incoming } = o.plan
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const children = (await o.children()).filter((c) => c.parent_attempt === o.parent.attempt)
    const { steps, scope } = viewSteps(o.config, order, children, o.parent.parameters)
    const active = children.filter((c) => ACTIVE.includes(c.state)).length
    if (o.parent.cancel_requested) {
      if (active > 0) return changed // cancel.ts cancels them; the last one to end brings us back here
      return [...changed, ...(await endCancelled(o, steps))]
    }
    let progressed = false
    let capacity = o.config.concurrency - active
    const starts: Start[] = []
    for (const i of order) {
      const v = steps[i]!
      if (v.status === 'SETTLED') continue
      // An active step's items were read with the view; a step decided now brings its own.
      let items = v.items
      if (v.status === 'PENDING') {
        const ruled = decideStep(incoming, steps, v, scope)
        if (ruled === 'WAIT') continue
        if ('state' in ruled) {
          changed.push(await o.recordChild({ ...place(o, v), ...ruled }))
          progressed = true
          continue
        }
        items = ruled.items
      }
      // The step runs: start what its slot allows (forEach: the next items, in order).
      const runningHere = v.rows.filter((r) => ACTIVE.includes(r.state)).length
      const limit = v.step.forEach ? v.step.forEach.concurrency - runningHere : 1
      const todo = items ? items.length - v.rows.length : v.rows.length === 0 ? 1 : 0
      for (let k = 0; k < Math.min(todo, limit, capacity); k++) {
        starts.push({ v, item: items ? v.rows.length + k : null, items })
      }
      capacity -= Math.max(0, Math.min(todo, limit, capacity))
    }
    // Everything this pass starts is queued together: a fan-out of a hundred steps is one INSERT.
    for (const launched of await launch(o, scope, starts)) {
      if (launched.recorded) changed.push(launched.recorded)
      if (!ACTIVE.includes(launched.state)) progressed = true
    }
    if (progressed) continue
    if (active > 0 || capacity < o.config.concurrency - active) return changed
    if (steps.every((s) => s.status === 'SETTLED'))
      return [...changed, ...(await endWorkflow(o, steps, scope))]
    // Nothing runs and nothing can be decided: only a graph the save checks refuse gets here.
    const stuck = steps.filter((s) => s.status !== 'SETTLED').map((s) => s.step.name)
    return [...changed, ...(await o.end('FAILED', `steps ${stuck.join(', ')} can never be decided`))]
  }
  return [
    ...changed,
    ...(await o.end('FAILED', 'the workflow did not settle (too many steps ended at once)')),
  ]
}

/** A step's outcome as the steps after it see it: an ignored failure counts as success. */
function seenDownstream<O extends StepOutcome | null>(step: WorkflowStep, outcome: O): O | 'SUCCEEDED' {
  return outcome === 'FAILED' && step.ignoreFailure ? 'SUCCEEDED' : outcome
}

/**
 * The steps that one step's end starts, when they can be decided from its outcome alone
 * (WorkflowPlan.quick) and all of them run; undefined otherwise (a skip, a join, a
 * condition: advance then looks at every step).
 */
function quickNext(
  config: WorkflowConfig,
  plan: WorkflowPlan,
  step: number,
  outcome: StepOutcome,
): number[] | undefined {
  const next = plan.successors[step] ?? []
  if (next.length === 0 || !next.every((t) => plan.quick[t])) return undefined
  const ended = config.steps[step]!
  const seen = seenDownstream(ended, outcome)
  const runs = next.every((t) => {
    const s = config.steps[t]!
    const [only] = plan.incoming.get(s.name)!
    return (
      decide(s.rule, [{ parent: ended.name, condition: only!.edge.condition, outcome: seen }]).decision ===
      'RUN'
    )
  })
  return runs ? next : undefined
}

/**
 * The quick move-on: one step of the current attempt ended and quickNext starts what
 * follows, without reading the other children, so a line of steps moves on at the cost of a
 * chain's. Undefined when it does not apply; a started step that ended at once (mutex
 * SKIP, refused) lets more be decided, which advance then does.
 */
async function nextOfOne(o: Ctx, ended: readonly RunRow[]): Promise<RunRow[] | undefined> {
  const [child] = ended
  if (ended.length !== 1 || !child || o.parent.cancel_requested) return undefined
  if (child.parent_attempt !== o.parent.attempt || child.step === null || child.step_item !== null)
    return undefined
  const outcome = outcomeOf(child)
  const next = outcome ? quickNext(o.config, o.plan, child.step, outcome) : undefined
  if (!next) return undefined
  // quick steps read only the workflow's parameters.
  const scope: StepScope = { params: o.parent.parameters, variables: {}, steps: {} }
  const starts = next.map((index) => ({ v: pendingView(o.config, index), item: null, items: null }))
  const launched = await launch(o, scope, starts)
  // Queued children were announced as they were queued; only those recorded here are not yet.
  const rows = launched.flatMap((l) => (l.recorded ? [l.recorded] : []))
  if (launched.some((l) => !ACTIVE.includes(l.state))) return [...rows, ...(await advance(o))]
  return rows
}

function place(o: Ctx, v: StepView) {
  return {
    automationId: v.step.automationId ?? null,
    kind: v.step.sql ? 'SQL' : undefined,
    step: v.index,
    parentAttempt: o.parent.attempt,
  }
}

/** Applies the step's rule, then its run condition, forEach list: run (with its items), WAIT, or what to record. */
function decideStep(
  edges: IncomingEdges,
  steps: readonly StepView[],
  v: StepView,
  scope: StepScope,
):
  | { items: unknown[] | null }
  | 'WAIT'
  | { state: 'SKIPPED' | 'FAILED'; error: string; skipCause: string | null } {
  const incoming: Incoming[] = (edges.get(v.step.name) ?? []).map(({ from, edge }) => {
    const parent = steps[from]!
    const outcome = seenDownstream(parent.step, parent.outcome)
    return { parent: edge.from, condition: edge.condition, outcome }
  })
  const d = decide(v.step.rule, incoming)
  if (d.decision === 'WAIT') return 'WAIT'
  if (d.decision === 'SKIP') {
    return {
      state: 'SKIPPED',
      error: d.reason,
      skipCause: d.outcome === 'UPSTREAM_FAILED' ? 'UPSTREAM_FAILED' : d.cause,
    }
  }
  if (v.step.condition) {
    try {
      if (!evaluateCondition(v.step.condition, scope)) {
        return { state: 'SKIPPED', error: `condition is false: ${v.step.condition}`, skipCause: 'CONDITION' }
      }
    } catch (err) {
      return {
        state: 'FAILED',
        error: `condition ${v.step.condition}: ${coerceError(err).message}`,
        skipCause: null,
      }
    }
  }
  let items: unknown[] | null = null
  if (v.step.forEach) {
    items = resolveItems(v.step, scope)
    if (!items) {
      return { state: 'FAILED', error: `forEach: ${v.step.forEach.items} is not a list`, skipCause: null }
    }
    if (items.length === 0) {
      return {
        state: 'SKIPPED',
        error: `forEach over an empty list (${v.step.forEach.items})`,
        skipCause: 'RULE',
      }
    }
    if (items.length > 10_000) {
      return { state: 'FAILED', error: `forEach over ${items.length} items: at most 10,000`, skipCause: null }
    }
  }
  return { items }
}

interface Start {
  v: StepView
  /** The forEach item this run is for, or null. */
  item: number | null
  items: unknown[] | null
}

/**
 * Starts runs of steps (one per forEach item); a bad parameter, or a child that cannot
 * start, fails that run without running it. Results are in the order of `starts`: each
 * run's state, and the row of a failed one, recorded here and not announced yet.
 */
async function launch(
  o: Ctx,
  scope: StepScope,
  starts: readonly Start[],
): Promise<{ state: RunState; recorded?: RunRow }[]> {
  const specs: (ChildSpec | Error)[] = starts.map(({ v, item, items }) => {
    const here: StepScope = items && item !== null ? { ...scope, item: items[item], itemIndex: item } : scope
    try {
      const parameters = Object.fromEntries(
        Object.entries(v.step.parameters).map(([k, t]) => [k, resolveTemplate(t, here)]),
      )
      return {
        step: v.index,
        item,
        parentAttempt: o.parent.attempt,
        parameters,
        ...(v.step.automationId ? { automationId: v.step.automationId } : {}),
        ...(v.step.sql ? { inline: inlineDefinition(v.step) } : {}),
        maxAttempts: v.step.retries !== undefined ? v.step.retries + 1 : undefined,
        timeoutMs: v.step.timeoutSeconds !== undefined ? v.step.timeoutSeconds * 1000 : undefined,
      }
    } catch (err) {
      return coerceError(err)
    }
  })
  const valid = specs.filter((s): s is ChildSpec => !(s instanceof Error))
  const queued = valid.length > 0 ? await o.launchChildren(valid) : []
  const out: { state: RunState; recorded?: RunRow }[] = []
  for (const [k, spec] of specs.entries()) {
    const result = spec instanceof Error ? spec : queued.shift()!
    if (!(result instanceof Error)) {
      out.push({ state: result.state })
      continue
    }
    const { v, item } = starts[k]!
    const row = await o.recordChild({ ...place(o, v), item, state: 'FAILED', error: result.message })
    out.push({ state: row.state, recorded: row })
  }
  return out
}

/** The definition a worker executes for an inline SQL step (its run-as user is the workflow run's). */
function inlineDefinition(step: WorkflowStep): Definition {
  return {
    name: step.name,
    kind: 'SQL',
    config: { datasource: step.sql!.datasource, statement: step.sql!.statement, maxRows: step.sql!.maxRows },
    parameters: [],
    timeoutMs: step.timeoutSeconds !== undefined ? step.timeoutSeconds * 1000 : null,
    retry: { maxAttempts: (step.retries ?? 0) + 1, backoffMs: 1000 },
    mutex: null,
    runAsUserId: null,
    allowAllUsersToRun: false,
    folderId: null,
  }
}

/** A failure is handled by a FAILURE or COMPLETION edge out of the step, or by "ignore failure". */
function unhandledFailures(config: WorkflowConfig, steps: readonly StepView[]): StepView[] {
  return steps.filter(
    (s) =>
      s.outcome === 'FAILED' &&
      !s.step.ignoreFailure &&
      !config.edges.some((e) => e.from === s.step.name && e.condition !== 'SUCCESS'),
  )
}

async function endWorkflow(o: Ctx, steps: readonly StepView[], scope: StepScope): Promise<RunRow[]> {
  const outputs = {
    steps: Object.fromEntries(steps.map((s) => [s.step.name, s.outcome])),
    variables: scope.variables,
  }
  const failed = unhandledFailures(o.config, steps)
  if (failed.length === 0) return o.end('SUCCEEDED', null, outputs)
  const why = failed.map((s) => {
    const row = s.rows.find((r) => outcomeOf(r) === 'FAILED')
    return `${s.step.name} ${row?.state ?? 'FAILED'}${row?.error ? `: ${row.error}` : ''}`
  })
  return o.end('FAILED', `step ${why.join('; ')}`, outputs)
}

/** Cancelled (or timed out): every running step has ended; the rest are recorded SKIPPED. */
async function endCancelled(o: Ctx, steps: readonly StepView[]): Promise<RunRow[]> {
  const reason = o.parent.cancel_requested!
  const changed: RunRow[] = []
  for (const v of steps) {
    if (v.status !== 'PENDING') continue
    changed.push(
      await o.recordChild({
        ...place(o, v),
        state: 'SKIPPED',
        error: `the workflow was ${reason === TIMEOUT_REASON ? 'timed out' : 'cancelled'}`,
        skipCause: 'CANCELLED',
      }),
    )
  }
  const state = reason === TIMEOUT_REASON ? 'TIMED_OUT' : 'CANCELLED'
  return [...changed, ...(await o.end(state, reason))]
}

/**
 * Before a rerun: the steps that will run again are the failed ones (or the chosen one)
 * and everything downstream of them; every other step keeps its decision and outputs,
 * carried into the new attempt.
 */
async function prepareRerun(o: Ctx, fromStep: string | null): Promise<void> {
  const { order } = o.plan
  const children = (await o.children()).filter((c) => c.parent_attempt === o.parent.attempt)
  const { steps } = viewSteps(o.config, order, children, o.parent.parameters)
  const again = new Set<string>()
  if (fromStep !== null) again.add(fromStep)
  else {
    for (const s of steps) {
      const cancelled = s.rows.some((r) => r.skip_cause === 'CANCELLED')
      if (s.outcome === 'FAILED' || cancelled || s.status !== 'SETTLED') again.add(s.step.name)
    }
  }
  for (const i of order) {
    const name = o.config.steps[i]!.name
    if (o.config.edges.some((e) => e.to === name && again.has(e.from))) again.add(name)
  }
  const kept = steps.filter((s) => !again.has(s.step.name)).map((s) => s.index)
  await o.tx.query(
    `update runs set parent_attempt = parent_attempt + 1
     where parent_run_id = $1 and parent_attempt = $2 and step = any($3::int[])`,
    [o.parent.id, o.parent.attempt, kept],
  )
}

export const workflowOrchestrator: Orchestrator<WorkflowConfig, WorkflowPlan> = {
  readsChildren: true,
  plan: planWorkflow,
  // Whichever way the step ended, its successors are the guess; one whose edge or rule does
  // not let it run only costs its read.
  nextAutomations: (_config, plan, { step }) => (step === null ? [] : (plan.nextAutomations[step] ?? [])),
  start: advance,
  async childrenFinished(o, ended) {
    // Children of an earlier attempt (ended after a rerun began) change nothing.
    if (!ended.some((c) => c.parent_attempt === o.parent.attempt)) return []
    return (await nextOfOne(o, ended)) ?? advance(o)
  },
  movesOnAlone(config, plan, ended) {
    const [child] = ended
    if (ended.length !== 1 || !child || child.step === null || child.item !== null) return false
    const outcome = child.state === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED'
    return quickNext(config, plan, child.step, outcome) !== undefined
  },
  inlineStep(config, _parent, step) {
    const s = config.steps[step]
    return s?.sql ? inlineDefinition(s) : undefined
  },
  prepareRerun,
}
