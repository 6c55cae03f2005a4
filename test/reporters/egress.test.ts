import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type Receiver, createConnection, createReporter, settledDeliveries, startReceiver } from './helpers'

// Reporters obey the egress policy like every outbound connection: with loopback not
// allowed, neither HTTP channels nor SMTP reach a server on this machine, and a refusal
// is final (not retried).
let f: DataFixture
let http: Receiver
let smtpConnections = 0
const smtp = createServer((socket) => {
  smtpConnections++
  socket.end('421 nope\r\n')
})
let n = 0

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_EGRESS_ALLOW: '', SWITCHYARD_DELIVERY_BACKOFF_MS: '50' })
  http = await startReceiver()
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r))
})
afterAll(async () => {
  await f?.stop()
  await http?.close()
  await new Promise((r) => smtp.close(r))
})

async function deliveryFor(type: string, config: unknown, target: unknown = {}) {
  const connectionId = await createConnection(f, { name: `c${++n}`, type, config })
  const id = await createAutomation(f.s, f.editor, {
    name: `a${n}`,
    kind: 'SQL',
    config: { statement: 'select 1' },
  })
  await createReporter(f, id, { name: 'r', connectionId, target })
  const run = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
  expect(run.state).toBe('SUCCEEDED')
  return (await settledDeliveries(f, run.id))[0]!
}

describe('reporters and the egress policy', () => {
  it('refuses a webhook to loopback', async () => {
    const d = await deliveryFor('WEBHOOK', { url: `${http.url}/in` })
    expect(d).toMatchObject({ state: 'FAILED', attempts: 1 })
    expect(d.error).toMatch(/egress refused: 127\.0\.0\.1 is a loopback address/)
    expect(http.requests).toHaveLength(0)
  })

  it('refuses SMTP to loopback', async () => {
    const port = (smtp.address() as { port: number }).port
    const d = await deliveryFor(
      'MAIL',
      { host: '127.0.0.1', port, security: 'NONE', from: 'a@example.com' },
      { to: ['b@example.com'] },
    )
    expect(d).toMatchObject({ state: 'FAILED', attempts: 1 })
    expect(d.error).toMatch(/egress refused: 127\.0\.0\.1 is a loopback address/)
    expect(smtpConnections).toBe(0)
  })
})
