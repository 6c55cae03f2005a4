import { RUN_FIELDS } from '$lib/api/fragments'
import { request } from '$lib/api/graphql'
import type { Connection, JsonObject, Run, RunDetail, RunLogLine, RunState } from '$lib/api/types'

type Fetch = typeof fetch

export async function listRuns(
  opts: {
    automationId?: string
    states?: RunState[]
    first?: number
    after?: string
    topLevelOnly?: boolean
  },
  fetchFn?: Fetch,
): Promise<Connection<Run>> {
  const data = await request<{ runs: Connection<Run> }>(
    `query Runs($automationId: ID, $states: [RunState!], $first: Int, $after: String, $topLevelOnly: Boolean) {
      runs(automationId: $automationId, states: $states, first: $first, after: $after, topLevelOnly: $topLevelOnly) {
        edges { cursor node { ${RUN_FIELDS} } }
        pageInfo { hasNextPage endCursor }
      }
    }`,
    { first: 50, ...opts },
    fetchFn,
  )
  return data.runs
}

export interface RunWithLogs extends RunDetail {
  logs: RunLogLine[]
  /** The automation's current config (a chain's step list), when visible. */
  definition: { config: JsonObject } | null
}

/** One run with its first log lines, its chain steps and what it was given and produced. */
export async function getRun(id: string, fetchFn?: Fetch): Promise<RunWithLogs | null> {
  const data = await request<{ run: RunWithLogs | null }>(
    `query RunDetail($id: ID!) {
      run(id: $id) {
        ${RUN_FIELDS}
        parameters outputs
        definition: automation { config }
        children { ${RUN_FIELDS} }
        logs(first: 1000) { id at level message }
      }
    }`,
    { id },
    fetchFn,
  )
  return data.run
}

export async function moreLogs(id: string, afterId: string | undefined): Promise<RunLogLine[]> {
  const data = await request<{ run: { logs: RunLogLine[] } | null }>(
    'query RunLogs($id: ID!, $afterId: ID) { run(id: $id) { logs(afterId: $afterId, first: 1000) { id at level message } } }',
    { id, afterId },
  )
  return data.run?.logs ?? []
}

/** A run's current state, outputs and steps, without its logs (a catch-up after subscribing). */
export async function refreshRun(id: string): Promise<RunDetail | null> {
  const data = await request<{ run: RunDetail | null }>(
    `query RunRefresh($id: ID!) { run(id: $id) { ${RUN_FIELDS} parameters outputs children { ${RUN_FIELDS} } } }`,
    { id },
  )
  return data.run
}
