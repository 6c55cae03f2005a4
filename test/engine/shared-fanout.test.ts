import type { Client } from 'graphql-ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Setup, restrictedFolder, setup } from '../access/helpers'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'

// Issue 13, point 4: fan-out executes each distinct subscription selection once per event and
// shares the serialized result among the subscribers allowed to see the run.
let x: Setup
/** In a folder only viewerA may see, and one only viewerB may see. */
let forA: string
let forB: string

beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR', viewerA: 'VIEWER', viewerB: 'VIEWER' })
  const folderA = await restrictedFolder(x, 'A only', [
    `userId: "${x.org.users.viewerA!.id}", permission: VIEW`,
  ])
  const folderB = await restrictedFolder(x, 'B only', [
    `userId: "${x.org.users.viewerB!.id}", permission: VIEW`,
  ])
  forA = await createAutomation(x.s, x.tokens.admin!, {
    name: 'a',
    kind: 'NOOP',
    config: {},
    folderId: folderA,
  })
  forB = await createAutomation(x.s, x.tokens.admin!, {
    name: 'b',
    kind: 'NOOP',
    config: {},
    folderId: folderB,
  })
})
afterAll(() => x?.s.stop())

// Each test's subscribers leave with it, so the next test counts only its own executions.
const clients: Client[] = []
const client = (token: string | undefined) => {
  const c = x.s.wsClient(token)
  clients.push(c)
  return c
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()))
  await settle()
})

type Update = Record<string, unknown> & { id: string; state: string }

/** Every runUpdated a client receives (errors recorded as such). */
function watch(client: Client, query: string, variables: Record<string, unknown> = {}): Update[] {
  const seen: Update[] = []
  client.subscribe<{ runUpdated: Update }>(
    { query, variables },
    {
      next: (r) =>
        seen.push(r.errors ? { id: 'error', state: JSON.stringify(r.errors) } : r.data!.runUpdated),
      error: (e) => seen.push({ id: 'error', state: String(e) }),
      complete: () => {},
    },
  )
  return seen
}

/** graphql-ws does not confirm a subscription: give the server a moment to register it. */
const settle = (ms = 500) => new Promise((r) => setTimeout(r, ms))

const stats = () => ({ ...x.s.app.services.sharedExecution.stats })

/** Runs `automationId` once and waits until each watcher got its final state. */
async function oneRun(automationId: string, watchers: Update[][]): Promise<string> {
  const runId = await runAutomation(x.s, x.tokens.admin!, automationId)
  await waitForRun(x.s, x.tokens.admin!, runId)
  for (let i = 0; i < 100 && !watchers.every((w) => w.some((u) => u.state === 'SUCCEEDED')); i++)
    await settle(50)
  return runId
}

const ROW = 'subscription($a: ID!) { runUpdated(automationId: $a) { id state startedAt finishedAt } }'

