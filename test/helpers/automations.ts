import { type TestServer, collect } from './server'

export const CREATE = `mutation($i: AutomationInput!) { createAutomation(input: $i) {
  __typename ... on CreateAutomationSuccess { automation { id version } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

export const RUN = `mutation($id: ID!, $p: JSON) { runAutomation(id: $id, parameters: $p) {
  __typename ... on RunAutomationSuccess { run { id state position } }
  ... on ValidationError { message issues { path message } } ... on MutexBusyError { message runId } ... on Error { message } } }`

export const RUN_DETAIL = `query($id: ID!) { run(id: $id) { id state error outputs attempt version triggerSource parameters position
  startedAt finishedAt triggeredBy { email } runAs { email }
  logs { level message } children { step state error automationId } } }`

/** Creates an automation and returns its id (fails the test on any error). */
export async function createAutomation(
  s: TestServer,
  token: string,
  input: Record<string, unknown>,
): Promise<string> {
  const r = await s.gql<{ createAutomation: { automation?: { id: string }; message?: string } }>(
    CREATE,
    { i: input },
    { token },
  )
  const id = r.data?.createAutomation.automation?.id
  if (!id) throw new Error(`createAutomation failed: ${JSON.stringify(r)}`)
  return id
}

export async function runAutomation(
  s: TestServer,
  token: string,
  id: string,
  parameters?: unknown,
): Promise<string> {
  const r = await s.gql<{ runAutomation: { run?: { id: string }; message?: string } }>(
    RUN,
    { id, p: parameters },
    { token },
  )
  const runId = r.data?.runAutomation.run?.id
  if (!runId) throw new Error(`runAutomation failed: ${JSON.stringify(r)}`)
  return runId
}

export interface RunDetail {
  id: string
  state: string
  error: string | null
  outputs: Record<string, unknown> | null
  attempt: number
  version: number
  triggerSource: string
  parameters: Record<string, unknown>
  position: number | null
  startedAt: string | null
  finishedAt: string | null
  triggeredBy: { email: string } | null
  runAs: { email: string } | null
  logs: { level: string; message: string }[]
  children: { step: number; state: string; error: string | null; automationId: string }[]
}

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED']

/** Polls run(id) until it reaches a final state (or `states`), failing after timeoutMs. */
export async function waitForRun(
  s: TestServer,
  token: string,
  id: string,
  states = FINAL,
  timeoutMs = 30_000,
): Promise<RunDetail> {
  const deadline = Date.now() + timeoutMs
  let last: RunDetail | undefined
  while (Date.now() < deadline) {
    const r = await s.gql<{ run: RunDetail | null }>(RUN_DETAIL, { id }, { token })
    last = r.data?.run ?? undefined
    if (last && states.includes(last.state)) return last
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(
    `run ${id} did not reach ${states.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  )
}

/**
 * Checks states seen live by a subscriber that keeps up: every state of the lifecycle,
 * in order, each once (a lagging one may be coalesced, but these tests keep up).
 */
export function expectLifecycle(seen: string[], lifecycle: string[]): void {
  if (JSON.stringify(seen) !== JSON.stringify(lifecycle)) {
    throw new Error(
      `states ${JSON.stringify(seen)} are not every state of ${JSON.stringify(lifecycle)}, in order`,
    )
  }
}

/**
 * Runs one automation while watching it over graphql-ws: its run states until
 * SUCCEEDED (checked with expectLifecycle) and the first `lines` log lines of the run.
 */
export async function runWatched(
  s: TestServer,
  token: string,
  automationId: string,
  lines: number,
): Promise<{ runId: string; lines: string[] }> {
  const client = s.wsClient(token)
  const states = collect<{ runUpdated: { state: string } }>(
    client,
    'subscription($a: ID!) { runUpdated(automationId: $a) { id state } }',
    { a: automationId },
    (items) => items.some((i) => i.runUpdated.state === 'SUCCEEDED'),
  )
  // graphql-ws does not confirm a subscription: give the server a moment to register it.
  await new Promise((r) => setTimeout(r, 500))
  const runId = await runAutomation(s, token, automationId)
  const log = collect<{ runLog: { message: string } }>(
    client,
    'subscription($r: ID!) { runLog(runId: $r, afterId: "0") { message } }',
    { r: runId },
    (items) => items.length >= lines,
  )
  expectLifecycle(
    (await states).map((i) => i.runUpdated.state),
    ['QUEUED', 'RUNNING', 'SUCCEEDED'],
  )
  return { runId, lines: (await log).map((l) => l.runLog.message) }
}
