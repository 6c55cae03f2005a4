import { createHmac } from 'node:crypto'
import ExcelJS from 'exceljs'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import {
  type Receiver,
  createConnection,
  createReporter,
  ref,
  setSecret,
  settledDeliveries,
  startReceiver,
} from './helpers'

// Every channel against a real receiver on loopback: an SMTP server (smtp-server, the mail
// parsed with mailparser) and HTTP servers that check Slack's, Teams', Twilio's and the
// webhook's request formats.
let f: DataFixture
let http: Receiver
let smtp: SMTPServer
let smtpPort: number
const mails: ParsedMail[] = []
const logins: { username: string; password: string }[] = []
let n = 0

beforeAll(async () => {
  f = await dataFixture({ SWITCHYARD_DELIVERY_BACKOFF_MS: '50' })
  http = await startReceiver()
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' })
      if (auth.username === 'reports' && auth.password === 'smtp-pass-123') cb(null, { user: 'reports' })
      else cb(new Error('invalid login'))
    },
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => {
          mails.push(m)
          cb()
        })
        .catch(cb)
    },
  })
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  smtpPort = (smtp.server.address() as { port: number }).port
  await setSecret(f, 'SMTP_PASSWORD', 'smtp-pass-123')
  await setSecret(f, 'SLACK_BOT', 'xoxb-bot-token-1')
  await setSecret(f, 'TWILIO_TOKEN', 'twilio-token-1')
  await setSecret(f, 'HOOK_KEY', 'hmac-key-1234')
  await f.sql(
    "create table sales as select g as id, 'item ' || g as item, g * 1.5 as amount from generate_series(1, 3) g",
  )
})
afterAll(async () => {
  await f?.stop()
  await http?.close()
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()))
})

/** An automation with one reporter on END, run once; returns the run and its settled deliveries. */
async function runWith(
  connectionId: string,
  reporter: Record<string, unknown>,
  config = { statement: 'select 42 as answer' },
) {
  const id = await createAutomation(f.s, f.editor, { name: `reported-${++n}`, kind: 'SQL', config })
  await createReporter(f, id, { name: `r${n}`, connectionId, ...reporter })
  const run = await waitForRun(f.s, f.editor, await runAutomation(f.s, f.editor, id))
  return { id, run, deliveries: await settledDeliveries(f, run.id) }
}

