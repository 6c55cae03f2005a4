import type { JsonObject } from '$lib/api/types'

export const RULES = [
  'ALL_SUCCESS',
  'ALL_FAILED',
  'ALL_DONE',
  'ONE_SUCCESS',
  'ONE_FAILED',
  'ONE_DONE',
  'NONE_FAILED',
  'NONE_FAILED_MIN_ONE_SUCCESS',
  'NONE_SKIPPED',
  'ALWAYS',
] as const
export const CONDITIONS = ['SUCCESS', 'FAILURE', 'COMPLETION'] as const

export interface DraftStep {
  name: string
  automationId?: string
  sql?: { statement: string }
  rule?: string
  condition?: string
  ignoreFailure?: boolean
  [key: string]: unknown
}
export interface DraftEdge {
  from: string
  to: string
  condition: (typeof CONDITIONS)[number]
}
export interface Draft {
  steps: DraftStep[]
  edges: DraftEdge[]
  rest: JsonObject
}

/** The editable part of a WORKFLOW config; everything else is kept as it was. */
export function toDraft(config: JsonObject): Draft {
  const { steps, edges, ...rest } = config as { steps?: DraftStep[]; edges?: DraftEdge[] }
  return {
    steps: structuredClone(steps ?? []),
    edges: (edges ?? []).map((e) => ({ ...e, condition: e.condition ?? 'SUCCESS' })),
    rest: rest as JsonObject,
  }
}

export function fromDraft(d: Draft): JsonObject {
  return { ...d.rest, steps: d.steps, edges: d.edges } as unknown as JsonObject
}

/**
 * The server's validation issues placed on what they name: `config.steps.3.rule` on
 * step 3, `config.edges.1.to` on edge 1; the rest on the workflow as a whole.
 */
export function placeIssues(
  d: Draft,
  issues: { path: string; message: string }[],
): { steps: Map<string, string[]>; edges: Map<number, string[]>; general: string[] } {
  const steps = new Map<string, string[]>()
  const edges = new Map<number, string[]>()
  const general: string[] = []
  for (const issue of issues) {
    const step = /^config\.steps\.(\d+)/.exec(issue.path)
    const edge = /^config\.edges\.(\d+)/.exec(issue.path)
    const name = step ? d.steps[Number(step[1])]?.name : undefined
    if (name) steps.set(name, [...(steps.get(name) ?? []), issue.message])
    else if (edge) edges.set(Number(edge[1]), [...(edges.get(Number(edge[1])) ?? []), issue.message])
    else general.push(`${issue.path}: ${issue.message}`)
  }
  return { steps, edges, general }
}
