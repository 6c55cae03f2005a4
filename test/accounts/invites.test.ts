import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'

const INVITE = `mutation($e: String!, $n: String!, $r: Role!) { inviteUser(email: $e, name: $n, role: $r) {
  __typename ... on InviteUserPayload { inviteUrl expiresAt user { id email role } }
  ... on ValidationError { issues { path message } } ... on Error { message } } }`
const ACCEPT = `mutation($t: String!, $p: String!) { acceptInvite(token: $t, password: $p) {
  __typename ... on LoginPayload { token user { email } }
  ... on ValidationError { issues { path message } } ... on Error { message } } }`

interface Invited {
  __typename: string
  inviteUrl?: string
  expiresAt?: string
  user?: { id: string; email: string; role: string }
  message?: string
}
interface Accepted {
  __typename: string
  token?: string
  message?: string
  issues?: { path: string; message: string }[]
}

let s: TestServer
let org: TestOrg
let admin: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  admin = await s.login(org.users.admin!.email, org.users.admin!.password)
})
afterAll(() => s?.stop())

const invite = async (token: string, email: string, role = 'EDITOR') =>
  (await s.gql<{ inviteUser: Invited }>(INVITE, { e: email, n: 'New person', r: role }, { token })).data!
    .inviteUser
const accept = async (secret: string, password: string) => {
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: ACCEPT, variables: { t: secret, p: password } }),
  })
  const body = (await res.json()) as { data: { acceptInvite: Accepted } }
  return { result: body.data.acceptInvite, cookie: res.headers.get('set-cookie') }
}
const secretOf = (url: string) => url.split('/invite/')[1]!

describe('inviting a user', () => {
  it('gives a one-time link; the user chooses a password there, is signed in, then signs in normally', async () => {
    const inv = await invite(admin, 'invited@example.test')
    expect(inv.__typename).toBe('InviteUserPayload')
    expect(inv.inviteUrl).toMatch(new RegExp(`^${s.url.replace('127.0.0.1', 'localhost')}/invite/syi_`))
    expect(Date.parse(inv.expiresAt!) - Date.now()).toBeGreaterThan(6 * 24 * 3600 * 1000)
    // Before accepting there is no password to sign in with.
    const early = await s.gql<{ login: { __typename: string } }>(
      'mutation { login(email: "invited@example.test", password: "") { __typename } }',
    )
    expect(early.data!.login.__typename).toBe('InvalidCredentialsError')

    const short = await accept(secretOf(inv.inviteUrl!), 'short')
    expect(short.result.__typename).toBe('ValidationError')
    expect(short.result.issues).toEqual([{ path: 'password', message: 'must be at least 8 characters' }])

    const ok = await accept(secretOf(inv.inviteUrl!), 'a good password')
    expect(ok.result.__typename).toBe('LoginPayload')
    expect(ok.cookie).toMatch(/HttpOnly/)
    const me = await s.gql<{ me: { email: string; role: string } }>(
      '{ me { email role } }',
      {},
      { token: ok.result.token },
    )
    expect(me.data!.me).toEqual({ email: 'invited@example.test', role: 'EDITOR' })
    expect(await s.login('invited@example.test', 'a good password')).toMatch(/^sys_/)

    // The link works once.
    const again = await accept(secretOf(inv.inviteUrl!), 'another password')
    expect(again.result.__typename).toBe('InvalidInviteError')
    expect(again.cookie).toBeNull()
  })

  it('refuses unknown, expired and deleted-user links with one message', async () => {
    const unknown = await accept('syi_not-a-real-secret', 'a good password')
    expect(unknown.result).toMatchObject({
      __typename: 'InvalidInviteError',
      message: expect.stringMatching(/unknown, already used or expired/),
    })

    const expired = await invite(admin, 'late@example.test')
    await s.db.query("update users set invite_expires_at = now() - interval '1 second' where email = $1", [
      'late@example.test',
    ])
    expect((await accept(secretOf(expired.inviteUrl!), 'a good password')).result.__typename).toBe(
      'InvalidInviteError',
    )

    const gone = await invite(admin, 'gone@example.test')
    await s.gql(`mutation { deleteUser(id: "${gone.user!.id}") { __typename } }`, {}, { token: admin })
    expect((await accept(secretOf(gone.inviteUrl!), 'a good password')).result.__typename).toBe(
      'InvalidInviteError',
    )
  })

  it('only admins invite, and an email is taken once', async () => {
    const editor = await s.login(org.users.editor!.email, org.users.editor!.password)
    const r = await s.gql<{ inviteUser: Invited }>(
      INVITE,
      { e: 'x@example.test', n: 'X', r: 'ADMIN' },
      { token: editor },
    )
    expect(r.data?.inviteUser.__typename).toBe('ForbiddenError')
    const [row] = await s.db.query("select count(*)::int as n from users where email = 'x@example.test'")
    expect(row).toEqual({ n: 0 })
    const twice = await invite(admin, org.users.viewer!.email)
    expect(twice.__typename).toBe('ValidationError')
  })
})
