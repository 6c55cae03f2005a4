import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import type { TestServer } from '../helpers/server'

export const WORKFLOW_RUN = `query($id: ID!) { run(id: $id) { id state error outputs attempt
  edges { from to condition }
  steps { name index state skipCause skipReason error warning attempt items outputs startedAt finishedAt
    runs { id state attempt parameters outputs } } } }`

export interface StepDetail {
  name: string
  index: number
  state: string
  skipCause: string | null
  skipReason: string | null
  error: string | null
  warning: string | null
  attempt: number
  items: number | null
  outputs: Record<string, unknown> | null
  startedAt: string | null
  finishedAt: string | null
  runs: {
    id: string
    state: string
    attempt: number
    parameters: Record<string, unknown>
    outputs: unknown
  }[]
}

export interface WorkflowRunDetail {
  id: string
  state: string
  error: string | null
  outputs: { steps: Record<string, string>; variables: Record<string, unknown> } | null
  attempt: number
  steps: StepDetail[]
}

/** Creates a WORKFLOW automation; returns its id. */
export function createWorkflow(
  s: TestServer,
  token: string,
  name: string,
  config: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return createAutomation(s, token, { name, kind: 'WORKFLOW', config, ...extra })
}

/** Runs a workflow to its end and returns it with its steps. */
export async function runWorkflow(
  s: TestServer,
  token: string,
  id: string,
  parameters?: unknown,
  timeoutMs = 60_000,
): Promise<WorkflowRunDetail> {
  const runId = await runAutomation(s, token, id, parameters)
  await waitForRun(s, token, runId, undefined, timeoutMs)
  return workflowRun(s, token, runId)
}

export async function workflowRun(s: TestServer, token: string, runId: string): Promise<WorkflowRunDetail> {
  const r = await s.gql<{ run: WorkflowRunDetail }>(WORKFLOW_RUN, { id: runId }, { token })
  if (!r.data?.run) throw new Error(`run ${runId}: ${JSON.stringify(r)}`)
  return r.data.run
}

export const stepOf = (run: WorkflowRunDetail, name: string): StepDetail => {
  const step = run.steps.find((x) => x.name === name)
  if (!step) throw new Error(`no step ${name} in ${JSON.stringify(run.steps.map((x) => x.name))}`)
  return step
}

/** Step states by name. */
export const statesOf = (run: WorkflowRunDetail): Record<string, string> =>
  Object.fromEntries(run.steps.map((x) => [x.name, x.state]))
