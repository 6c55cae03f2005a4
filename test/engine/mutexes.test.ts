import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN, createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let editor: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
})
afterAll(() => s?.stop())

describe('mutexes', () => {
  it('QUEUE: runs one at a time in FIFO order, waiters show their position', async () => {
    const ids = await Promise.all(
      ['m-1', 'm-2'].map((name) =>
        createAutomation(s, editor, {
          name,
          kind: 'NOOP',
          // Long enough that the holder is still running when the four are queued on a loaded machine.
          config: { sleepMs: 1500 },
          mutex: { name: 'shared' },
        }),
      ),
    )
    const runIds: string[] = []
    for (let i = 0; i < 4; i++) runIds.push(await runAutomation(s, editor, ids[i % 2]!))
    const m = await s.gql<{
      mutexes: { name: string; holder: { id: string } | null; waiting: { id: string; position: number }[] }[]
    }>('{ mutexes { name holder { id } waiting { id position } } }', {}, { token: editor })
    const shared = m.data!.mutexes.find((x) => x.name === 'shared')!
    expect(shared.holder?.id).toBe(runIds[0])
    expect(shared.waiting).toEqual(runIds.slice(1).map((id, i) => ({ id, position: i + 1 })))
    const rows = await Promise.all(runIds.map((id) => waitForRun(s, editor, id)))
    expect(rows.every((r) => r.state === 'SUCCEEDED')).toBe(true)
    for (let i = 1; i < rows.length; i++) {
      // Never overlapping, and in the order they were queued.
      expect(Date.parse(rows[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(rows[i - 1]!.finishedAt!))
    }
  })

  it('SKIP: a busy mutex records the run SKIPPED and says so', async () => {
    const id = await createAutomation(s, editor, {
      name: 'skipper',
      kind: 'NOOP',
      config: { sleepMs: 1000 },
      mutex: { name: 'skip-m', policy: 'SKIP' },
    })
    const first = await runAutomation(s, editor, id)
    const r = await s.gql<{ runAutomation: { __typename: string; runId: string } }>(
      RUN,
      { id },
      { token: editor },
    )
    expect(r.data?.runAutomation.__typename).toBe('MutexBusyError')
    expect((await waitForRun(s, editor, r.data!.runAutomation.runId)).state).toBe('SKIPPED')
    expect((await waitForRun(s, editor, first)).state).toBe('SUCCEEDED')
  })

  it('REPLACE_QUEUED keeps only the newest waiting run', async () => {
    const id = await createAutomation(s, editor, {
      name: 'replacer',
      kind: 'NOOP',
      config: { sleepMs: 500 },
      mutex: { name: 'rq', policy: 'REPLACE_QUEUED' },
    })
    const r1 = await runAutomation(s, editor, id)
    const r2 = await runAutomation(s, editor, id)
    const r3 = await runAutomation(s, editor, id)
    expect((await waitForRun(s, editor, r2)).state).toBe('CANCELLED')
    expect((await waitForRun(s, editor, r1)).state).toBe('SUCCEEDED')
    expect((await waitForRun(s, editor, r3)).state).toBe('SUCCEEDED')
  })

  it('CANCEL_RUNNING cancels the holder and runs the newcomer', async () => {
    const id = await createAutomation(s, editor, {
      name: 'canceller',
      kind: 'NOOP',
      config: { sleepMs: 5000 },
      mutex: { name: 'cr', policy: 'CANCEL_RUNNING' },
    })
    const first = await runAutomation(s, editor, id)
    await waitForRun(s, editor, first, ['RUNNING'])
    const second = await runAutomation(s, editor, id)
    const cancelled = await waitForRun(s, editor, first)
    expect(cancelled.state).toBe('CANCELLED')
    expect(cancelled.error).toMatch(/CANCEL_RUNNING/)
    const next = await waitForRun(s, editor, second, ['RUNNING', 'SUCCEEDED'])
    expect(Date.parse(next.startedAt!)).toBeGreaterThanOrEqual(Date.parse(cancelled.finishedAt!))
  })
})
