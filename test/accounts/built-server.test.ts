import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type NodeProcess, spawnNode } from '../helpers/processes'

// `npm start` runs the server built into server/dist (no tsx: W8's idle memory). Every file a
// module finds by its own location must still be found from there: the migrations, the sandbox
// runner, the embedded warehouse's worker, PGlite's initdb thread.
const server = fileURLToPath(new URL('../../server', import.meta.url))
const dataDir = mkdtempSync(join(tmpdir(), 'sy-built-'))
const ADMIN = { e: 'admin@switchyard.test', p: 'admin-password' }
let node: NodeProcess | undefined

beforeAll(() => {
  execFileSync(process.execPath, [join(server, 'bin/build-server.mjs')], { stdio: 'pipe' })
})
afterAll(async () => {
  await node?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

async function gql<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${node!.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await res.json()) as { data?: T; errors?: unknown }
  if (!body.data) throw new Error(JSON.stringify(body))
  return body.data
}

const login = async () =>
  (
    await gql<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ... on LoginPayload { token } } }',
      ADMIN,
    )
  ).login.token

/** Creates and runs an automation, and waits for the run's final state. */
async function runToEnd(token: string, input: Record<string, unknown>) {
  const created = await gql<{ createAutomation: { automation?: { id: string } } }>(
    'mutation($i: AutomationInput!) { createAutomation(input: $i) { ... on CreateAutomationSuccess { automation { id } } ... on Error { message } } }',
    { i: input },
    token,
  )
  const { runAutomation } = await gql<{ runAutomation: { run: { id: string } } }>(
    'mutation($id: ID!) { runAutomation(id: $id) { ... on RunAutomationSuccess { run { id } } } }',
    { id: created.createAutomation.automation!.id },
    token,
  )
  for (let i = 0; i < 300; i++) {
    const { run } = await gql<{ run: { state: string; outputs: unknown; error: string | null } }>(
      'query($id: ID!) { run(id: $id) { state outputs error } }',
      { id: runAutomation.run.id },
      token,
    )
    if (!['QUEUED', 'WAITING', 'RUNNING'].includes(run.state)) return run
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the run did not finish in 30 s')
}

describe('the built server (npm start)', () => {
  it('starts on a new embedded database, runs scripts and warehouse SQL, and opens it again', {
    timeout: 240_000,
  }, async () => {
    expect(existsSync(join(server, 'dist/main.js'))).toBe(true)
    node = await spawnNode({ databaseUrl: undefined, role: 'api,worker,scheduler', built: true, dataDir })
    const token = await login()
    const script = await runToEnd(token, {
      name: 'script',
      kind: 'SCRIPT',
      config: { code: 'return { sum: 1 + 2 }' },
    })
    expect(script).toMatchObject({ state: 'SUCCEEDED', outputs: { sum: 3 } })
    // The Python runner and the modules beside it are copied into dist/ and compiled from there.
    const python = await runToEnd(token, {
      name: 'python',
      kind: 'SCRIPT',
      config: { language: 'python', code: 'set_output("sum", 1 + 2)' },
    })
    expect(python).toMatchObject({ state: 'SUCCEEDED', outputs: { sum: 3 } })
    const sql = await runToEnd(token, {
      name: 'sql',
      kind: 'SQL',
      config: { statement: 'select 41 + 1 as answer' },
    })
    expect(sql).toMatchObject({ state: 'SUCCEEDED' })
    expect(JSON.stringify(sql.outputs)).toContain('42')
    expect(await node.stop()).toBe(0)

    // The second start opens the database the first one created (no initdb): same admin, same runs.
    node = await spawnNode({ databaseUrl: undefined, role: 'api,worker,scheduler', built: true, dataDir })
    const again = await login()
    const { automations } = await gql<{ automations: { edges: { node: { name: string } }[] } }>(
      'query { automations { edges { node { name } } } }',
      {},
      again,
    )
    expect(automations.edges.map((e) => e.node.name).sort()).toEqual(['python', 'script', 'sql'])
  })
})
