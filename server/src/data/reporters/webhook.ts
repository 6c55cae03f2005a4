import type { Egress } from '../../egress'
import { coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import type { ReportMessage, ReporterSpec } from './types'

const shown = (url: string) => {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.search = ''
  return u.toString()
}

/**
 * POSTs the message as JSON; anything but a 2xx is a failure. A retried run sends
 * again (at least once), with the same X-Switchyard-Delivery so receivers can dedupe.
 */
export async function sendWebhook(
  egress: Egress,
  spec: Extract<ReporterSpec, { type: 'WEBHOOK' }>,
  message: ReportMessage,
  signal: AbortSignal,
): Promise<string> {
  const res = await egress
    .fetch(spec.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'switchyard',
        'x-switchyard-delivery': `run-${message.runId}`,
        ...spec.headers,
      },
      body: JSON.stringify(message),
      signal: AbortSignal.any([signal, AbortSignal.timeout(spec.timeoutMs)]),
    })
    .catch((err: unknown) => {
      const e = coerceError(err)
      throw new RunFailure(
        `webhook ${shown(spec.url)}: ${e.cause instanceof Error ? e.cause.message : e.message}`,
      )
    })
  await res.body?.cancel()
  if (!res.ok) throw new RunFailure(`webhook ${shown(spec.url)}: HTTP ${res.status}`)
  return `WEBHOOK ${shown(spec.url)}`
}
