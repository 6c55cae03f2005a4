import type { ChildRow } from '../../engine/run-row'
import type { WorkflowConfig, WorkflowStep } from './config'
import type { StepOutcome } from './rules'
import { type StepScope, lookup, savedValue } from './scope'

/** One step of one attempt of a workflow run, as its child runs show it. */
/** R: the child rows as read (the engine reads ChildRow; the API reads whole runs). */
export interface StepView<R extends ChildRow = ChildRow> {
  index: number
  step: WorkflowStep
  /** Child runs deciding this step in the current attempt (forEach: one per started item). */
  rows: R[]
  status: 'PENDING' | 'ACTIVE' | 'SETTLED'
  /** The step's own outcome once settled (an ignored failure stays FAILED here). */
  outcome: StepOutcome | null
  outputs: Record<string, unknown> | null
  /** forEach steps that run: the items, when they could be resolved. */
  items: unknown[] | null
}

const FAILED_STATES = ['FAILED', 'TIMED_OUT', 'CANCELLED']

export function outcomeOf(row: ChildRow): StepOutcome | null {
  if (row.state === 'SUCCEEDED') return 'SUCCEEDED'
  if (FAILED_STATES.includes(row.state)) return 'FAILED'
  if (row.state === 'SKIPPED') return row.skip_cause === 'UPSTREAM_FAILED' ? 'UPSTREAM_FAILED' : 'SKIPPED'
  return null
}

/** A step as seen before its rows are read: PENDING, with the rows given (none yet, or its runs). */
export function pendingView<R extends ChildRow>(
  config: WorkflowConfig,
  index: number,
  rows: R[] = [],
): StepView<R> {
  return {
    index,
    step: config.steps[index]!,
    rows,
    status: 'PENDING',
    outcome: null,
    outputs: null,
    items: null,
  }
}

/** Steps in an order where every parent comes before its children (the graph was checked acyclic at save). */
export function topologicalOrder(config: WorkflowConfig): number[] {
  const index = new Map(config.steps.map((s, i) => [s.name, i]))
  const indegree = config.steps.map(() => 0)
  for (const e of config.edges) indegree[index.get(e.to)!]!++
  const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []))
  const order: number[] = []
  while (ready.length > 0) {
    const i = ready.shift()!
    order.push(i)
    for (const e of config.edges) {
      if (e.from !== config.steps[i]!.name) continue
      const j = index.get(e.to)!
      if (--indegree[j]! === 0) ready.push(j)
    }
  }
  return order
}

/**
 * Reads the state of every step from the children of the current attempt. Settled
 * steps feed the scope of later ones; variables take their defaults, then what
 * steps saved, in the order the steps finished.
 */
export function viewSteps<R extends ChildRow>(
  config: WorkflowConfig,
  order: readonly number[],
  children: readonly R[],
  params: Record<string, unknown>,
): { steps: StepView<R>[]; scope: StepScope } {
  const byStep = new Map<number, R[]>()
  for (const c of children) {
    if (c.step === null) continue
    byStep.set(c.step, [...(byStep.get(c.step) ?? []), c])
  }
  const scope: StepScope = {
    params,
    variables: Object.fromEntries(config.variables.map((v) => [v.name, v.default])),
    steps: {},
  }
  const steps: StepView<R>[] = config.steps.map((_, index) =>
    pendingView(
      config,
      index,
      (byStep.get(index) ?? []).sort((a, b) => (a.step_item ?? -1) - (b.step_item ?? -1)),
    ),
  )
  const saved: { at: number; name: string; value: unknown }[] = []
  for (const i of order) {
    const v = steps[i]!
    if (v.rows.length === 0) continue
    const single = v.rows.length === 1 && v.rows[0]!.step_item === null ? v.rows[0]! : null
    if (single) {
      v.outcome = outcomeOf(single)
      v.outputs = (single.outputs as Record<string, unknown> | null) ?? null
      v.status = v.outcome ? 'SETTLED' : 'ACTIVE'
    } else {
      v.items = resolveItems(v.step, scope)
      const ended = v.rows.map(outcomeOf)
      const started = v.rows.length
      v.status =
        ended.every((o) => o !== null) && started >= (v.items?.length ?? started) ? 'SETTLED' : 'ACTIVE'
      if (v.status === 'SETTLED') {
        v.outcome = ended.every((o) => o === 'SUCCEEDED') ? 'SUCCEEDED' : 'FAILED'
        v.outputs = { items: v.rows.map((r) => r.outputs ?? null) }
      }
    }
    if (v.status !== 'SETTLED') continue
    scope.steps[v.step.name] = {
      outcome: v.outcome!,
      outputs: v.outputs,
      ignoredFailure: v.outcome === 'FAILED' && v.step.ignoreFailure,
    }
    if (v.step.saveAs && v.outcome === 'SUCCEEDED') {
      const finished = Math.max(...v.rows.map((r) => new Date(r.finished_at ?? 0).getTime()))
      saved.push({
        at: finished,
        name: v.step.saveAs.variable,
        value: savedValue(v.outputs, v.step.saveAs.value),
      })
    }
  }
  for (const s of saved.sort((a, b) => a.at - b.at)) scope.variables[s.name] = s.value
  return { steps, scope }
}

/** The list a forEach step runs over, or null when it cannot be read (the step then fails). */
export function resolveItems(step: WorkflowStep, scope: StepScope): unknown[] | null {
  if (!step.forEach) return null
  const ref = step.forEach.items.replace(/^\$\{(.*)\}$/, '$1')
  try {
    const v = lookup(scope, ref)
    return Array.isArray(v) ? v : null
  } catch {
    return null
  }
}
