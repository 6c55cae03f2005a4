import type { Json, JsonObject } from '$lib/api/types'
import { valueToText } from '$lib/automations/parameters'
// The config's shape has one source, the server's schema of the WORKFLOW kind (types only:
// nothing of the server is bundled).
import type {
  EdgeCondition,
  TriggerRule,
  WorkflowEdge,
  WorkflowStepInput,
} from '../../../../server/src/kinds/workflow/config'

/** Every value of `T` listed (a compile error names the ones missing). */
const every =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([Exclude<T, L[number]>] extends [never] ? unknown : never)) =>
    list

export const RULES = every<TriggerRule>()([
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
])
export const CONDITIONS = every<EdgeCondition>()(['SUCCESS', 'FAILURE', 'COMPLETION'])

/** A step parameter as edited: its name and its text (a `${...}` template, a number, true/false). */
export interface DraftParameter {
  name: string
  text: string
}

/** A step as edited: the saved shape, with its parameters as rows and empty numbers as null. */
export type DraftStep = Omit<WorkflowStepInput, 'parameters' | 'retries' | 'timeoutSeconds'> & {
  retries?: number | null
  timeoutSeconds?: number | null
  /** The step's `parameters` object, as rows while it is edited. */
  parameters: DraftParameter[]
}
export type DraftEdge = WorkflowEdge
export interface DraftVariable {
  name: string
  text: string
}
export interface Draft {
  steps: DraftStep[]
  edges: DraftEdge[]
  variables: DraftVariable[]
  /** Steps of one run at once; empty keeps the server's default. */
  concurrency: number | null
  rest: JsonObject
}

/** Text back to a value: a JSON number, true, false or null stays one; anything else is a string. */
export function textValue(text: string, empty: Json = ''): Json {
  const t = text.trim()
  if (t === '') return empty
  if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(t)) return JSON.parse(t) as Json
  return text
}

/** The editable part of a WORKFLOW config; everything else is kept as it was. */
export function toDraft(config: JsonObject): Draft {
  const { steps, edges, variables, concurrency, ...rest } = config as {
    steps?: { parameters?: Record<string, unknown> }[]
    edges?: DraftEdge[]
    variables?: { name: string; default?: unknown }[]
    concurrency?: number
  }
  return {
    steps: structuredClone(steps ?? []).map(
      (s) =>
        ({
          ...s,
          parameters: Object.entries(s.parameters ?? {}).map(([name, v]) => ({
            name,
            text: valueToText(v as Json),
          })),
        }) as DraftStep,
    ),
    edges: (edges ?? []).map((e) => ({ ...e, condition: e.condition ?? 'SUCCESS' })),
    variables: (variables ?? []).map((v) => ({ name: v.name, text: valueToText(v.default as Json) })),
    concurrency: concurrency ?? null,
    rest: rest as JsonObject,
  }
}

const given = (n: number | null | undefined): n is number => typeof n === 'number' && Number.isFinite(n)

/** The config to save: empty optional fields are left out, so the server's defaults apply. */
export function fromDraft(d: Draft): JsonObject {
  const steps = d.steps.map(({ parameters, forEach, saveAs, retries, timeoutSeconds, ...s }) => ({
    ...s,
    parameters: Object.fromEntries(
      parameters.filter((p) => p.name.trim()).map((p) => [p.name.trim(), textValue(p.text)]),
    ),
    ...(forEach?.items.trim() ? { forEach } : {}),
    ...(saveAs?.variable.trim() ? { saveAs } : {}),
    ...(given(retries) ? { retries } : {}),
    ...(given(timeoutSeconds) ? { timeoutSeconds } : {}),
  }))
  return {
    ...d.rest,
    steps,
    edges: d.edges,
    variables: d.variables.map((v) => ({ name: v.name.trim(), default: textValue(v.text, null) })),
    ...(given(d.concurrency) ? { concurrency: d.concurrency } : {}),
  } as unknown as JsonObject
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
