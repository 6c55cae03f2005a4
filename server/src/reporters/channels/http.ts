import { coerceError } from '../../errors'
import type { Egress, EgressRequestInit } from '../../egress'
import { DeliveryError, type Sent } from './channel'

/** The URL without credentials or query: what a delivery may show (a webhook's path can be its secret, so only the origin). */
export function shownUrl(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return 'an invalid URL'
  }
}

/**
 * One HTTP request through the egress policy. Network errors, timeouts, 5xx and 429 are
 * retryable; other non-2xx are final. Returns the status and the response text (capped).
 */
export async function request(
  egress: Egress,
  url: string,
  init: EgressRequestInit & { signal: AbortSignal; timeoutMs: number; shown?: string | undefined },
  what: string,
): Promise<{ status: number; text: string }> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new DeliveryError(`${what}: not a valid URL`, false)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new DeliveryError(`${what}: only http and https URLs are allowed`, false)
  const { timeoutMs, signal, shown = shownUrl(url), ...rest } = init
  let res: Awaited<ReturnType<Egress['fetch']>>
  try {
    res = await egress.fetch(url, {
      ...rest,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    })
  } catch (err) {
    const e = coerceError(err)
    const cause = e.cause instanceof Error ? e.cause.message : e.message
    // A refusal by the egress policy will not change by retrying.
    throw new DeliveryError(`${what} ${shown}: ${cause}`, !isEgressRefusal(e))
  }
  const text = await readText(res)
  if (res.status >= 200 && res.status < 300) return { status: res.status, text }
  const retryable = res.status >= 500 || res.status === 429
  throw new DeliveryError(`${what} ${shown}: HTTP ${res.status}`, retryable, res.status)
}

/** Reads at most 16 KiB of a response: receivers' answers are only shown, never trusted. */
async function readText(res: Awaited<ReturnType<Egress['fetch']>>): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < 16_384) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } catch {
    return ''
  } finally {
    await reader.cancel().catch(() => {})
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, 16_384)
}

export const sent = (status: number, detail: string): Sent => ({ responseCode: status, detail })

/** True when the error (or one of its causes) is the egress policy refusing the address. */
export function isEgressRefusal(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++)
    if ((e as { code?: unknown }).code === 'EGRESS_REFUSED') return true
  return false
}
