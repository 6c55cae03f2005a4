import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DataFixture } from '../data/helpers'

export interface Received {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface Receiver {
  url: string
  requests: Received[]
  /** Status codes for the next requests, in order; then 200. A function answers itself. */
  answers: (number | ((req: Received) => { status: number; body: string }))[]
  /** Body of the default 200 answer. */
  okBody: string
  /** This many next requests get no answer at all (a receiver hanging; the sender dies meanwhile). */
  hold: number
  /** Resolves when the next request arrives. */
  next(): Promise<Received>
  close(): Promise<void>
}

/** A small HTTP server on loopback that records what it receives and answers as told. */
export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    requests: [],
    answers: [],
    okBody: 'ok',
    hold: 0,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {},
  }
  const waiting: ((r: Received) => void)[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const got: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      r.requests.push(got)
      for (const w of waiting.splice(0)) w(got)
      if (r.hold > 0) {
        r.hold--
        return
      }
      const next = r.answers.shift()
      if (typeof next === 'function') {
        const a = next(got)
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body)
      } else
        res
          .writeHead(next ?? 200, { 'content-type': 'text/plain' })
          .end(next && next >= 300 ? 'no' : r.okBody)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return r
}

const CREATE_CONNECTION = `mutation($i: ChannelConnectionInput!) { createChannelConnection(input: $i) {
  __typename ... on CreateChannelConnectionSuccess { connection { id name type } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

export const CREATE_REPORTER = `mutation($a: ID!, $i: ReporterInput!) { createReporter(automationId: $a, input: $i) {
  __typename ... on CreateReporterSuccess { reporter { id name template event condition } }
  ... on ValidationError { message issues { path message } } ... on Error { message } } }`

export async function createConnection(
  f: DataFixture,
  input: { name: string; type: string; config: unknown },
): Promise<string> {
  const r = await f.gql<{ createChannelConnection: { connection?: { id: string }; message?: string } }>(
    CREATE_CONNECTION,
    { i: input },
    f.admin,
  )
  const id = r.createChannelConnection.connection?.id
  if (!id) throw new Error(`createChannelConnection failed: ${JSON.stringify(r)}`)
  return id
}

export async function createReporter(
  f: DataFixture,
  automationId: string,
  input: Record<string, unknown>,
  token = f.editor,
): Promise<string> {
  const r = await f.gql<{ createReporter: { reporter?: { id: string }; message?: string } }>(
    CREATE_REPORTER,
    { a: automationId, i: input },
    token,
  )
  const id = r.createReporter.reporter?.id
  if (!id) throw new Error(`createReporter failed: ${JSON.stringify(r)}`)
  return id
}

export async function setSecret(f: DataFixture, name: string, value: string): Promise<void> {
  await f.gql(
    `mutation($n: String!, $v: String!) { setSecret(name: $n, value: $v) { __typename ... on Error { message } } }`,
    { n: name, v: value },
    f.admin,
  )
}

export interface DeliveryView {
  id: string
  reporterName: string | null
  channel: string | null
  outcome: string
  state: string
  attempts: number
  responseCode: number | null
  error: string | null
  detail: string | null
  idempotencyKey: string
}

const DELIVERIES = `query($id: ID!) { run(id: $id) { id state deliveries {
  id reporterName channel outcome state attempts responseCode error detail idempotencyKey } } }`

export async function deliveriesOf(f: DataFixture, runId: string): Promise<DeliveryView[]> {
  const r = await f.gql<{ run: { deliveries: DeliveryView[] } | null }>(DELIVERIES, { id: runId })
  return r.run?.deliveries ?? []
}

/** Polls the run's deliveries until none is QUEUED or SENDING (and at least `n` exist). */
export async function settledDeliveries(
  f: DataFixture,
  runId: string,
  n = 1,
  timeoutMs = 30_000,
): Promise<DeliveryView[]> {
  const deadline = Date.now() + timeoutMs
  let last: DeliveryView[] = []
  while (Date.now() < deadline) {
    last = await deliveriesOf(f, runId)
    if (last.length >= n && last.every((d) => d.state !== 'QUEUED' && d.state !== 'SENDING')) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`deliveries of run ${runId} did not settle: ${JSON.stringify(last)}`)
}

/** `${secret.NAME}`, written so no linter takes it for a forgotten template literal. */
export const ref = (name: string) => `$${'{'}secret.${name}}`
