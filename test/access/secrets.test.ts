import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { LOOPBACK_EGRESS } from '../helpers/server'
import { type Setup, setup } from './helpers'

// Issue 12, point 8: organization secrets.
const VALUE = 'tok-3f9a1c7e2b'
/** `${secret.NAME}`, the reference syntax (not a template placeholder). */
const ref = (name: string) => ['$', `{secret.${name}}`].join('')
let x: Setup
let service: Server
let serviceUrl: string
const seen: string[] = []
beforeAll(async () => {
  // The receiver of the HTTP calls is a loopback server of the test: allowed past the egress policy.
  x = await setup(
    { admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' },
    { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS },
  )
  // A stand-in for the outside service the automation calls: it records the header it got and echoes it.
  service = createServer((req, res) => {
    seen.push(String(req.headers.authorization))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ youSent: req.headers.authorization }))
  })
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r))
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}/api`
})
afterAll(async () => {
  await x?.s.stop()
  await new Promise((r) => service?.close(r))
})

const SET = `mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v, description: "ci") {
  __typename ... on SetSecretSuccess { secret { id name } } ... on Error { message } } }`
const LIST = '{ secrets { name description updatedBy { email } usages { automationName uses lastRunId } } }'
type List = { secrets: { name: string; usages: { automationName: string; uses: number }[] }[] }

describe('managing secrets', () => {
  it('admins create and rotate them; editors without the manageSecrets grant see names only; viewers nothing', async () => {
    const r = await x.s.gql<{ setSecret: { __typename: string } }>(
      SET,
      { n: 'API_TOKEN', v: VALUE },
      { token: x.tokens.admin },
    )
    expect(r.data!.setSecret.__typename).toBe('SetSecretSuccess')
    const byEditor = await x.s.gql<{ setSecret: { __typename: string } }>(
      SET,
      { n: 'API_TOKEN', v: 'x' },
      { token: x.tokens.editor },
    )
    expect(byEditor.data!.setSecret.__typename).toBe('ForbiddenError')
    const names = await x.s.gql<{ secrets: { name: string }[] }>(
      '{ secrets { name } }',
      {},
      { token: x.tokens.editor },
    )
    expect(names.data!.secrets.map((s) => s.name)).toEqual(['API_TOKEN'])
    const viewer = await x.s.gql('{ secrets { name } }', {}, { token: x.tokens.viewer })
    expect(viewer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN')
    const bad = await x.s.gql<{ setSecret: { __typename: string } }>(
      SET,
      { n: 'no-dashes', v: 'v' },
      { token: x.tokens.admin },
    )
    expect(bad.data!.setSecret.__typename).toBe('ValidationError')
  })

  it('never returns the value, and stores it encrypted', async () => {
    const list = await x.s.gql(LIST, {}, { token: x.tokens.admin })
    expect(JSON.stringify(list)).not.toContain(VALUE)
    const [row] = await x.s.db.query<{ sealed: string }>(
      "select sealed from secrets where name = 'API_TOKEN'",
    )
    expect(row!.sealed).not.toContain(VALUE)
    expect(row!.sealed).toMatch(/^v1\./)
  })
})

describe('using secrets', () => {
  it('fills secret references in headers, and redacts it from outputs and logs', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, {
      name: 'call api',
      kind: 'HTTP_REQUEST',
      config: { url: serviceUrl, headers: { authorization: `Bearer ${ref('API_TOKEN')}` } },
    })
    const run = await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, id))
    expect(run.state).toBe('SUCCEEDED')
    expect(seen.at(-1)).toBe(`Bearer ${VALUE}`)
    expect(run.outputs).toMatchObject({ body: { youSent: 'Bearer ***' } })
    expect(JSON.stringify(run)).not.toContain(VALUE)
  })

  it('hands a script the secrets its code names; what it prints or throws shows ***', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, {
      name: 'script with secret',
      kind: 'SCRIPT',
      config: {
        code: "const t = variables.secret.API_TOKEN\nconsole.log('token is ' + t)\nsetOutput('len', t.length)\nthrow new Error('bad ' + t)",
      },
    })
    const run = await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, id))
    expect(run.state).toBe('FAILED')
    expect(run.logs.map((l) => l.message)).toContain('token is ***')
    expect(run.error).toContain('bad ***')
    expect(JSON.stringify(run)).not.toContain(VALUE)
  })

  it('fails a run that names a missing secret, naming it', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, {
      name: 'missing secret',
      kind: 'HTTP_REQUEST',
      config: { url: serviceUrl, headers: { authorization: `Bearer ${ref('NOPE')}` } },
    })
    const run = await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, id))
    expect(run.state).toBe('FAILED')
    expect(run.error).toContain(ref('NOPE'))
  })

  it('records which automation used which secret, and a rotation takes effect on the next run', async () => {
    const list = await x.s.gql<List>(LIST, {}, { token: x.tokens.admin })
    const usages = list.data!.secrets.find((s) => s.name === 'API_TOKEN')!.usages
    expect(usages.map((u) => u.automationName).sort()).toEqual(['call api', 'script with secret'])
    await x.s.gql(SET, { n: 'API_TOKEN', v: 'tok-rotated-000' }, { token: x.tokens.admin })
    const [a] = await x.s.db.query<{ id: string }>("select id from automations where name = 'call api'")
    await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, a!.id))
    expect(seen.at(-1)).toBe('Bearer tok-rotated-000')
    const again = await x.s.gql<List>(LIST, {}, { token: x.tokens.admin })
    expect(again.data!.secrets[0]!.usages.find((u) => u.automationName === 'call api')!.uses).toBe(2)
  })
})
