import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { killAllNodes, spawnNode } from '../helpers/processes'
import { type TestServer, startTestServer } from '../helpers/server'

let database: TestDatabase
let s: TestServer
let org: TestOrg
let token: string

beforeAll(async () => {
  database = await testDatabase()
  s = await startTestServer({ database, env: { SWITCHYARD_ROLES: 'api' } })
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterEach(() => killAllNodes())
afterAll(async () => {
  await s?.stop()
  await database?.drop()
})

const node = (role: string) =>
  spawnNode({
    databaseUrl: database.url!,
    role,
    env: { SWITCHYARD_LEASE_MS: '1500', SWITCHYARD_POLL_MS: '500' },
  })

describe('shutdown', () => {
  it('the first signal drains: the node stops taking work, lets its run finish, then exits 0', async () => {
    const n = await node('api,worker')
    const id = await createAutomation(s, token, { name: 'drain-me', kind: 'NOOP', config: { sleepMs: 1500 } })
    const runId = await runAutomation(s, token, id)
    await waitForRun(s, token, runId, ['RUNNING'])
    n.signal('SIGTERM')
    // Queued after the signal: the draining node must not take it.
    const later = await runAutomation(s, token, id)
    expect(await n.exited).toBe(0)
    expect((await waitForRun(s, token, runId, undefined, 1000)).state).toBe('SUCCEEDED')
    const [row] = await s.db.query<{ state: string }>('select state from runs where id = $1', [later])
    expect(row!.state).toBe('QUEUED')
    // Its API port is closed once it has drained.
    await expect(fetch(`http://127.0.0.1:${n.port}/healthz`)).rejects.toThrow()
    await node('worker')
    expect((await waitForRun(s, token, later, undefined, 30_000)).state).toBe('SUCCEEDED')
  })

  it('the second signal forces: the node exits at once and its run is recovered elsewhere', async () => {
    const n = await node('worker')
    const id = await createAutomation(s, token, {
      name: 'force-me',
      kind: 'NOOP',
      config: { sleepMs: 30_000 },
      retry: { maxAttempts: 2, backoffMs: 0 },
      timeoutMs: 60_000,
    })
    const runId = await runAutomation(s, token, id)
    await waitForRun(s, token, runId, ['RUNNING'])
    const started = Date.now()
    n.signal('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    n.signal('SIGTERM')
    expect(await n.exited).toBe(1)
    expect(Date.now() - started).toBeLessThan(10_000)
    await node('worker')
    const deadline = Date.now() + 30_000
    let row: { state: string; attempt: number } | undefined
    while (Date.now() < deadline) {
      ;[row] = await s.db.query<{ state: string; attempt: number }>(
        'select state, attempt from runs where id = $1',
        [runId],
      )
      if (row?.attempt === 2 && row.state === 'RUNNING') break
      await new Promise((r) => setTimeout(r, 100))
    }
    // Taken over by the new worker as attempt 2 after the forced exit's lease expired.
    expect(row).toEqual({ state: 'RUNNING', attempt: 2 })
    await s.gql(`mutation { cancelRun(id: "${runId}") { __typename } }`, {}, { token })
    expect((await waitForRun(s, token, runId, undefined, 10_000)).state).toBe('CANCELLED')
  }, 90_000)
})