describe('reporter channels', () => {
  it('mails through SMTP with auth, HTML and text, cc, and a storage as CSV and a query as XLSX', async () => {
    const conn = await createConnection(f, {
      name: 'smtp',
      type: 'MAIL',
      config: {
        host: '127.0.0.1',
        port: smtpPort,
        security: 'NONE',
        username: 'reports',
        password: ref('SMTP_PASSWORD'),
        from: 'Switchyard <switchyard@example.test>',
      },
    })
    const { run, deliveries } = await runWith(conn, {
      target: {
        to: ['team@example.test'],
        cc: ['boss@example.test'],
        subject: 'Load {{ automation.name }}: {{ run.state }}',
        attachments: [
          { storage: 'sales', format: 'CSV', filename: 'sales.csv' },
          {
            query: 'select id, amount from sales order by id',
            format: 'XLSX',
            filename: 'sales_{{ "now" | date: "%Y-%m-%d" }}.xlsx',
          },
        ],
      },
    })
    expect(run.state).toBe('SUCCEEDED')
    expect(deliveries).toMatchObject([
      { state: 'DELIVERED', channel: 'MAIL', responseCode: 250, attempts: 1 },
    ])
    expect(logins.at(-1)).toEqual({ username: 'reports', password: 'smtp-pass-123' })
    const m = mails.at(-1)!
    expect(m.subject).toMatch(/^Load reported-\d+: SUCCEEDED$/)
    expect(m.from?.text).toContain('switchyard@example.test')
    expect((Array.isArray(m.to) ? m.to[0] : m.to)?.text).toBe('team@example.test')
    expect((Array.isArray(m.cc) ? m.cc[0] : m.cc)?.text).toBe('boss@example.test')
    expect(m.html).toContain(`/runs/${run.id}`)
    expect(m.text).toContain('SUCCEEDED')
    expect(m.text).not.toContain('<')
    expect(m.headers.get('x-switchyard-delivery')).toBe(deliveries[0]!.idempotencyKey)
    const [csv, xlsx] = m.attachments
    expect(csv!.filename).toBe('sales.csv')
    expect(csv!.content.toString('utf8')).toBe(
      'id,item,amount\r\n1,item 1,1.5\r\n2,item 2,3.0\r\n3,item 3,4.5\r\n',
    )
    expect(xlsx!.filename).toBe(`sales_${new Date().toISOString().slice(0, 10)}.xlsx`)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(xlsx!.content as unknown as ArrayBuffer)
    const sheet = wb.worksheets[0]!
    expect(sheet.getRow(1).values).toEqual([undefined, 'id', 'amount'])
    expect(sheet.rowCount).toBe(4)
    expect(sheet.getRow(4).getCell(1).value).toBe(3)
  })

  it('a refused SMTP login is a failed delivery, not a failed run, and is not retried', async () => {
    await setSecret(f, 'SMTP_WRONG', 'not-the-password')
    const conn = await createConnection(f, {
      name: 'smtp-wrong',
      type: 'MAIL',
      config: {
        host: '127.0.0.1',
        port: smtpPort,
        security: 'NONE',
        username: 'reports',
        password: ref('SMTP_WRONG'),
        from: 'a@example.test',
      },
    })
    const { run, deliveries } = await runWith(conn, { target: { to: ['team@example.test'] } })
    expect(run.state).toBe('SUCCEEDED')
    expect(deliveries).toMatchObject([{ state: 'FAILED', attempts: 1 }])
    expect(deliveries[0]!.error).toMatch(/SMTP: .*(Invalid login|invalid login)/)
    expect(deliveries[0]!.error).not.toContain('not-the-password')
  })

  it('posts Block Kit to a Slack incoming webhook', async () => {
    const conn = await createConnection(f, {
      name: 'slack-hook',
      type: 'SLACK',
      config: { mode: 'WEBHOOK', webhookUrl: `${http.url}/services/T000/B000/XXXX` },
    })
    const before = http.requests.length
    const { run, deliveries } = await runWith(conn, {})
    expect(deliveries).toMatchObject([{ state: 'DELIVERED', responseCode: 200 }])
    const req = http.requests.slice(before).find((r) => r.path === '/services/T000/B000/XXXX')!
    expect(req.headers['content-type']).toBe('application/json')
    const body = JSON.parse(req.body)
    expect(body.text).toContain(`#${run.id}`)
    expect(body.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context'])
    expect(body.blocks[0].text).toMatchObject({ type: 'plain_text' })
    expect(body.blocks[1].text.type).toBe('mrkdwn')
    expect(body.blocks[1].text.text).toContain('ended *SUCCEEDED*')
    // The webhook's path is its secret: deliveries show only the origin.
    expect(deliveries[0]!.detail).not.toContain('XXXX')
  })

  it("calls Slack's chat.postMessage with the bot token and the reporter's channel", async () => {
    const conn = await createConnection(f, {
      name: 'slack-bot',
      type: 'SLACK',
      config: { mode: 'BOT', botToken: ref('SLACK_BOT'), apiUrl: `${http.url}/slack-api` },
    })
    const before = http.requests.length
    http.answers.push(() => ({ status: 200, body: '{"ok":true,"ts":"1.2"}' }))
    const { deliveries } = await runWith(conn, { target: { channel: '#data-alerts' } })
    expect(deliveries).toMatchObject([{ state: 'DELIVERED' }])
    const req = http.requests.slice(before).find((r) => r.path === '/slack-api/chat.postMessage')!
    expect(req.headers.authorization).toBe('Bearer xoxb-bot-token-1')
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8')
    const body = JSON.parse(req.body)
    expect(body.channel).toBe('#data-alerts')
    expect(body.blocks).toHaveLength(3)
  })

  it('a Slack API error (ok: false) fails the delivery with its error code', async () => {
    const conn = await createConnection(f, {
      name: 'slack-bot-bad',
      type: 'SLACK',
      config: { mode: 'BOT', botToken: ref('SLACK_BOT'), apiUrl: `${http.url}/slack-api` },
    })
    http.answers.push(() => ({ status: 200, body: '{"ok":false,"error":"channel_not_found"}' }))
    const { run, deliveries } = await runWith(conn, { target: { channel: '#nope' } })
    expect(run.state).toBe('SUCCEEDED')
    expect(deliveries).toMatchObject([
      { state: 'FAILED', attempts: 1, error: 'Slack chat.postMessage: channel_not_found' },
    ])
  })

  it('posts an Adaptive Card to a Teams webhook', async () => {
    const conn = await createConnection(f, {
      name: 'teams',
      type: 'TEAMS',
      config: { webhookUrl: `${http.url}/teams/hook` },
    })
    const before = http.requests.length
    const { id, run, deliveries } = await runWith(conn, {}, { statement: 'select 1/0' })
    expect(run.state).toBe('FAILED')
    expect(deliveries).toMatchObject([{ state: 'DELIVERED', outcome: 'FAILED' }])
    const req = http.requests.slice(before).find((r) => r.path === '/teams/hook')!
    const body = JSON.parse(req.body)
    expect(body.type).toBe('message')
    expect(body.attachments).toHaveLength(1)
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive')
    const card = body.attachments[0].content
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' })
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', color: 'Attention' })
    expect(card.body[0].text).toContain('FAILED')
    expect(card.body[1].text).toContain('division by zero')
    expect(card.body.find((b: { type: string }) => b.type === 'FactSet').facts).toContainEqual({
      title: 'Run',
      value: `#${run.id}`,
    })
    expect(card.actions[0]).toMatchObject({ type: 'Action.OpenUrl' })
    expect(card.actions[0].url).toMatch(new RegExp(`/runs/${run.id}$`))
    expect(id).toBeTruthy()
  })

  it("texts every number through Twilio's Messages API, form-encoded with basic auth", async () => {
    const sid = `AC${'0123456789abcdef'.repeat(2)}`
    const conn = await createConnection(f, {
      name: 'twilio',
      type: 'TWILIO_SMS',
      config: {
        accountSid: sid,
        authToken: ref('TWILIO_TOKEN'),
        from: '+15005550006',
        apiUrl: `${http.url}/twilio`,
      },
    })
    const before = http.requests.length
    http.answers.push(201, 201)
    const { run, deliveries } = await runWith(conn, { target: { to: ['+41791234567', '+41797654321'] } })
    expect(deliveries).toMatchObject([{ state: 'DELIVERED', responseCode: 201 }])
    const reqs = http.requests
      .slice(before)
      .filter((r) => r.path === `/twilio/2010-04-01/Accounts/${sid}/Messages.json`)
    expect(reqs).toHaveLength(2)
    for (const req of reqs) {
      expect(req.method).toBe('POST')
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded')
      expect(Buffer.from(String(req.headers.authorization).replace('Basic ', ''), 'base64').toString()).toBe(
        `${sid}:twilio-token-1`,
      )
    }
    const forms = reqs.map((r) => Object.fromEntries(new URLSearchParams(r.body)))
    expect(forms.map((x) => x.To)).toEqual(['+41791234567', '+41797654321'])
    expect(forms[0]!.From).toBe('+15005550006')
    expect(forms[0]!.Body).toContain(`(run #${run.id})`)
  })

  it('signs webhooks with HMAC-SHA256 over timestamp and body, with its method and headers', async () => {
    const conn = await createConnection(f, {
      name: 'hook',
      type: 'WEBHOOK',
      config: {
        url: `${http.url}/hook?k=1`,
        method: 'PUT',
        headers: { 'X-Team': 'data' },
        hmacSecret: ref('HOOK_KEY'),
      },
    })
    const before = http.requests.length
    const { id, run, deliveries } = await runWith(conn, {
      template:
        '{ "run": {{ run.id | json }}, "state": {{ run.state | json }}, "automation": {{ automation.name | json }}, "answer": {{ outputs.rows[0].answer | json }} }',
    })
    expect(deliveries).toMatchObject([{ state: 'DELIVERED', responseCode: 200 }])
    const req = http.requests.slice(before).find((r) => r.path === '/hook?k=1')!
    expect(req.method).toBe('PUT')
    expect(req.headers['x-team']).toBe('data')
    expect(req.headers['x-switchyard-delivery']).toBe(deliveries[0]!.idempotencyKey)
    const ts = String(req.headers['x-switchyard-timestamp'])
    const expected = `sha256=${createHmac('sha256', 'hmac-key-1234').update(`${ts}.${req.body}`).digest('hex')}`
    expect(req.headers['x-switchyard-signature']).toBe(expected)
    // A receiver with another key (or a changed body) would not match.
    expect(createHmac('sha256', 'other-key').update(`${ts}.${req.body}`).digest('hex')).not.toBe(
      expected.slice(7),
    )
    expect(JSON.parse(req.body)).toEqual({
      run: run.id,
      state: 'SUCCEEDED',
      automation: expect.stringMatching(/^reported-/),
      answer: 42,
    })
    expect(id).toBeTruthy()
  })

  it('appends a row to a storage (Dataset), once per delivery', async () => {
    const conn = await createConnection(f, { name: 'dataset', type: 'DATASET', config: {} })
    const { run, deliveries } = await runWith(conn, { target: { storage: 'run_reports' } })
    expect(deliveries).toMatchObject([{ state: 'DELIVERED' }])
    const rows = (
      (await f.sql('select run_id::text, state, event, message from run_reports')).outputs as {
        rows: unknown[]
      }
    ).rows
    expect(rows).toEqual([
      {
        run_id: run.id,
        state: 'SUCCEEDED',
        event: 'END',
        message: expect.stringContaining(`run #${run.id} ended SUCCEEDED`),
      },
    ])
  })
})
