import { createHmac } from 'node:crypto'
import { z } from 'zod'
import type { Egress } from '../../egress'
import { SecretRef, UrlOrSecret } from '../domain'
import { type ChannelServices, DeliveryError, type Outgoing, type Sent, defineChannel } from './channel'
import { request, sent, shownUrl } from './http'

export const SIGNATURE_HEADER = 'x-switchyard-signature'
export const TIMESTAMP_HEADER = 'x-switchyard-timestamp'
export const DELIVERY_HEADER = 'x-switchyard-delivery'

/**
 * The signature receivers check: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` under
 * the shared secret. The timestamp (seconds, also sent as a header) lets them refuse replays.
 */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

export interface WebhookRequest {
  url: string
  method: 'POST' | 'PUT' | 'PATCH'
  headers: Record<string, string>
  body: string
  hmacSecret?: string | undefined
  /** How the URL appears in errors (default: its origin only, as paths can be secrets). */
  shown?: string
  deliveryKey: string
  signal: AbortSignal
  timeoutMs: number
}

/** Sends a JSON body, signed when there is a secret; what ALARM's webhook reporters use too. */
export async function postWebhook(egress: Egress, r: WebhookRequest): Promise<Sent> {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'switchyard',
    [DELIVERY_HEADER]: r.deliveryKey,
    ...r.headers,
  }
  if (r.hmacSecret) {
    headers[TIMESTAMP_HEADER] = timestamp
    headers[SIGNATURE_HEADER] = signatureOf(r.hmacSecret, timestamp, r.body)
  }
  const res = await request(
    egress,
    r.url,
    { method: r.method, headers, body: r.body, signal: r.signal, timeoutMs: r.timeoutMs, shown: r.shown },
    'webhook',
  )
  return sent(res.status, `${r.method} ${r.shown ?? shownUrl(r.url)}`)
}

const HeaderName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name')

export const webhook = defineChannel({
  type: 'WEBHOOK',
  connectionSchema: z.object({
    url: UrlOrSecret,
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    /** Values may hold `${secret.NAME}` references (an Authorization header). */
    headers: z.record(HeaderName, z.string().max(8000)).default({}),
    hmacSecret: SecretRef.optional(),
  }),
  targetSchema: z.object({}).default({}),
  templateMode: 'plain',
  defaultTemplate: `{
  "event": {{ event | json }},
  "automation": {{ automation | json }},
  "run": {{ run | json }},
  "checks": {{ checks | json }},
  "steps": {{ steps | json }}
}`,
  templatesOf: () => ({}),
  send: sendConfigured,
  test: (conn, _target, m, services) => sendConfigured(conn, {}, m, services),
})

async function sendConfigured(
  conn: {
    url: string
    method: WebhookRequest['method']
    headers: Record<string, string>
    hmacSecret?: string | undefined
  },
  _target: unknown,
  m: Outgoing,
  services: ChannelServices,
): Promise<Sent> {
  try {
    JSON.parse(m.body)
  } catch (err) {
    throw new DeliveryError(`the template did not render valid JSON: ${(err as Error).message}`, false)
  }
  return postWebhook(services.egress, {
    url: conn.url,
    method: conn.method,
    headers: conn.headers,
    body: m.body,
    hmacSecret: conn.hmacSecret,
    deliveryKey: m.deliveryKey,
    signal: m.signal,
    timeoutMs: m.timeoutMs,
  })
}
