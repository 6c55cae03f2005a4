import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestDatabase, testDatabase } from '../helpers/db'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { killAllNodes, spawnNode, waitUntil } from '../helpers/processes'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'
import { type Receiver, startReceiver } from '../reporters/helpers'

// A delivery is queued in the transaction that ends the run, so a worker process killed
// -9 after the run ended (before it sent, or while it was sending) loses nothing: another
// worker sends it after recovery, and the receiver acknowledges it exactly once.
let database: TestDatabase
let s: TestServer
let org: TestOrg
let admin: string
let editor: string
let http: Receiver
let connectionId: string
let n = 0

beforeAll(async () => {
  database = await testDatabase()
  // The test's own server only answers the API: no worker, no delivery worker in this process.
  s = await startTestServer({
    database,
    env: { SWITCHYARD_ROLES: 'api', SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS },
  })
  org = await createOrg(s.db)
  admin = await s.login(org.users.admin!.email, org.users.admin!.password)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  http = await startReceiver()
  const r = await s.gql<{ createChannelConnection: { connection: { id: string } } }>(
    `mutation($i: ChannelConnectionInput!) { createChannelConnection(input: $i) {
      ... on CreateChannelConnectionSuccess { connection { id } } ... on Error { message } } }`,
    { i: { name: 'hook', type: 'WEBHOOK', config: { url: `${http.url}/in` } } },
    { token: admin },
  )
  connectionId = r.data!.createChannelConnection.connection.id
})
afterEach(async () => {
  await killAllNodes()
})
afterAll(async () => {
  await s?.stop()
  await database?.drop()
  await http?.close()
})

const worker = (env: Record<string, string> = {}) =>
  spawnNode({
    databaseUrl: database.url!,
    role: 'worker',
    env: {
      SWITCHYARD_LEASE_MS: '3000',
      SWITCHYARD_POLL_MS: '500',
      SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS,
      SWITCHYARD_DELIVERY_LEASE_MS: '3000',
      SWITCHYARD_DELIVERY_BACKOFF_MS: '100',
      ...env,
    },
  })

async function reported(): Promise<string> {
  const id = await createAutomation(s, editor, {
    name: `reported-${++n}`,
    kind: 'SCRIPT',
    config: { code: 'return { ok: 1 }' },
  })
  const r = await s.gql<{ createReporter: { reporter: { id: string } } }>(
    `mutation($a: ID!, $i: ReporterInput!) { createReporter(automationId: $a, input: $i) {
      ... on CreateReporterSuccess { reporter { id } } ... on Error { message } } }`,
    { a: id, i: { name: 'end', connectionId } },
    { token: editor },
  )
  expect(r.data?.createReporter.reporter.id).toBeTruthy()
  return id
}

const deliveryOf = async (runId: string) => {
  const rows = await s.db.query<{
    state: string
    attempts: number
    idempotency_key: string
    response_code: number | null
  }>('select state, attempts, idempotency_key, response_code from deliveries where run_id = $1', [runId])
  return rows
}

describe('a worker killed between the end of a run and its delivery', () => {
  it('before it sent: another worker delivers it, once', { timeout: 180_000 }, async () => {
    const id = await reported()
    // This worker runs runs but sends nothing: its end is the moment "after the run, before the send".
    const doomed = await worker({ SWITCHYARD_DELIVERY_CONCURRENCY: '0' })
    const runId = await runAutomation(s, editor, id)
    expect((await waitForRun(s, editor, runId, undefined, 60_000)).state).toBe('SUCCEEDED')
    expect(await deliveryOf(runId)).toMatchObject([{ state: 'QUEUED', attempts: 0 }])
    await doomed.kill9()
    const before = http.requests.length
    await worker()
    await waitUntil('the delivery', async () => (await deliveryOf(runId))[0]?.state === 'DELIVERED')
    const [d] = await deliveryOf(runId)
    expect(d).toMatchObject({ attempts: 1, response_code: 200 })
    expect(
      http.requests.slice(before).filter((r) => r.headers['x-switchyard-delivery'] === d!.idempotency_key),
    ).toHaveLength(1)
  })

  it('while it was sending: the delivery is recovered after its lease and acknowledged once', {
    timeout: 180_000,
  }, async () => {
    const id = await reported()
    const doomed = await worker()
    // The receiver hangs on the first request; the sender dies while it waits.
    http.hold = 1
    const arrived = http.next()
    const runId = await runAutomation(s, editor, id)
    await arrived
    expect(await deliveryOf(runId)).toMatchObject([{ state: 'SENDING', attempts: 1 }])
    await doomed.kill9()
    await worker()
    await waitUntil('the delivery', async () => (await deliveryOf(runId))[0]?.state === 'DELIVERED')
    const [d] = await deliveryOf(runId)
    expect(d).toMatchObject({ attempts: 2, response_code: 200 })
    const got = http.requests.filter((r) => r.headers['x-switchyard-delivery'] === d!.idempotency_key)
    // Two requests with one key: the first never answered (its sender was killed), the second acknowledged.
    expect(got).toHaveLength(2)
    expect(got[0]!.body).toBe(got[1]!.body)
    expect((await waitForRun(s, editor, runId)).state).toBe('SUCCEEDED')
  })
})
