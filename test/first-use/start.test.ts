import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ensureWebBuild } from '../web/browser'
import { bootstrap, cleanEnv, startNode } from './bootstrap'

const dataDir = mkdtempSync(join(tmpdir(), 'sy-first-'))
const EMAIL = 'admin@first.test'
const env = cleanEnv({
  PORT: '0',
  HOST: '127.0.0.1',
  SWITCHYARD_DATA_DIR: dataDir,
  SWITCHYARD_ADMIN_EMAIL: EMAIL,
  SWITCHYARD_ADMIN_PASSWORD: 'first-password',
  SWITCHYARD_SANDBOX: 'none',
})

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

async function login(port: number, password: string) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
        __typename ... on LoginPayload { token } } }`,
      variables: { e: EMAIL, p: password },
    }),
  })
  const body = (await res.json()) as { data?: { login: { __typename: string } } }
  return body.data?.login.__typename
}

// One embedded installation, started the way `npm start` starts it, used in order.
describe('npm start on the embedded database', () => {
  it('is quiet and logs JSON when its output is not a terminal', async () => {
    ensureWebBuild()
    const node = await startNode(env)
    const lines = node.stdout().split('\n')
    const ready = lines.findIndex((l) => l.startsWith('SWITCHYARD_READY'))
    const logs = lines.slice(0, ready).filter((l) => l.startsWith('{'))
    expect(logs.length).toBeGreaterThan(0)
    for (const l of logs) expect(JSON.parse(l)).toHaveProperty('msg')
    // Anything else is a phase line or the banner: no build tool's output.
    const others = lines.slice(0, ready).filter((l) => !l.startsWith('{'))
    for (const l of others) expect(l).toMatch(/^(switchyard: .+ done in [\d.]+ s|\s*| {2}.+)$/)
    expect(node.stdout()).not.toMatch(/vite v\d|built in|transforming|npm run preview|Progress: resolved/)
    expect(node.stdout()).toContain(`Sign in as ${EMAIL}`)
    expect(await login(node.port!, 'first-password')).toBe('LoginPayload')
    expect(await node.stop()).toBe(0)
  })

  it('resets the admin password from the shell (npm run reset-password)', async () => {
    const r = bootstrap('reset-password', [EMAIL], env)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const password = /is now: (\S+)/.exec(r.stdout)?.[1]
    expect(password).toBeTruthy()
    const node = await startNode({ ...env, SWITCHYARD_LOG_FORMAT: 'pretty' })
    try {
      expect(await login(node.port!, 'first-password')).toBe('InvalidCredentialsError')
      expect(await login(node.port!, password!)).toBe('LoginPayload')
      // SWITCHYARD_LOG_FORMAT=pretty: lines for a person, not JSON.
      const logs = node
        .stdout()
        .split('\n')
        .filter((l) => /\bINFO\b/.test(l))
      expect(logs.length).toBeGreaterThan(0)
      for (const l of logs) expect(l.trimStart().startsWith('{')).toBe(false)
    } finally {
      expect(await node.stop()).toBe(0)
    }
  })

  it('refuses a password reset for an unknown user with one line', () => {
    const r = bootstrap('reset-password', ['nobody@first.test'], env)
    expect(r.status).toBe(1)
    expect(r.stderr.trim()).toBe('switchyard: reset-password failed: user nobody@first.test not found')
  })
})

describe('npm test without Chromium', () => {
  it('stops with one line saying how to get it', () => {
    const r = bootstrap('test', [], { ...env, CHROMIUM_PATH: '/nonexistent/chromium' })
    expect(r.status).toBe(1)
    expect(r.stderr.trim().split('\n')).toEqual([
      'switchyard: CHROMIUM_PATH=/nonexistent/chromium is not an executable file',
    ])
  })
})
