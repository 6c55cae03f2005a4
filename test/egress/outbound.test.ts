import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { type InternalService, startInternalService } from './targets'

// The server allows the host name "localhost" and nothing else: a run may call
// http://localhost:port, and so the tests can check that what it is redirected to, or
// reaches by an address literal, is still checked on its own address.
let f: DataFixture
let internal: InternalService
let allowed: string
let targets: Record<string, string>

const REFUSED =
  /egress refused: 127\.0\.0\.1( \(written ::ffff:7f00:1\))? is a loopback address; an admin can allow it by adding 127\.0\.0\.1 .*SWITCHYARD_EGRESS_ALLOW/

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_EGRESS_ALLOW: 'localhost' })
  internal = await startInternalService()
  allowed = `http://localhost:${internal.port}`
  const literal = `http://127.0.0.1:${internal.port}/secret`
  const mapped = `http://[::ffff:127.0.0.1]:${internal.port}/secret`
  targets = {
    'a loopback address': literal,
    'an IPv4-mapped IPv6 literal': mapped,
    'a redirect to a loopback address': internal.redirectTo(allowed, literal),
    'a redirect to an IPv4-mapped literal': internal.redirectTo(allowed, mapped),
  }
})
afterAll(async () => {
  await f?.stop()
  await internal?.close()
})

describe('the egress policy on runs', () => {
  it('lets a run reach what is allowed (the check is not refusing everything)', async () => {
    const run = await f.run('HTTP_REQUEST', { url: `${allowed}/public` })
    expect(run.state, run.error ?? '').toBe('SUCCEEDED')
    expect(run.outputs).toMatchObject({ status: 200, body: 'a,b\n1,internal\n' })
  })

  it('refuses HTTP_REQUEST to loopback, directly, as [::ffff:127.0.0.1] and through redirects', async () => {
    for (const [how, url] of Object.entries(targets)) {
      const run = await f.run('HTTP_REQUEST', { url })
      expect(run.state, how).toBe('FAILED')
      expect(run.error, how).toMatch(REFUSED)
    }
    expect(internal.secretHits).toBe(0)
  })

  it('refuses FILE_IMPORT from a URL on loopback, directly and through redirects', async () => {
    for (const [how, url] of Object.entries(targets)) {
      const run = await f.run('FILE_IMPORT', { source: { type: 'URL', url }, target: { storage: 'leak' } })
      expect(run.state, how).toBe('FAILED')
      expect(run.error, how).toMatch(REFUSED)
    }
    expect(internal.secretHits).toBe(0)
  })

  it('refuses ALARM webhooks to loopback, directly and through redirects', async () => {
    for (const [how, url] of Object.entries(targets)) {
      const run = await f.run('ALARM', {
        source: { query: 'select 1' },
        operator: '>',
        threshold: 0,
        reporters: [{ type: 'WEBHOOK', url }],
      })
      expect(run.state, how).toBe('FAILED')
      expect(run.error, how).toMatch(REFUSED)
    }
    expect(internal.secretHits).toBe(0)
  })

  it('refuses testDatasource to the local PostgreSQL, by address and as an IPv4-mapped literal', async () => {
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]']) {
      const r = await f.gql<{ testDatasource: { result: { ok: boolean; message: string } } }>(
        `mutation($c: String) { testDatasource(connectionString: $c) {
          ... on TestDatasourceSuccess { result { ok message } } ... on Error { message } } }`,
        { c: `postgres://postgres@${host}:5432/postgres` },
        f.admin,
      )
      expect(r.testDatasource.result.ok, host).toBe(false)
      expect(r.testDatasource.result.message, host).toMatch(REFUSED)
    }
  })
})
