import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

let s: TestServer
let org: TestOrg
let token: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  token = await s.login(org.users.editor!.email, org.users.editor!.password)
}, 120_000)

afterAll(async () => {
  await s?.stop()
})

async function warnings(config: Record<string, unknown>) {
  const id = await createAutomation(s, token, {
    name: `typed ${Math.random().toString(36).slice(2, 8)}`,
    kind: 'SCRIPT',
    config,
  })
  const r = await s.gql<{ automation: { codeWarnings: { line: number; message: string }[] } }>(
    'query($id: ID!) { automation(id: $id) { codeWarnings { line message } } }',
    { id },
    { token },
  )
  expect(r.errors).toBeUndefined()
  return r.data!.automation.codeWarnings
}

describe('TypeScript type errors at save', () => {
  it('are reported with their line, the script saved all the same', async () => {
    const code = ["const total: number = 'many'", "setOutput('total', total)", 'log(notDeclared)'].join('\n')
    const found = await warnings({ language: 'typescript', code })
    expect(found.map((w) => w.line)).toEqual([1, 3])
    expect(found[0]!.message).toContain("Type 'string' is not assignable to type 'number'")
    expect(found[1]!.message).toContain("Cannot find name 'notDeclared'")
  })

  it('know the script API, top-level await and return, and the fetch types', async () => {
    const code = [
      "log('region', params.region, triggered_by_user, run.attempt)",
      "const res: Response = await fetch('https://example.com/')",
      "setOutput('status', res.status)",
      "if (!res.ok) fail('down')",
      'return { ok: true }',
    ].join('\n')
    expect(await warnings({ language: 'typescript', code })).toEqual([])
  })

  it('are none for JavaScript', async () => {
    expect(await warnings({ language: 'javascript', code: "const n = 1; n = 'x'" })).toEqual([])
  })
})
