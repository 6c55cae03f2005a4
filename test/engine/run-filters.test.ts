import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type GqlResult, type TestServer, startTestServer } from '../helpers/server'

// Issue 16, point 6: runs filtered by automation and by a date range, paged by the server.
let s: TestServer
let org: TestOrg
let editor: string
let nightly: string
let other: string
/** Run ids of `nightly` by the day they are dated at (2024-05-<day>). */
const byDay: Record<number, string[]> = {}

const RUNS = `query($a: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String) {
  runs(automationId: $a, since: $since, until: $until, first: $first, after: $after) {
    edges { node { id automationId createdAt } } pageInfo { hasNextPage endCursor } } }`

type Page = {
  runs: {
    edges: { node: { id: string; automationId: string } }[]
    pageInfo: { hasNextPage: boolean; endCursor: string | null }
  }
}

/** Every page of a filtered list, `first` at a time. */
async function allPages(vars: Record<string, unknown>, first: number): Promise<string[]> {
  const ids: string[] = []
  let after: string | null = null
  for (;;) {
    const r: GqlResult<Page> = await s.gql<Page>(RUNS, { ...vars, first, after }, { token: editor })
    expect(r.errors).toBeUndefined()
    ids.push(...r.data!.runs.edges.map((e) => e.node.id))
    if (!r.data!.runs.pageInfo.hasNextPage) return ids
    after = r.data!.runs.pageInfo.endCursor
  }
}

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  nightly = await createAutomation(s, editor, { name: 'nightly', kind: 'NOOP', config: {} })
  other = await createAutomation(s, editor, { name: 'other', kind: 'NOOP', config: {} })
  for (const day of [1, 1, 2, 2, 2, 3]) {
    for (const id of [nightly, other]) {
      const runId = await runAutomation(s, editor, id)
      await waitForRun(s, editor, runId)
      // Dated in the past, as if they had run then.
      await s.db.query(`update runs set created_at = $2 where id = $1`, [runId, `2024-05-0${day}T12:00:00Z`])
      if (id === nightly) byDay[day] = [...(byDay[day] ?? []), runId]
    }
  }
})
afterAll(() => s?.stop())

describe('runs(automationId, since, until)', () => {
  it('keeps the runs of one automation in the range, newest first, over every page', async () => {
    const ids = await allPages(
      { a: nightly, since: '2024-05-02T00:00:00Z', until: '2024-05-03T00:00:00Z' },
      2,
    )
    expect(ids).toEqual([...byDay[2]!].reverse())
    const fromDay2 = await allPages({ a: nightly, since: '2024-05-02T00:00:00Z' }, 1)
    expect(fromDay2).toEqual([...byDay[2]!, ...byDay[3]!].reverse())
    const untilDay2 = await allPages({ a: nightly, until: '2024-05-02T00:00:00Z' }, 5)
    expect(untilDay2).toEqual([...byDay[1]!].reverse())
  })

  it('refuses a date that is not a timestamp (once "Unexpected error."), saying how to write one', async () => {
    for (const bad of ['last tuesday', '1', '2024-02-30', '2024-13-45T00:00:00Z']) {
      const r = await s.gql(RUNS, { since: bad }, { token: editor })
      expect(r.data).toBeUndefined()
      expect(r.errors?.[0]).toMatchObject({
        message: `Expected type "DateTime". "${bad}" is not an ISO-8601 timestamp; write it like 2024-05-01 or 2024-05-01T12:00:00Z`,
        extensions: { code: 'BAD_USER_INPUT' },
      })
    }
    const literal = await s.gql('{ runs(until: "2024-05-32") { edges { cursor } } }', {}, { token: editor })
    expect(literal.errors?.[0]?.message).toContain('"2024-05-32" is not an ISO-8601 timestamp')
    // A date alone is its midnight UTC.
    const dateOnly = await allPages({ a: nightly, since: '2024-05-03' }, 10)
    expect(dateOnly).toEqual([...byDay[3]!].reverse())
  })

  it('refuses a range that ends before it starts, and an id that cannot name an automation', async () => {
    const backwards = await s.gql(
      RUNS,
      { since: '2024-05-03T00:00:00Z', until: '2024-05-01T00:00:00Z' },
      { token: editor },
    )
    expect(backwards.errors?.[0]).toMatchObject({
      message: 'invalid until: the range ends before it starts: until must be later than since',
      extensions: { code: 'BAD_USER_INPUT' },
    })
    const badId = await s.gql(RUNS, { a: 'nightly' }, { token: editor })
    expect(badId.errors?.[0]).toMatchObject({
      message: 'invalid automationId: must be an automation id',
      extensions: { code: 'BAD_USER_INPUT' },
    })
  })
})
