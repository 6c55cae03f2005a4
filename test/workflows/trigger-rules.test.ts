import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { createWorkflow, runWorkflow, statesOf, stepOf } from './helpers'

let s: TestServer
let org: TestOrg
let editor: string
let ok: string
let bad: string
let slow: string
let pause: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  ok = await createAutomation(s, editor, { name: 'ok', kind: 'NOOP', config: {} })
  bad = await createAutomation(s, editor, { name: 'bad', kind: 'NOOP', config: { fail: 'boom' } })
  slow = await createAutomation(s, editor, { name: 'slow', kind: 'NOOP', config: { sleepMs: 1500 } })
  pause = await createAutomation(s, editor, { name: 'pause', kind: 'NOOP', config: { sleepMs: 400 } })
})
afterAll(() => s?.stop())

type Parent = 'S' | 'F' | 'K' | 'U'
const RULES = [
  'ALL_SUCCESS',
  'ALL_FAILED',
  'ALL_DONE',
  'ONE_SUCCESS',
  'ONE_FAILED',
  'ONE_DONE',
  'NONE_FAILED',
  'NONE_FAILED_MIN_ONE_SUCCESS',
  'NONE_SKIPPED',
  'ALWAYS',
] as const

/**
 * docs/DESIGN.md's table, written out for two parents: S succeeded, F failed, K skipped,
 * U upstream failed. R = the join runs (and succeeds), K = SKIPPED, U = UPSTREAM_FAILED.
 */
const COMBOS = ['SS', 'SF', 'SK', 'SU', 'FF', 'FK', 'FU', 'KK', 'KU', 'UU'] as const
const EXPECTED: Record<(typeof RULES)[number], string> = {
  //                           SS SF SK SU FF FK FU KK KU UU
  ALL_SUCCESS: /*           */ 'R  U  K  U  U  U  U  K  U  U',
  ALL_FAILED: /*            */ 'K  K  K  K  R  K  R  K  K  R',
  ALL_DONE: /*              */ 'R  R  R  R  R  R  R  R  R  R',
  ONE_SUCCESS: /*           */ 'R  R  R  R  U  U  U  K  U  U',
  ONE_FAILED: /*            */ 'K  R  K  R  R  R  R  K  R  R',
  ONE_DONE: /*              */ 'R  R  R  R  R  R  R  K  K  K',
  NONE_FAILED: /*           */ 'R  U  R  U  U  U  U  R  U  U',
  NONE_FAILED_MIN_ONE_SUCCESS: 'R  U  R  U  U  U  U  K  U  U',
  NONE_SKIPPED: /*          */ 'R  R  K  R  R  K  R  K  K  R',
  ALWAYS: /*                */ 'R  R  R  R  R  R  R  R  R  R',
}
const STATE = { R: 'SUCCEEDED', K: 'SKIPPED', U: 'UPSTREAM_FAILED' } as Record<string, string>

/**
 * A parent step that ends the way `p` says. U follows a failing step; K (condition false)
 * follows a pause, so it settles after the others: rules that decide "without waiting" on
 * a skipped parent (ALL_SUCCESS) then see the table's "none failed" case as the table means it.
 */
function parent(name: string, p: Parent) {
  const step = {
    name,
    automationId: p === 'F' ? bad : ok,
    ...(p === 'K' ? { condition: 'false' } : {}),
  }
  const from = p === 'U' ? 'f0' : p === 'K' ? 'pause' : null
  return { step, edges: from ? [{ from, to: name }] : [] }
}

describe('trigger rules, every rule over every pair of parent outcomes (docs/DESIGN.md)', () => {
  it('decides every join as the table says, with a reason for each skip', async () => {
    const results = await Promise.all(
      COMBOS.map(async (combo) => {
        const [a, b] = [parent('p1', combo[0] as Parent), parent('p2', combo[1] as Parent)]
        const joins = RULES.map((rule) => ({ name: `j_${rule}`, automationId: ok, rule }))
        const id = await createWorkflow(s, editor, `rules-${combo}`, {
          steps: [
            { name: 'f0', automationId: bad },
            { name: 'pause', automationId: pause },
            a.step,
            b.step,
            ...joins,
          ],
          edges: [
            ...a.edges,
            ...b.edges,
            ...joins.flatMap((j) => [
              { from: 'p1', to: j.name },
              { from: 'p2', to: j.name },
            ]),
          ],
        })
        return { combo, run: await runWorkflow(s, editor, id) }
      }),
    )
    for (const { combo, run } of results) {
      const own = { S: 'SUCCEEDED', F: 'FAILED', K: 'SKIPPED', U: 'UPSTREAM_FAILED' } as Record<
        string,
        string
      >
      expect([stepOf(run, 'p1').state, stepOf(run, 'p2').state], combo).toEqual([
        own[combo[0]!],
        own[combo[1]!],
      ])
      for (const rule of RULES) {
        const expected = STATE[EXPECTED[rule].split(/\s+/)[COMBOS.indexOf(combo)]!]
        const join = stepOf(run, `j_${rule}`)
        expect(`${combo} ${rule} ${join.state}`).toBe(`${combo} ${rule} ${expected}`)
        if (join.state === 'SKIPPED' || join.state === 'UPSTREAM_FAILED') {
          // The reason names a parent (which one made the join skip or fail upstream).
          expect(join.skipReason, `${combo} ${rule}`).toMatch(/p1|p2/)
        }
      }
      // f0 fails unhandled in every combination, so the workflow fails and says which step.
      expect(run.state).toBe('FAILED')
      expect(run.error).toContain('f0')
    }
  })

  it('decides without waiting where the rule says so, and waits where it does not', async () => {
    // fast settles long before slow ends; each join's start is compared with slow's end.
    const id = await createWorkflow(s, editor, 'no-waiting', {
      steps: [
        { name: 'fast_ok', automationId: ok },
        { name: 'fast_bad', automationId: bad },
        { name: 'slow', automationId: slow },
        { name: 'one_success', automationId: ok, rule: 'ONE_SUCCESS' },
        { name: 'one_failed', automationId: ok, rule: 'ONE_FAILED' },
        { name: 'all_success', automationId: ok },
        { name: 'always', automationId: ok, rule: 'ALWAYS' },
        { name: 'all_done', automationId: ok, rule: 'ALL_DONE' },
      ],
      edges: [
        { from: 'fast_ok', to: 'one_success' },
        { from: 'slow', to: 'one_success' },
        { from: 'fast_bad', to: 'one_failed' },
        { from: 'slow', to: 'one_failed' },
        { from: 'fast_bad', to: 'all_success' },
        { from: 'slow', to: 'all_success' },
        { from: 'slow', to: 'always' },
        { from: 'fast_ok', to: 'all_done' },
        { from: 'slow', to: 'all_done' },
      ],
    })
    const run = await runWorkflow(s, editor, id)
    const slowEnd = new Date(stepOf(run, 'slow').finishedAt!).getTime()
    const at = (n: string) => new Date(stepOf(run, n).startedAt ?? stepOf(run, n).finishedAt!).getTime()
    expect(statesOf(run)).toMatchObject({
      one_success: 'SUCCEEDED',
      one_failed: 'SUCCEEDED',
      all_success: 'UPSTREAM_FAILED',
      always: 'SUCCEEDED',
      all_done: 'SUCCEEDED',
    })
    for (const early of ['one_success', 'one_failed', 'all_success', 'always'])
      expect(at(early)).toBeLessThan(slowEnd)
    expect(at('all_done')).toBeGreaterThanOrEqual(slowEnd)
  })
})
