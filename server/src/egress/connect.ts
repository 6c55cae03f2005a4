import dns from 'node:dns'
import net, { type LookupFunction } from 'node:net'
import { coerceError } from '../errors'
import { parseAddress } from './allow'
import type { EgressPolicy } from './policy'

/**
 * A `lookup` for net/tls/undici that resolves every address of a name and lets through
 * only those the policy allows. The socket then connects to exactly what was checked: no
 * second resolution a rebinding DNS server could answer differently.
 */
export function checkedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0)
      const allowed: dns.LookupAddress[] = []
      let refusal: Error | undefined
      for (const entry of addresses) {
        try {
          policy.check(entry.address, hostname)
          allowed.push(entry)
        } catch (e) {
          refusal ??= coerceError(e)
        }
      }
      const first = allowed[0]
      if (!first) return callback(refusal as NodeJS.ErrnoException, '', 0)
      if (options.all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, allowed)
      callback(null, first.address, first.family)
    })
  }
}

/**
 * Checks a host that is an address literal (`10.0.0.1`, `[::ffff:127.0.0.1]`): Node connects
 * to those without calling `lookup`, so they must be checked before. Names pass through.
 */
export function checkLiteral(policy: EgressPolicy, host: string): void {
  const address = parseAddress(host)
  if (address) policy.check(address.toString(), host)
}

export interface CheckedConnectOptions {
  host: string
  port: number
  timeoutMs: number
  signal?: AbortSignal
}

/**
 * Opens a TCP connection through the policy and resolves once it is connected (the
 * datasource driver and the egress proxy want a ready socket). The host name is kept
 * on the socket as `host`, for TLS SNI.
 */
export function connectChecked(policy: EgressPolicy, opts: CheckedConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    try {
      checkLiteral(policy, opts.host)
    } catch (err) {
      reject(err)
      return
    }
    const bare = opts.host.replace(/^\[(.*)\]$/, '$1')
    const socket = net.connect({ host: bare, port: opts.port, lookup: checkedLookup(policy) })
    const fail = (err: Error) => {
      cleanup()
      socket.destroy()
      reject(err)
    }
    const onTimeout = () =>
      fail(
        Object.assign(new Error(`connection to ${opts.host}:${opts.port} timed out`), {
          code: 'CONNECT_TIMEOUT',
        }),
      )
    const onAbort = () => fail(new Error('the connection was aborted'))
    const timer = setTimeout(onTimeout, opts.timeoutMs)
    const cleanup = () => {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      socket.off('error', fail)
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', fail)
    socket.once('connect', () => {
      cleanup()
      resolve(Object.assign(socket, { host: bare }))
    })
  })
}
