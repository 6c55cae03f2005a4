import dagre from '@dagrejs/dagre'
import type { Node } from '@xyflow/svelte'
import { request } from '$lib/api/graphql'

export interface GraphStep {
  name: string
  state: string
  skipCause: string | null
  skipReason: string | null
  error: string | null
  warning: string | null
  items: number | null
  runs: { id: string; state: string }[]
}
export interface GraphEdge {
  from: string
  to: string
  condition: 'SUCCESS' | 'FAILURE' | 'COMPLETION'
}

/** A workflow run's steps and edges (a chain's steps, as a line of steps). */
export async function loadGraph(runId: string): Promise<{ steps: GraphStep[]; edges: GraphEdge[] } | null> {
  const data = await request<{
    run: {
      steps: GraphStep[] | null
      edges: GraphEdge[] | null
      children: {
        id: string
        state: string
        step: number | null
        error: string | null
        automation: { name: string } | null
      }[]
    } | null
  }>(
    `query WorkflowGraph($id: ID!) { run(id: $id) {
      steps { name state skipCause skipReason error warning items runs { id state } }
      edges { from to condition }
      children { id state step error automation { name } } } }`,
    { id: runId },
  )
  const run = data.run
  if (!run) return null
  if (run.steps && run.edges) return { steps: run.steps, edges: run.edges }
  // A chain: its children in order, each joined to the next on success.
  const steps = run.children.map((c, i) => ({
    name: `${(c.step ?? i) + 1}. ${c.automation?.name ?? 'step'}`,
    state: c.state,
    skipCause: null,
    skipReason: c.state === 'SKIPPED' ? c.error : null,
    error: c.state === 'SKIPPED' ? null : c.error,
    warning: null,
    items: null,
    runs: [{ id: c.id, state: c.state }],
  }))
  const edges = steps
    .slice(1)
    .map((s, i) => ({ from: steps[i]!.name, to: s.name, condition: 'SUCCESS' as const }))
  return { steps, edges }
}

export const NODE_WIDTH = 200
export const NODE_HEIGHT = 64

/** Positions for every step, left to right, laid out by dagre. */
function layout(
  steps: readonly GraphStep[],
  edges: readonly GraphEdge[],
): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const s of steps) g.setNode(s.name, { width: NODE_WIDTH, height: NODE_HEIGHT })
  for (const e of edges) g.setEdge(e.from, e.to)
  dagre.layout(g)
  return new Map(
    steps.map((s) => {
      const n = g.node(s.name)
      return [s.name, { x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2 }]
    }),
  )
}

/**
 * The graph's nodes, laid out, each keeping the size Svelte Flow measured for it last time.
 * A node without `measured` is measured again, and until then its edges are not drawn: every
 * live update would make all edges blink out (a Chromium test caught the graph with none).
 */
export function stepNodes(
  steps: readonly GraphStep[],
  edges: readonly GraphEdge[],
  previous: readonly Node[],
): Node[] {
  const at = layout(steps, edges)
  const measured = new Map(previous.map((n) => [n.id, n.measured]))
  return steps.map((s) => ({
    id: s.name,
    type: 'step',
    position: at.get(s.name)!,
    measured: measured.get(s.name),
    data: { step: s },
  }))
}