describe('shared fan-out', () => {
  it('N subscribers of one selection cost one execution per event, and all get the same result', async () => {
    const watchers = Array.from({ length: 5 }, (_, i) =>
      watch(client(i % 2 === 0 ? x.tokens.admin : x.tokens.viewerA), ROW, { a: forA }),
    )
    await settle()
    const before = stats()
    const runId = await oneRun(forA, watchers)
    const after = stats()
    for (const w of watchers) {
      expect(w.map((u) => u.state)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED'])
      expect(w.every((u) => u.id === runId)).toBe(true)
      expect(w).toEqual(watchers[0])
    }
    // Three changes, executed once each; the other four subscribers reuse each of them.
    expect(after.executions - before.executions).toBe(3)
    expect(after.reused - before.reused).toBe(3 * 4)
    // And every delivery went out as the bytes serialized once per execution.
    expect(after.sentSerialized - before.sentSerialized).toBe(3 * 5)
  })

  it('different selections, or variables the selection reads, are executed separately', async () => {
    const withFlag =
      'subscription($a: ID!, $f: Boolean!) { runUpdated(automationId: $a) { id state startedAt @include(if: $f) } }'
    const admin = client(x.tokens.admin)
    const watchers = [
      watch(admin, withFlag, { a: forA, f: true }),
      watch(admin, withFlag, { a: forA, f: true }),
      watch(admin, withFlag, { a: forA, f: false }),
      watch(admin, 'subscription($a: ID!) { runUpdated(automationId: $a) { id state attempt } }', {
        a: forA,
      }),
    ]
    await settle()
    const before = stats()
    await oneRun(forA, watchers)
    const after = stats()
    expect(watchers.map((w) => w.map((u) => u.state))).toEqual(
      Array(4).fill(['QUEUED', 'RUNNING', 'SUCCEEDED']),
    )
    expect('startedAt' in watchers[0]![1]!).toBe(true)
    expect('startedAt' in watchers[2]![1]!).toBe(false)
    expect(watchers[3]![1]!.attempt).toBe(1)
    // Three distinct selections per change; only the two identical ones share.
    expect(after.executions - before.executions).toBe(3 * 3)
    expect(after.reused - before.reused).toBe(3)
  })

  it('a shared result reaches only subscribers allowed to see the run, checked each against its grants', async () => {
    const all = 'subscription { runUpdated { id state automationId } }'
    const a = watch(client(x.tokens.viewerA), all)
    const b = watch(client(x.tokens.viewerB), all)
    const admin = watch(client(x.tokens.admin), all)
    await settle()
    const before = stats()
    const runA = await oneRun(forA, [a, admin])
    const afterA = stats()
    const runB = await oneRun(forB, [b, admin])
    await settle()
    // Fields of the row only: the two viewers and the admin are one visibility class.
    expect(afterA.executions - before.executions).toBe(3)
    expect(afterA.reused - before.reused).toBe(3)
    expect(a.map((u) => [u.id, u.state])).toEqual([
      [runA, 'QUEUED'],
      [runA, 'RUNNING'],
      [runA, 'SUCCEEDED'],
    ])
    expect(b.map((u) => [u.id, u.state])).toEqual([
      [runB, 'QUEUED'],
      [runB, 'RUNNING'],
      [runB, 'SUCCEEDED'],
    ])
    expect(admin.map((u) => u.id)).toEqual([runA, runA, runA, runB, runB, runB])
  })

  it('a selection of fields that answer per viewer is shared by one viewer only', async () => {
    const named = 'subscription($a: ID!) { runUpdated(automationId: $a) { id state automation { id name } } }'
    const viewer1 = watch(client(x.tokens.viewerA), named, { a: forA })
    const viewer2 = watch(client(x.tokens.viewerA), named, { a: forA })
    const admin = watch(client(x.tokens.admin), named, { a: forA })
    await settle()
    const before = stats()
    await oneRun(forA, [viewer1, viewer2, admin])
    const after = stats()
    expect(viewer1.map((u) => u.automation)).toEqual(Array(3).fill({ id: forA, name: 'a' }))
    expect(viewer2).toEqual(viewer1)
    expect(admin).toEqual(viewer1)
    // The same answers here, but `automation` is looked up with each viewer's grants: one
    // execution per viewer and change, shared by viewerA's two subscriptions.
    expect(after.executions - before.executions).toBe(2 * 3)
    expect(after.reused - before.reused).toBe(3)
  })
})

describe('leaving', () => {
  it('a subscriber that leaves while its runs are quiet leaves no listener behind', async () => {
    const bus = x.s.app.services.bus
    await settle()
    const before = bus.listenerCount()
    const runId = await runAutomation(x.s, x.tokens.admin!, forB)
    await waitForRun(x.s, x.tokens.admin!, runId)
    await settle()
    const c = client(x.tokens.admin)
    watch(c, ROW, { a: forB })
    watch(c, 'subscription($r: ID!) { runLog(runId: $r) { message } }', { r: runId })
    for (let i = 0; i < 100 && bus.listenerCount() <= before; i++) await settle(50)
    expect(bus.listenerCount()).toBeGreaterThan(before)
    await c.dispose()
    // No event comes for these keys any more: the listeners must go when the client leaves.
    for (let i = 0; i < 100 && bus.listenerCount() > before; i++) await settle(50)
    expect(bus.listenerCount()).toBe(before)
  })
})
