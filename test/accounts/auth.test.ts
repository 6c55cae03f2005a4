import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, collect, startTestServer } from '../helpers/server'

let s: TestServer
let a: TestOrg
let b: TestOrg

beforeAll(async () => {
  s = await startTestServer()
  a = await createOrg(s.db)
  b = await createOrg(s.db)
})
afterAll(() => s?.stop())

const ME = '{ me { id email role } }'

describe('login and sessions', () => {
  it('logs the seeded admin in and sets an httpOnly SameSite cookie', async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'mutation { login(email: "ADMIN@switchyard.test", password: "admin-password") { ... on LoginPayload { token user { email role } } } }',
      }),
    })
    const body = (await res.json()) as {
      data: { login: { token: string; user: { email: string; role: string } } }
    }
    expect(body.data.login.user).toEqual({ email: ADMIN_EMAIL, role: 'ADMIN' })
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^sy_session=sys_/)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    // The cookie alone authenticates.
    const me = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookie.split(';')[0]! },
      body: JSON.stringify({ query: ME }),
    })
    expect(((await me.json()) as { data: { me: { email: string } } }).data.me.email).toBe(ADMIN_EMAIL)
  })

  it('refuses a wrong password and an unknown email with the same typed error', async () => {
    const q =
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename ... on Error { message } } }'
    const wrong = await s.gql(q, { e: ADMIN_EMAIL, p: 'nope-nope' })
    const unknown = await s.gql(q, { e: 'nobody@example.test', p: 'nope-nope' })
    expect(wrong.data).toEqual({
      login: { __typename: 'InvalidCredentialsError', message: 'wrong email or password' },
    })
    expect(unknown.data).toEqual(wrong.data)
  })

  it('answers me = null without credentials, and UNAUTHENTICATED for a bad or expired session', async () => {
    expect((await s.gql(ME)).data).toEqual({ me: null })
    const bad = await s.gql(ME, {}, { token: 'sys_not-a-real-session' })
    expect(bad.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
    const token = await s.login(a.users.viewer!.email, a.users.viewer!.password)
    await s.db.query("update sessions set expires_at = now() - interval '1 second'")
    const expired = await s.gql(ME, {}, { token })
    expect(expired.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('treats a stale session cookie as signed out and clears it, so the sign-in page still works', async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'sy_session=sys_long-gone' },
      body: JSON.stringify({ query: ME }),
    })
    expect(await res.json()).toEqual({ data: { me: null } })
    expect(res.headers.get('set-cookie')).toMatch(/^sy_session=; .*Max-Age=0/)
  })

  it('logout ends the session', async () => {
    const token = await s.login(a.users.editor!.email, a.users.editor!.password)
    expect((await s.gql<{ me: { role: string } }>(ME, {}, { token })).data?.me.role).toBe('EDITOR')
    await s.gql('mutation { logout }', {}, { token })
    expect((await s.gql(ME, {}, { token })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('authenticates graphql-ws connections with the same tokens', async () => {
    const token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    const client = s.wsClient(token)
    const result = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: ME }, { next: (r) => resolve(r.data), error: reject, complete: () => {} })
    })
    expect(result).toMatchObject({ me: { email: ADMIN_EMAIL, role: 'ADMIN' } })
  })

  it('closes a WebSocket with a revoked or unknown token at connect, saying why', async () => {
    const client = s.wsClient('sys_unknown-session-token')
    const closed = await collect(client, ME, {}, () => true, 5000).catch((e: unknown) => e)
    expect(closed).toMatchObject({ code: 4403 })
    expect(String((closed as { reason?: string }).reason)).toMatch(/not signed in/)
  })
})

