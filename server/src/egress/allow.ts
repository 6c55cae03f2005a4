import ipaddr from 'ipaddr.js'

/**
 * What an admin let through the egress policy (`SWITCHYARD_EGRESS_ALLOW`): host names,
 * matched as asked for (`db.internal`, or `*.corp.example` for every name under it), and
 * address ranges, matched against the resolved address (`10.0.0.0/8`, `127.0.0.1`, `::1`).
 */
export interface EgressAllowList {
  readonly hosts: readonly string[]
  /** Host suffixes from `*.name` entries, with their leading dot. */
  readonly suffixes: readonly string[]
  readonly ranges: readonly (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[]
  /** The entries as written, for the start log. */
  readonly entries: readonly string[]
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/** A host name as the policy compares it: lower case, no trailing dot, no IPv6 brackets. */
export function normalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return bare.toLowerCase().replace(/\.$/, '')
}

/** An address literal in its one canonical form, IPv4-mapped IPv6 unwrapped; undefined if not one. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = normalHost(text)
  // Only the four-part dotted form: `127.1` or `0x7f.1` are names to us, never addresses.
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare)
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.process(bare)
  return undefined
}

function parseRange(entry: string): readonly [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const slash = entry.indexOf('/')
  const address = parseAddress(slash < 0 ? entry : entry.slice(0, slash))
  if (!address) return undefined
  if (slash < 0) return [address, address.kind() === 'ipv4' ? 32 : 128]
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is kept as the IPv4 range it maps.
  const written = normalHost(entry.slice(0, slash)).includes(':') ? 128 : 32
  const bits = entry.slice(slash + 1)
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > written) {
    throw new Error(`"${entry}": the prefix length must be 0 to ${written}`)
  }
  const wasMapped = address.kind() === 'ipv4' && written === 128
  const prefix = wasMapped ? Number(bits) - 96 : Number(bits)
  if (prefix < 0) throw new Error(`"${entry}": an IPv4-mapped range needs a prefix of at least 96`)
  return [address, prefix]
}

/**
 * Parses `SWITCHYARD_EGRESS_ALLOW`: a comma-separated list of host names, `*.suffix`
 * patterns, addresses and CIDR ranges. Anything else throws, naming the entry, so a
 * typo stops the start instead of silently allowing nothing (or everything).
 */
export function parseEgressAllow(raw: string | undefined): EgressAllowList {
  const hosts: string[] = []
  const suffixes: string[] = []
  const ranges: (readonly [ipaddr.IPv4 | ipaddr.IPv6, number])[] = []
  const entries = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  for (const entry of entries) {
    const range = parseRange(entry)
    if (range) {
      ranges.push(range)
      continue
    }
    const host = normalHost(entry)
    if (host.startsWith('*.') && HOST_NAME.test(host.slice(2))) suffixes.push(host.slice(1))
    else if (HOST_NAME.test(host) && !/^[\d.]+$/.test(host)) hosts.push(host)
    else
      throw new Error(
        `"${entry}" is neither a host name (db.internal, *.corp.example) nor an address or CIDR range (10.0.0.0/8, ::1)`,
      )
  }
  return Object.freeze({
    hosts: Object.freeze(hosts),
    suffixes: Object.freeze(suffixes),
    ranges: Object.freeze(ranges),
    entries: Object.freeze(entries),
  })
}
