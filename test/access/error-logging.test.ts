import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLogger } from '../../server/src/log'
import { createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

// Issue 12: an expected refusal (FORBIDDEN, bad input, not found) is the caller's error, not
// the server's: it is logged at info without a stack, and only real faults reach error level.
const lines: { level: number; msg: string; code?: string; err?: { stack?: string } }[] = []
let s: TestServer
let viewer: string
let admin: string
beforeAll(async () => {
  s = await startTestServer({
    logger: createLogger('info', 'switchyard', {
      destination: { write: (line) => void lines.push(JSON.parse(line)) },
    }),
  })
  const org = await createOrg(s.db)
  viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
  admin = await s.login(org.users.admin!.email, org.users.admin!.password)
})
afterAll(() => s?.stop())

it('logs FORBIDDEN, BAD_USER_INPUT and NOT_FOUND at info, without a stack', async () => {
  const forbidden = await s.gql('{ auditEvents { edges { cursor } } }', {}, { token: viewer })
  expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
  const bad = await s.gql('{ auditEvents(first: -1) { edges { cursor } } }', {}, { token: admin })
  expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  const missing = await s.gql(
    '{ variables(automationId: "00000000-0000-4000-8000-000000000000") { name } }',
    {},
    { token: viewer },
  )
  expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND')
  const refused = lines.filter((l) => l.msg === 'request refused')
  expect(refused.map((l) => [l.level, l.code])).toEqual([
    [30, 'FORBIDDEN'],
    [30, 'BAD_USER_INPUT'],
    [30, 'NOT_FOUND'],
  ])
  expect(JSON.stringify(refused)).not.toContain('    at ')
  expect(lines.filter((l) => l.level >= 50)).toEqual([])
})
