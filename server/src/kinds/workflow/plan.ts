import type { WorkflowConfig } from './config'
import { templateReferences } from './scope'
import { topologicalOrder } from './view'

/** Each step's incoming edges with the index of their parent step, by step name. */
export type IncomingEdges = Map<string, { from: number; edge: WorkflowConfig['edges'][number] }[]>

/** What moving a workflow on needs from its config beyond the config: built once per version. */
export interface WorkflowPlan {
  /** Step indices, every parent before its children. */
  order: number[]
  incoming: IncomingEdges
  /** By step index: the indices of the steps its edges lead to. */
  successors: number[][]
  /** By step index: the automations of those steps (inline steps have none). */
  nextAutomations: string[][]
  /**
   * By step index: whether the step can be started from its one parent's outcome alone (see
   * quickSteps); false everywhere in a workflow where a step can wait for a free slot.
   */
  quick: boolean[]
}

export function planWorkflow(config: WorkflowConfig): WorkflowPlan {
  const index = new Map(config.steps.map((s, i) => [s.name, i]))
  const incoming: IncomingEdges = new Map()
  const successors: number[][] = config.steps.map(() => [])
  for (const edge of config.edges) {
    const from = index.get(edge.from)!
    incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), { from, edge }])
    successors[from]!.push(index.get(edge.to)!)
  }
  return {
    order: topologicalOrder(config),
    incoming,
    successors,
    nextAutomations: successors.map((next) => [
      ...new Set(next.flatMap((t) => config.steps[t]!.automationId ?? [])),
    ]),
    quick: quickSteps(config, incoming),
  }
}

/**
 * Steps whose decision, once their only parent has ended, needs nothing but that parent's
 * outcome: one incoming edge, a rule that waits for it (not ALWAYS, which starts at once),
 * no run condition, no forEach, parameters that read only the workflow's own parameters.
 * And only in a workflow where no step ever waits for a slot (no forEach anywhere, a
 * concurrency limit above its step count): otherwise a step's end can also free a slot for
 * a step elsewhere, which only a look at every step finds.
 */
function quickSteps(config: WorkflowConfig, incoming: IncomingEdges): boolean[] {
  const slotsBind = config.concurrency < config.steps.length || config.steps.some((s) => s.forEach)
  return config.steps.map(
    (s) =>
      !slotsBind &&
      incoming.get(s.name)?.length === 1 &&
      s.rule !== 'ALWAYS' &&
      s.condition === undefined &&
      Object.values(s.parameters).every((t) => templateReferences(t).every((n) => n.startsWith('params.'))),
  )
}
