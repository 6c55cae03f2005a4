/**
 * Egress: every outbound connection a run makes (HTTP_REQUEST, URL imports, reporters,
 * datasources, scripts through the proxy) goes through one policy, checked on the
 * resolved address at connect time. See policy.ts for what is refused and allow.ts for
 * what an admin can let through.
 */
import type net from 'node:net'
import type { EgressAllowList } from './allow'
import { type CheckedConnectOptions, connectChecked } from './connect'
import { type EgressHttp, createEgressHttp } from './http'
import { type EgressPolicy, createEgressPolicy } from './policy'

export { type EgressAllowList, parseEgressAllow } from './allow'
export { BodyTooLargeError, type Cap, capStream, checkDeclaredLength, readCapped } from './body'
export { EGRESS_ALLOW_VARIABLE, EgressRefusedError, type EgressPolicy, createEgressPolicy } from './policy'
export type { EgressRequestInit, EgressResponse } from './http'

/** The egress settings of the configuration (SWITCHYARD_EGRESS_ALLOW, SWITCHYARD_MAX_*). */
export interface EgressSettings {
  readonly allow: EgressAllowList
  /** HTTP_REQUEST responses over this fail the run. */
  readonly maxHttpResponseBytes: number
  /** URL downloads (FILE_IMPORT) over this fail the run. */
  readonly maxDownloadBytes: number
}

export const MAX_HTTP_RESPONSE_VARIABLE = 'SWITCHYARD_MAX_HTTP_RESPONSE_BYTES'
export const MAX_DOWNLOAD_VARIABLE = 'SWITCHYARD_MAX_DOWNLOAD_BYTES'

/** What runs reach the network through; one per node, `close()` when it stops. */
export interface Egress {
  readonly policy: EgressPolicy
  readonly settings: EgressSettings
  fetch: EgressHttp['fetch']
  /** A connected TCP socket to a checked address (database drivers, the script proxy). */
  connect(opts: CheckedConnectOptions): Promise<net.Socket>
  close(): Promise<void>
}

/** Builds the node's egress from its settings. */
export function createEgress(settings: EgressSettings): Egress {
  const policy = createEgressPolicy(settings.allow)
  const http = createEgressHttp(policy)
  return {
    policy,
    settings,
    fetch: http.fetch,
    connect: (opts) => connectChecked(policy, opts),
    close: () => http.close(),
  }
}
