import { z } from 'zod'
import { MAX_HTTP_RESPONSE_VARIABLE, checkDeclaredLength, readCapped } from '../egress'
import { coerceError } from '../errors'
import { RunFailure, defineKind } from './kind'
import { interpolate } from './interpolate'

/** What of the body is kept in the run's outputs; the whole body (up to the cap) is still read. */
const MAX_OUTPUT_BODY = 256 * 1024

/** Calls an HTTP endpoint; `${param}` in url, headers and body are filled from run parameters. */
export const httpRequest = defineKind({
  kind: 'HTTP_REQUEST',
  description: 'Calls a URL and fails unless the status is expected.',
  configSchema: z.object({
    url: z
      .string()
      .min(1)
      .max(4000)
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
    headers: z.record(z.string().min(1).max(200), z.string().max(8000)).default({}),
    body: z.string().max(1_000_000).optional(),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Accepted statuses; default any 2xx. */
    expectStatus: z.array(z.number().int().min(100).max(599)).optional(),
  }),
  async execute({ config, parameters, signal, log, services }) {
    const { egress } = services.data
    const url = interpolate(config.url, parameters, encodeURIComponent)
    const headers = Object.fromEntries(
      Object.entries(config.headers).map(([k, v]) => [k, interpolate(v, parameters, String)]),
    )
    const body = config.body === undefined ? undefined : interpolate(config.body, parameters, String)
    log('INFO', `${config.method} ${redactUrl(url)}`)
    const started = Date.now()
    const response = await egress
      .fetch(url, {
        method: config.method,
        headers,
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        redirect: 'follow',
      })
      .catch((err: unknown) => {
        if (signal.aborted) throw err
        const e = coerceError(err)
        throw new RunFailure(
          `request to ${redactUrl(url)} failed: ${e.cause instanceof Error ? e.cause.message : e.message}`,
        )
      })
    const cap = {
      maxBytes: egress.settings.maxHttpResponseBytes,
      variable: MAX_HTTP_RESPONSE_VARIABLE,
      what: `the response of ${config.method} ${redactUrl(url)}`,
    }
    let bytes: Buffer
    try {
      checkDeclaredLength(response.headers.get('content-length'), cap)
      bytes = await readCapped(response.body, cap)
    } catch (err) {
      await response.body?.cancel().catch(() => {})
      if (signal.aborted) throw err
      throw new RunFailure(coerceError(err).message)
    }
    const ms = Date.now() - started
    log('INFO', `→ ${response.status} in ${ms} ms (${bytes.length} bytes)`)
    if (bytes.length > MAX_OUTPUT_BODY) {
      log('INFO', `the body is kept in the outputs cut to its first ${MAX_OUTPUT_BODY} bytes`)
    }
    const text = bytes.subarray(0, MAX_OUTPUT_BODY).toString('utf8')
    const ok = config.expectStatus ? config.expectStatus.includes(response.status) : response.ok
    if (!ok) throw new RunFailure(`unexpected status ${response.status}: ${text.slice(0, 500)}`)
    let json: unknown
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
    }
    return { outputs: { status: response.status, durationMs: ms, body: json ?? text } }
  },
})

/** Drops userinfo from a URL before it is logged. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password || u.username) {
      u.username = '***'
      u.password = ''
    }
    return u.toString()
  } catch {
    return url
  }
}
