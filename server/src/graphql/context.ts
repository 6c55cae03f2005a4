import type { Viewer } from '../auth/viewer'
import type { Services } from '../services'

export interface Context {
  readonly services: Services
  readonly viewer: Viewer | undefined
  /** Origin header of the HTTP request or WebSocket upgrade (embed tokens are bound to origins). */
  readonly origin: string | undefined
  /** The client's address (the socket's peer) and User-Agent, for throttling and the audit log. */
  readonly clientAddress?: string | undefined
  readonly userAgent?: string | undefined
  /** Set-Cookie values the HTTP layer adds to the response (login/logout). */
  readonly responseCookies: string[]
  /**
   * The credential the viewer was authenticated with: a long-lived subscription
   * authenticates it again when access changes, and ends if it no longer holds.
   */
  readonly credential?: string | undefined
  /** Per-request memo (folder grants and the like), dropped with the request. */
  readonly memo: Map<string, Promise<unknown>>
}
