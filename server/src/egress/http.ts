import { Agent, type Dispatcher, buildConnector, fetch as undiciFetch } from 'undici'
import { coerceError } from '../errors'
import { checkLiteral, checkedLookup } from './connect'
import type { EgressPolicy } from './policy'

/** What {@link EgressHttp.fetch} takes: fetch's init, without a dispatcher of the caller's. */
export type EgressRequestInit = Omit<NonNullable<Parameters<typeof undiciFetch>[1]>, 'dispatcher'>
export type EgressResponse = Awaited<ReturnType<typeof undiciFetch>>

/** fetch through the egress policy; `close()` ends the pooled connections. */
export interface EgressHttp {
  fetch(url: string, init?: EgressRequestInit): Promise<EgressResponse>
  readonly dispatcher: Dispatcher
  close(): Promise<void>
}

/**
 * An undici Agent whose every connection (the first request and each redirect it follows,
 * on every hop) is checked by the policy on the address it dials: names through a checking
 * `lookup`, address literals before the connect, since Node skips `lookup` for those.
 */
export function createEgressHttp(policy: EgressPolicy): EgressHttp {
  const connector = buildConnector({ lookup: checkedLookup(policy) } as buildConnector.BuildOptions)
  const dispatcher = new Agent({
    connect(options, callback) {
      try {
        checkLiteral(policy, options.hostname)
      } catch (err) {
        callback(coerceError(err), null)
        return
      }
      connector(options, callback)
    },
  })
  return {
    dispatcher,
    fetch: (url, init) => undiciFetch(url, { ...init, dispatcher }),
    close: () => dispatcher.close(),
  }
}
