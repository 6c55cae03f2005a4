import { RUN_FIELDS } from '$lib/api/fragments'
import { request } from '$lib/api/graphql'
import type { Connection, JsonObject, Run, RunDetail, RunLogLine } from '$lib/api/types'
import type { RunFilterArgs } from './filter'

type Fetch = typeof fetch

export async function listRuns(
  opts: RunFilterArgs & { first?: number; after?: string; topLevelOnly?: boolean },
  fetchFn?: Fetch,
): Promise<Connection<Run>> {
  const data = await request<{ runs: Connection<Run> }>(
    `query Runs($automationId: ID, $states: [RunState!], $since: DateTime, $until: DateTime, $first: Int, $after: String, $topLevelOnly: Boolean) {
      runs(automationId: $automationId, states: $states, since: $since, until: $until, first: $first, after: $after, topLevelOnly: $topLevelOnly) {
        edges { cursor node { ${RUN_FIELDS} } }
        pageInfo { hasNextPage endCursor }
      }
    }`,
    { first: 50, ...opts },
    fetchFn,
  )
  return data.runs
}

/** Automations to filter runs by: every one the viewer may see, in name order, 200 per request. */
export async function automationChoices(fetchFn?: Fetch): Promise<{ id: string; name: string }[]> {
  const out: { id: string; name: string }[] = []
  let after: string | null = null
  do {
    const data: { automations: Connection<{ id: string; name: string }> } = await request(
      `query AutomationChoices($after: String) {
        automations(first: 200, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } }
      }`,
      { after },
      fetchFn,
    )
    out.push(...data.automations.edges.map((e) => e.node))
    after = data.automations.pageInfo.hasNextPage ? data.automations.pageInfo.endCursor : null
  } while (after)
  return out
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

/** A workflow run's step names by the id of each run of the step (its current attempt's); empty for a chain. */
export async function workflowStepNames(id: string): Promise<Map<string, string>> {
  const data = await request<{ run: { steps: { name: string; runs: { id: string }[] }[] | null } | null }>(
    'query WorkflowStepNames($id: ID!) { run(id: $id) { steps { name runs { id } } } }',
    { id },
  )
  return new Map((data.run?.steps ?? []).flatMap((s) => s.runs.map((r) => [r.id, s.name] as const)))
}
