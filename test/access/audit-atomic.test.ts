import { type Server, type Socket, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upload } from '../data/files'
import { createAutomation } from '../helpers/automations'
import { LOOPBACK_EGRESS } from '../helpers/server'
import { type Setup, setup } from './helpers'

// Issue 12, point 9: no committed change without its audit record; sign-ins and uploads audited.
let x: Setup
beforeAll(async () => {
  x = await setup(
    { admin: 'ADMIN', editor: 'EDITOR', viewer: 'VIEWER' },
    { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS },
  )
})
afterAll(() => x?.s.stop())

interface Row {
  id: string
  action: string
  actor: string
  actor_user_id: string | null
  target_id: string | null
  outcome: string
  details: Record<string, unknown>
  address: string | null
  user_agent: string | null
  at: Date
}
const rows = (action: string) =>
  x.s.db.query<Row>('select * from audit_events where org_id = $1 and action = $2 order by id', [
    x.org.id,
    action,
  ])

/** A PostgreSQL protocol ErrorResponse message. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0C${code}\0M${message}\0\0`)
  const head = Buffer.alloc(5)
  head.write('E', 0)
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

describe('a change and its record', () => {
  it('a mutation whose record cannot be written does not run', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, { name: 'kept', kind: 'NOOP', config: {} })
    // The audit log refuses this one action, as an outage of the audit table would.
    await x.s.db.query(
      "alter table audit_events add constraint refuse_delete check (action <> 'deleteAutomation')",
    )
    try {
      const r = await x.s.gql<{ deleteAutomation: { __typename: string } }>(
        'mutation($id: ID!) { deleteAutomation(id: $id) { __typename } }',
        { id },
        { token: x.tokens.editor },
      )
      expect(r.data?.deleteAutomation).toBeFalsy()
      expect(r.errors?.length).toBeGreaterThan(0)
    } finally {
      await x.s.db.query('alter table audit_events drop constraint refuse_delete')
    }
    const [a] = await x.s.db.query<{ deleted_at: Date | null }>(
      'select deleted_at from automations where id = $1',
      [id],
    )
    expect(a!.deleted_at).toBeNull()
  })

  it('is written before the mutation acts, PENDING, and settled with its outcome', async () => {
    // A "database" that accepts the connection and never answers: testDatasource waits on it.
    const sockets: Socket[] = []
    const silent: Server = createServer((s) => {
      // Once the client's startup message is in, the mutation is waiting on us.
      s.once('data', () => sockets.push(s))
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as AddressInfo).port
    try {
      const answer = x.s.gql<{ testDatasource: { __typename: string } }>(
        'mutation($c: String!) { testDatasource(connectionString: $c) { __typename } }',
        { c: `postgres://u:p@127.0.0.1:${port}/db` },
        { token: x.tokens.admin },
      )
      let answered = false
      void answer.then(() => {
        answered = true
      })
      while (sockets.length === 0 && !answered) await new Promise((r) => setTimeout(r, 20))
      expect(answered, JSON.stringify(await Promise.race([answer, 'still waiting']))).toBe(false)
      const during = await rows('testDatasource')
      expect(during.map((e) => e.outcome)).toEqual(['PENDING'])
      // Now it answers: a PostgreSQL ErrorResponse ("password authentication failed").
      for (const s of sockets) s.end(errorResponse('28P01', 'password authentication failed'))
      expect((await answer).data!.testDatasource.__typename).toBe('TestDatasourceSuccess')
      const after = await rows('testDatasource')
      expect(after.map((e) => [e.id, e.outcome])).toEqual([[during[0]!.id, 'OK']])
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('a refused or rolled-back mutation leaves no OK record, only its error', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, { name: 'unchanged', kind: 'NOOP', config: {} })
    const bad = await x.s.gql<{ updateAutomation: { __typename: string } }>(
      'mutation($id: ID!) { updateAutomation(id: $id, input: { name: "", kind: "NOOP", config: {} }) { __typename } }',
      { id },
      { token: x.tokens.editor },
    )
    expect(bad.data!.updateAutomation.__typename).toBe('ValidationError')
    const byViewer = await x.s.gql<{ deleteAutomation: unknown }>(
      'mutation($id: ID!) { deleteAutomation(id: $id) { __typename } }',
      { id },
      { token: x.tokens.viewer },
    )
    expect(byViewer.errors?.[0]?.extensions?.code ?? byViewer.data).toBeTruthy()
    const [a] = await x.s.db.query<{ name: string; deleted_at: Date | null }>(
      'select name, deleted_at from automations where id = $1',
      [id],
    )
    expect(a).toEqual({ name: 'unchanged', deleted_at: null })
    const updates = (await rows('updateAutomation')).filter((e) => e.target_id === id)
    expect(updates.map((e) => e.outcome)).toEqual(['ValidationError'])
    const deletes = (await rows('deleteAutomation')).filter((e) => e.target_id === id)
    expect(deletes.map((e) => [e.actor, e.outcome])).toEqual([[x.org.users.viewer!.email, 'ForbiddenError']])
  })
})

describe('sign-ins', () => {
  it('records success and failure with the client address; an unknown email belongs to no organization', async () => {
    const before = await rows('login')
    const u = x.org.users.viewer!
    await x.s.login(u.email, u.password)
    const wrong = await x.s.gql<{ login: { __typename: string } }>(
      'mutation($e: String!) { login(email: $e, password: "wrong-password") { __typename } }',
      { e: u.email.toUpperCase() },
    )
    expect(wrong.data!.login.__typename).toBe('InvalidCredentialsError')
    await x.s.gql('mutation { login(email: "nobody@example.test", password: "x") { __typename } }')
    const after = (await rows('login')).slice(before.length)
    expect(after.map((e) => [e.actor_user_id, e.outcome])).toEqual([
      [u.id, 'OK'],
      [u.id, 'InvalidCredentialsError'],
    ])
    for (const e of after) {
      expect(e.address).toMatch(/127\.0\.0\.1/)
      expect(e.user_agent).toBeTruthy()
      expect(JSON.stringify(e.details)).not.toContain('wrong-password')
    }
    const anywhere = await x.s.db.query("select 1 from audit_events where actor = 'nobody@example.test'")
    expect(anywhere).toEqual([])
  })
})

describe('uploads', () => {
  it('records who uploaded which file from where, and a refused upload as an attempt', async () => {
    const up = await upload(x.s, x.tokens.editor!, 'audited.csv', 'a,b\n1,2\n')
    expect(up.status).toBe(201)
    const refused = await upload(x.s, x.tokens.viewer!, 'sneaky.csv', 'a\n1\n')
    expect(refused.status).toBe(403)
    const events = await rows('upload')
    expect(events.map((e) => [e.actor, e.outcome, e.target_id])).toEqual([
      [x.org.users.editor!.email, 'OK', up.body.datasource!.id],
      [x.org.users.viewer!.email, 'ForbiddenError', null],
    ])
    expect(events[0]!.details).toMatchObject({ name: 'audited.csv' })
    expect(events[0]!.address).toMatch(/127\.0\.0\.1/)
    // Through the API as well, where admins read it.
    const api = await x.s.gql<{ auditEvents: { edges: { node: { targetType: string } }[] } }>(
      '{ auditEvents(action: "upload") { edges { node { targetType } } } }',
      {},
      { token: x.tokens.admin },
    )
    expect(api.data!.auditEvents.edges.map((e) => e.node.targetType)).toEqual(['Datasource', 'Datasource'])
  })
})
