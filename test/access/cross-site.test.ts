import { request } from 'node:http'
import { createClient } from 'graphql-ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type Setup, setup } from './helpers'

// Issue 12, point 5 (cross-site requests) and the chunked half of point 10.
let x: Setup
let session: string
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN' })
  session = await x.s.login(x.org.users.admin!.email, x.org.users.admin!.password)
})
afterAll(() => x?.s.stop())

const folders = async () => {
  const r = await x.s.gql<{ folders: { name: string }[] }>(
    '{ folders { name } }',
    {},
    { token: x.tokens.admin },
  )
  return r.data!.folders.map((f) => f.name)
}
const post = (path: string, body: BodyInit, headers: Record<string, string>) =>
  fetch(`${x.s.url}${path}`, { method: 'POST', body, headers })

describe('cookie-authenticated HTTP requests must prove they are not cross-site', () => {
  const mutation = 'mutation { createFolder(name: "csrf") { __typename } }'
  it('refuses form, multipart and text/plain bodies carrying only the session cookie', async () => {
    const cookie = `sy_session=${session}`
    const form = await post('/graphql', new URLSearchParams({ query: mutation }), { cookie })
    expect(form.status).toBe(403)
    const fd = new FormData()
    fd.set('operations', JSON.stringify({ query: mutation }))
    const multi = await post('/graphql', fd, { cookie })
    expect(multi.status).toBe(403)
    const text = await post('/graphql', JSON.stringify({ query: mutation }), {
      cookie,
      'content-type': 'text/plain',
    })
    expect(text.status).toBe(403)
    expect(await text.json()).toMatchObject({ error: expect.stringContaining('application/json') })
    const upload = await post('/uploads?name=a.csv', 'a,b\n1,2\n', { cookie, 'content-type': 'text/plain' })
    expect(upload.status).toBe(403)
    expect(await folders()).not.toContain('csrf')
  })

  it('accepts JSON or the custom header with the cookie, and bearer tokens with any content type', async () => {
    const cookie = `sy_session=${session}`
    const json = await post('/graphql', JSON.stringify({ query: mutation }), {
      cookie,
      'content-type': 'application/json',
    })
    expect(json.status).toBe(200)
    expect(await folders()).toContain('csrf')
    const header = await post('/graphql', new URLSearchParams({ query: '{ me { id } }' }), {
      cookie,
      'x-switchyard-request': '1',
    })
    expect(header.status).not.toBe(403)
    const bearer = await post('/graphql', new URLSearchParams({ query: '{ me { id } }' }), {
      authorization: `Bearer ${x.tokens.admin}`,
    })
    expect(bearer.status).not.toBe(403)
  })
})

describe('cookie-authenticated WebSockets', () => {
  const connect = (headers: Record<string, string>, params: Record<string, unknown> = {}) =>
    new Promise<{ ok: boolean; code?: number; reason?: string }>((resolve) => {
      const client = createClient({
        url: x.s.wsUrl,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, { headers })
          }
        },
        connectionParams: params,
        retryAttempts: 0,
      })
      client.subscribe(
        { query: '{ me { email } }' },
        {
          next: () => {
            void client.dispose()
            resolve({ ok: true })
          },
          error: (e) => {
            void client.dispose()
            const c = e as { code?: number; reason?: string }
            resolve({ ok: false, code: c.code, reason: c.reason })
          },
          complete: () => {},
        },
      )
    })

  it('refuses a foreign origin riding the session cookie', async () => {
    const r = await connect({ origin: 'https://evil.example', cookie: `sy_session=${session}` })
    expect(r).toMatchObject({ ok: false, code: 4403 })
    expect(r.reason).toContain('evil.example')
  })

  it('accepts the dashboard origin with the cookie, and any origin with a bearer token', async () => {
    expect(await connect({ origin: x.s.url, cookie: `sy_session=${session}` })).toEqual({ ok: true })
    expect(
      await connect({ origin: 'https://bi.example' }, { authorization: `Bearer ${x.tokens.admin}` }),
    ).toEqual({ ok: true })
  })
})

describe('the 1 MB /graphql limit', () => {
  it('holds for a chunked body with no Content-Length', async () => {
    const port = new URL(x.s.url).port
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${x.tokens.admin}` },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        },
      )
      req.on('error', (e) =>
        (e as { code?: string }).code === 'EPIPE' || (e as { code?: string }).code === 'ECONNRESET'
          ? undefined
          : reject(e),
      )
      const chunk = `{"query":"{ me { id } }","pad":"${'x'.repeat(64 * 1024)}`
      let sent = 0
      const pump = () => {
        while (sent < 40) {
          sent++
          if (!req.write(chunk)) return req.once('drain', pump)
        }
        req.end('"}')
      }
      pump()
    })
    expect(status).toBe(413)
    // A small chunked body still works.
    const ok = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${x.tokens.admin}` },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        },
      )
      req.on('error', reject)
      req.write('{"query":')
      req.end('"{ me { id } }"}')
    })
    expect(ok).toBe(200)
  })
})
