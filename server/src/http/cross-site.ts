import type { IncomingHttpHeaders } from 'node:http'
import { SESSION_COOKIE } from '../auth/authenticate'

/** A header a cross-site form or `fetch` without a CORS preflight cannot send. */
export const REQUEST_HEADER = 'x-switchyard-request'

/**
 * Content types a browser sends cross-site without a preflight (the CORS
 * "simple" ones). Anything else is preflighted, and our CORS answer never
 * allows credentials, so such a request cannot carry the session cookie.
 */
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain', ''])

/** True when the request is authenticated by the session cookie alone (no Authorization header). */
export function cookieOnly(headers: IncomingHttpHeaders): boolean {
  if (headers.authorization) return false
  const cookie = headers.cookie ?? ''
  return cookie.split(';').some((c) => c.trim().startsWith(`${SESSION_COOKIE}=`))
}

/**
 * Why a cookie-authenticated HTTP request may be cross-site, or null when it
 * proves it is not (JSON or another preflighted content type, or our custom
 * header). Bearer-token requests and reads (GET, HEAD) are never refused.
 */
export function crossSiteRefusal(method: string | undefined, headers: IncomingHttpHeaders): string | null {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || !cookieOnly(headers)) return null
  if (headers[REQUEST_HEADER]) return null
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (!SIMPLE_TYPES.has(type)) return null
  return `a request authenticated by the session cookie must send content-type application/json or the ${REQUEST_HEADER} header (cross-site requests are refused)`
}

/**
 * A browser opening a WebSocket always sends Origin, and sends the session
 * cookie whatever page opened it: a cookie-authenticated socket is accepted
 * only from the dashboard's own origin (the request's Host, or
 * SWITCHYARD_PUBLIC_URL) or an origin listed in SWITCHYARD_ALLOWED_ORIGINS.
 */
export function webSocketOriginAllowed(
  headers: IncomingHttpHeaders,
  opts: { publicUrl: string; allowedOrigins: readonly string[] },
): boolean {
  const origin = headers.origin
  if (!origin) return true
  if (origin === new URL(opts.publicUrl).origin || opts.allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === headers.host
  } catch {
    return false
  }
}
