import { RESULT_ERRORS, mutate, type Outcome } from '$lib/api/graphql'
import { RUN_FIELDS } from '$lib/api/fragments'
import type { JsonObject, Run } from '$lib/api/types'

/** Starts a manual run; a busy mutex with policy SKIP comes back as a failure naming it. */
export function runAutomation(opts: { id: string; parameters?: JsonObject }): Promise<Outcome<Run>> {
  return mutate<Run>({
    query: `mutation Run($id: ID!, $parameters: JSON) {
      runAutomation(id: $id, parameters: $parameters) { ${RESULT_ERRORS} ... on RunAutomationSuccess { run { ${RUN_FIELDS} } } }
    }`,
    variables: { id: opts.id, parameters: opts.parameters ?? {} },
    field: 'runAutomation',
    key: 'run',
  })
}

export function cancelRun(id: string): Promise<Outcome<Run>> {
  return mutate<Run>({
    query: `mutation Cancel($id: ID!) { cancelRun(id: $id) { ${RESULT_ERRORS} ... on CancelRunSuccess { run { ${RUN_FIELDS} } } } }`,
    variables: { id },
    field: 'cancelRun',
    key: 'run',
  })
}

export function retryRun(id: string): Promise<Outcome<Run>> {
  return mutate<Run>({
    query: `mutation Retry($id: ID!) { retryRun(id: $id) { ${RESULT_ERRORS} ... on RetryRunSuccess { run { ${RUN_FIELDS} } } } }`,
    variables: { id },
    field: 'retryRun',
    key: 'run',
  })
}

/** Every change of the runs selected by the variables (one run, one automation, or all). */
export const RUN_UPDATED = `subscription RunUpdated($runId: ID, $automationId: ID) {
  runUpdated(runId: $runId, automationId: $automationId) { ${RUN_FIELDS} }
}`

/** One run's changes with what the run page shows beyond the list fields. */
export const RUN_DETAIL_UPDATED = `subscription RunDetailUpdated($runId: ID!) {
  runUpdated(runId: $runId) { ${RUN_FIELDS} outputs }
}`

export const RUN_LOG = `subscription RunLog($runId: ID!, $afterId: ID) {
  runLog(runId: $runId, afterId: $afterId) { id at level message }
}`
