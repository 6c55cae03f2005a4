import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, collect, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let editor: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(() => s?.stop())

interface Seen {
  runUpdated: {
    id: string
    state: string
    startedAt: string | null
    finishedAt: string | null
    position: number | null
  }
}

const WATCH =
  'subscription($a: ID!) { runUpdated(automationId: $a) { id state startedAt finishedAt position } }'

/** graphql-ws does not confirm a subscription: give the server a moment to register it. */
const settle = () => new Promise((r) => setTimeout(r, 500))

describe('every transition delivered', () => {
  it('a subscriber that keeps up sees QUEUED, RUNNING and SUCCEEDED of each run, each as it was', async () => {
    const id = await createAutomation(s, editor, { name: 'quick', kind: 'NOOP', config: {} })
    const client = s.wsClient(editor)
    // Repeated: a fast claim used to move the row on before the QUEUED change was read.
    for (let i = 0; i < 10; i++) {
      const seen = collect<Seen>(client, WATCH, { a: id }, (items) =>
        items.some((x) => x.runUpdated.state === 'SUCCEEDED'),
      )
      await settle()
      const runId = await runAutomation(s, editor, id)
      const items = (await seen).map((x) => x.runUpdated)
      expect(items.map((x) => x.state)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED'])
      expect(items.every((x) => x.id === runId)).toBe(true)
      // The fields as of each change: QUEUED had not started, RUNNING had not finished.
      expect(items[0]!.startedAt).toBeNull()
      expect(items[1]!.startedAt).not.toBeNull()
      expect(items[1]!.finishedAt).toBeNull()
      expect(items[2]!.finishedAt).not.toBeNull()
    }
  })

  it('a waiting run is shown each new place in line, then RUNNING', async () => {
    const id = await createAutomation(s, editor, {
      name: 'in line',
      kind: 'NOOP',
      // The holder runs long enough for the subscription below to be registered before it ends.
      config: { sleepMs: 1500 },
      mutex: { name: 'line' },
    })
    const first = await runAutomation(s, editor, id)
    await waitForRun(s, editor, first, ['RUNNING'])
    const second = await runAutomation(s, editor, id)
    const third = await runAutomation(s, editor, id)
    const client = s.wsClient(editor)
    const seen = collect<{ runUpdated: Seen['runUpdated'] }>(
      client,
      'subscription($r: ID!) { runUpdated(runId: $r) { id state startedAt finishedAt position } }',
      { r: third },
      (items) => items.some((x) => x.runUpdated.state === 'SUCCEEDED'),
    )
    const items = (await seen).map((x) => [x.runUpdated.state, x.runUpdated.position])
    expect(items).toEqual([
      ['WAITING', 1],
      ['QUEUED', null],
      ['RUNNING', null],
      ['SUCCEEDED', null],
    ])
    expect((await waitForRun(s, editor, second)).state).toBe('SUCCEEDED')
  })

  it('log lines reach subscribers only from the platform: a forged log notification shows nothing', async () => {
    const id = await createAutomation(s, editor, {
      name: 'talker',
      kind: 'NOOP',
      config: { sleepMs: 800, log: 'real line' },
    })
    const runId = await runAutomation(s, editor, id)
    await waitForRun(s, editor, runId, ['RUNNING'])
    const client = s.wsClient(editor)
    const lines = collect<{ runLog: { message: string } }>(
      client,
      'subscription($r: ID!) { runLog(runId: $r, afterId: "0") { message } }',
      { r: runId },
      (items) => items.length >= 2,
      4000,
    )
    await settle()
    // What tenant SQL tried: a NOTIFY on the log channel, in the old and the new payload shape.
    await s.db.query("select pg_notify('sy_log', $1)", [
      JSON.stringify([[runId, org.id, '999999999', 'ERROR', 'forged line', Date.now()]]),
    ])
    await s.db.query("select pg_notify('sy_log', $1)", [JSON.stringify([[runId, org.id, '999999999']])])
    // Only one line exists: the subscription never gets a second.
    await expect(lines).rejects.toThrow(/timed out after 4000 ms with 1 items: .*real line/)
  })
})