describe('API tokens', () => {
  it('creates a token shown once, lists it by prefix, and refuses it once revoked', async () => {
    const session = await s.login(a.users.editor!.email, a.users.editor!.password)
    const created = await s.gql<{
      createApiToken: { token: string; apiToken: { id: string; prefix: string } }
    }>(
      'mutation { createApiToken(name: "ci") { ... on CreateApiTokenPayload { token apiToken { id prefix } } } }',
      {},
      { token: session },
    )
    const { token, apiToken } = created.data!.createApiToken
    expect(token.startsWith('syp_')).toBe(true)
    expect(token.startsWith(apiToken.prefix)).toBe(true)
    expect((await s.gql<{ me: { role: string } }>(ME, {}, { token })).data?.me.role).toBe('EDITOR')
    const stored = await s.db.query<{ token_hash: string }>(
      'select token_hash from api_tokens where id = $1',
      [apiToken.id],
    )
    expect(stored[0]!.token_hash).not.toContain(token)
    await s.gql(`mutation { revokeApiToken(id: "${apiToken.id}") { __typename } }`, {}, { token: session })
    expect((await s.gql(ME, {}, { token })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('validates input with a message naming the field', async () => {
    const session = await s.login(a.users.editor!.email, a.users.editor!.password)
    const r = await s.gql<{ createApiToken: { __typename: string; issues: { path: string }[] } }>(
      'mutation { createApiToken(name: "  ") { __typename ... on ValidationError { issues { path message } } } }',
      {},
      { token: session },
    )
    expect(r.data?.createApiToken.__typename).toBe('ValidationError')
    expect(r.data?.createApiToken.issues[0]?.path).toBe('name')
  })
})

describe('roles and organization isolation', () => {
  it('refuses user administration to a VIEWER and an EDITOR, on the server', async () => {
    for (const who of ['viewer', 'editor'] as const) {
      const token = await s.login(a.users[who]!.email, a.users[who]!.password)
      const r = await s.gql<{ createUser: { __typename: string } }>(
        'mutation { createUser(email: "x@example.test", name: "x", role: ADMIN) { __typename } }',
        {},
        { token },
      )
      expect(r.data?.createUser.__typename).toBe('ForbiddenError')
    }
    expect(await s.db.query("select 1 from users where email = 'x@example.test'")).toHaveLength(0)
  })

  it('lets an admin create, re-role and delete users, but never the last admin', async () => {
    const token = await s.login(a.users.admin!.email, a.users.admin!.password)
    const created = await s.gql<{ createUser: { user: { id: string }; initialPassword: string } }>(
      'mutation { createUser(email: "new@example.test", name: "New", role: VIEWER) { ... on CreateUserPayload { user { id } initialPassword } } }',
      {},
      { token },
    )
    const { user, initialPassword } = created.data!.createUser
    const newToken = await s.login('new@example.test', initialPassword)
    expect((await s.gql<{ me: { role: string } }>(ME, {}, { token: newToken })).data?.me.role).toBe('VIEWER')
    const promoted = await s.gql<{ setUserRole: { user: { role: string } } }>(
      `mutation { setUserRole(id: "${user.id}", role: EDITOR) { ... on SetUserRoleSuccess { user { role } } } }`,
      {},
      { token },
    )
    expect(promoted.data?.setUserRole.user.role).toBe('EDITOR')
    const demoteSelf = await s.gql<{ setUserRole: { __typename: string; message: string } }>(
      `mutation { setUserRole(id: "${a.users.admin!.id}", role: VIEWER) { __typename ... on Error { message } } }`,
      {},
      { token },
    )
    expect(demoteSelf.data?.setUserRole.__typename).toBe('ForbiddenError')
    await s.gql(`mutation { deleteUser(id: "${user.id}") { __typename } }`, {}, { token })
    expect((await s.gql(ME, {}, { token: newToken })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('shows nothing of organization B to an admin of organization A, not even existence', async () => {
    const tokenA = await s.login(a.users.admin!.email, a.users.admin!.password)
    const users = await s.gql<{ users: { id: string }[] }>('{ users { id } }', {}, { token: tokenA })
    const ids = users.data!.users.map((u) => u.id)
    expect(ids).toContain(a.users.viewer!.id)
    expect(ids).not.toContain(b.users.viewer!.id)
    const del = await s.gql<{ deleteUser: { __typename: string } }>(
      `mutation { deleteUser(id: "${b.users.viewer!.id}") { __typename } }`,
      {},
      { token: tokenA },
    )
    const missing = await s.gql<{ deleteUser: { __typename: string } }>(
      'mutation { deleteUser(id: "00000000-0000-4000-8000-000000000000") { __typename } }',
      {},
      { token: tokenA },
    )
    expect(del.data?.deleteUser.__typename).toBe('NotFoundError')
    expect(missing.data).toEqual(del.data)
    const junk = await s.gql<{ deleteUser: { __typename: string } }>(
      'mutation { deleteUser(id: "1; drop table users") { __typename } }',
      {},
      { token: tokenA },
    )
    expect(junk.data?.deleteUser.__typename).toBe('NotFoundError')
  })
})

describe('hostile queries', () => {
  it('rejects a query deeper than the limit', async () => {
    const token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    let inner = 'id'
    for (let i = 0; i < 14; i++) inner = `children { ${inner} }`
    const r = await s.gql(`{ runs { edges { node { ${inner} } } } }`, {}, { token })
    expect(r.errors?.[0]?.message).toMatch(/depth/i)
  })

  it('rejects oversized bodies, too many aliases and malformed queries with clear errors', async () => {
    const big = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(1_100_000)}` }),
    })
    expect(big.status).toBe(413)
    const aliases = Array.from({ length: 60 }, (_, i) => `a${i}: me { id }`).join(' ')
    expect((await s.gql(`{ ${aliases} }`)).errors?.[0]?.message).toMatch(/alias/i)
    expect((await s.gql('{ me { id ')).errors?.[0]?.message).toMatch(/Syntax Error/)
  })

  it('masks unexpected errors', async () => {
    const token = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    // Breaking the table underneath a resolver produces an unexpected database error.
    await s.db.query('alter table folders rename to folders_gone')
    try {
      const r = await s.gql('{ folders { id } }', {}, { token })
      expect(r.errors?.[0]?.message).toBe('Unexpected error.')
      expect(JSON.stringify(r)).not.toMatch(/relation|does not exist/)
    } finally {
      await s.db.query('alter table folders_gone rename to folders')
    }
  })
})

describe('health', () => {
  it('answers /healthz', async () => {
    const r = await fetch(`${s.url}/healthz`)
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ ok: true })
  })
})
