import { afterAll, beforeAll, expect, it } from 'vitest'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { type TestDatabase, testDatabase } from '../helpers/db'

// Issue 12, point 6: password guessing is throttled per account and per address, on every node.
const env = {
  SWITCHYARD_LOGIN_MAX_FAILURES: '3',
  SWITCHYARD_LOGIN_MAX_FAILURES_PER_ADDRESS: '7',
  // Long enough that seven slow (scrypt) sign-ins on a loaded machine fall in one window.
  SWITCHYARD_LOGIN_WINDOW_SECONDS: '8',
}
let database: TestDatabase
let s1: TestServer
let s2: TestServer
let org: TestOrg
beforeAll(async () => {
  database = await testDatabase()
  s1 = await startTestServer({ database, env })
  s2 = await startTestServer({ database, env })
  org = await createOrg(database.db, { a: 'EDITOR', b: 'EDITOR', c: 'EDITOR', d: 'EDITOR', e: 'EDITOR' })
})
afterAll(async () => {
  await s1?.stop()
  await s2?.stop()
  await database?.drop()
})

type Login = { login: { __typename: string; message?: string; retryAfterSeconds?: number } }
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename
  ... on Error { message } ... on TooManyAttemptsError { retryAfterSeconds } } }`
const attempt = async (s: TestServer, key: string, right: boolean) => {
  const u = org.users[key]!
  const r = await s.gql<Login>(LOGIN, { e: u.email, p: right ? u.password : 'wrong-password' })
  return r.data!.login
}

it('locks an account after its failures, on every node, until the window ends', async () => {
  for (let i = 0; i < 3; i++)
    expect((await attempt(s1, 'a', false)).__typename).toBe('InvalidCredentialsError')
  // The right password no longer helps, and the other node knows it too.
  const locked = await attempt(s2, 'a', true)
  expect(locked.__typename).toBe('TooManyAttemptsError')
  expect(locked.message).toMatch(/^too many attempts; retry in [1-8] s$/)
  expect(locked.retryAfterSeconds).toBeGreaterThanOrEqual(1)
  expect(locked.retryAfterSeconds).toBeLessThanOrEqual(8)
  // Another account from the same address is not locked by it.
  expect((await attempt(s1, 'b', true)).__typename).toBe('LoginPayload')
  await new Promise((r) => setTimeout(r, 8200))
  expect((await attempt(s1, 'a', true)).__typename).toBe('LoginPayload')
})

it('locks an address that guesses across many accounts', async () => {
  await new Promise((r) => setTimeout(r, 8200))
  for (const key of ['c', 'c', 'c', 'd', 'd', 'd', 'e'])
    expect((await attempt(s1, key, false)).__typename).toBe('InvalidCredentialsError')
  expect((await attempt(s2, 'b', true)).__typename).toBe('TooManyAttemptsError')
})
