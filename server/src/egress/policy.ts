import ipaddr from 'ipaddr.js'
import { type EgressAllowList, normalHost, parseAddress } from './allow'

/** The variable an admin sets to let an address or host through; named in every refusal. */
export const EGRESS_ALLOW_VARIABLE = 'SWITCHYARD_EGRESS_ALLOW'

/** Why ipaddr.js ranges are refused, in words for the error message. */
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a private (unique local) address',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'the unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
}

// Only global IPv6 unicast is reachable on the internet; this also keeps out the deprecated
// IPv4-compatible form (::127.0.0.1), which ipaddr.js files under plain unicast.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')

/** A connection the egress policy refused; `code` lets callers tell it from a network error. */
export class EgressRefusedError extends Error {
  override name = 'EgressRefusedError'
  readonly code = 'EGRESS_REFUSED'
  constructor(
    readonly address: string,
    readonly host: string,
    why: string,
  ) {
    const written = normalHost(host)
    // A name says what it resolved to; an address written another way (::ffff:7f00:1) says how.
    const of =
      written === address ? '' : parseAddress(written) ? ` (written ${written})` : ` (the address of ${host})`
    super(
      `egress refused: ${address}${of} is ${why}; an admin can allow it by adding ${address} ` +
        `(or a range holding it, or the host name) to ${EGRESS_ALLOW_VARIABLE}`,
    )
  }
}

/** Decides, for a resolved address, whether an outbound connection may be made. */
export interface EgressPolicy {
  /** Throws {@link EgressRefusedError} unless `address` (what `host` resolved to) may be reached. */
  check(address: string, host: string): void
  readonly allow: EgressAllowList
}

function hostAllowed(allow: EgressAllowList, host: string): boolean {
  const name = normalHost(host)
  return allow.hosts.includes(name) || allow.suffixes.some((suffix) => name.endsWith(suffix))
}

/** Why an address is not public, or undefined when it is. */
function notPublic(address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  const range = address.range()
  if (address.kind() === 'ipv4')
    return range === 'unicast' ? undefined : (RANGE_WORDS[range] ?? `in the ${range} range`)
  if (range !== 'unicast') return RANGE_WORDS[range] ?? `in the special-purpose ${range} range`
  return address.match(GLOBAL_UNICAST_V6) ? undefined : 'not a global IPv6 address'
}

/**
 * The one egress policy: loopback, link-local, private, CGNAT, unspecified and every other
 * non-public address (IPv4-mapped IPv6 forms included, since they are unwrapped first) are
 * refused unless the allow list names the host or a range holding the address. It is asked
 * at connect time about the address actually dialled, so neither a redirect nor a DNS
 * answer that changes between check and use can get around it.
 */
export function createEgressPolicy(allow: EgressAllowList): EgressPolicy {
  return Object.freeze({
    allow,
    check(text: string, host: string) {
      const address = parseAddress(text)
      if (!address) throw new EgressRefusedError(text, host, 'not an IP address')
      if (hostAllowed(allow, host)) return
      const why = notPublic(address)
      if (why === undefined) return
      for (const [base, bits] of allow.ranges) {
        if (base.kind() === address.kind() && address.match(base, bits)) return
      }
      throw new EgressRefusedError(address.toString(), host, why)
    },
  })
}
