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
  spec: Extract<ReporterSpec, { type: 'WEBHOOK' }>,
  message: ReportMessage,
  signal: AbortSignal,
): Promise<string> {
  const res = await fetch(spec.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'switchyard',
      'x-switchyard-delivery': `run-${message.runId}`,
      ...spec.headers,
    },
    body: JSON.stringify(message),
    signal: AbortSignal.any([signal, AbortSignal.timeout(spec.timeoutMs)]),
  }).catch((err: Error) => {
    throw new RunFailure(
      `webhook ${shown(spec.url)}: ${err.cause instanceof Error ? err.cause.message : err.message}`,
    )
  })
  await res.body?.cancel()
  if (!res.ok) throw new RunFailure(`webhook ${shown(spec.url)}: HTTP ${res.status}`)
  return `WEBHOOK ${shown(spec.url)}`
}
