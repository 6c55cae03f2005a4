import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/src/config'
import { createEgress, createEgressPolicy, parseEgressAllow } from '../../server/src/egress'

const refused = (allow: string, address: string, host = address) => {
  try {
    createEgressPolicy(parseEgressAllow(allow)).check(address, host)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

describe('the egress policy', () => {
  it('refuses loopback, link-local, private, CGNAT, unspecified and their IPv4-mapped forms', () => {
    for (const address of [
      '127.0.0.1',
      '127.9.9.9',
      '::1',
      '169.254.169.254',
      'fe80::1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      'fc00::1',
      'fd12:3456::1',
      '100.64.0.1',
      '0.0.0.0',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      // IPv4-compatible and NAT64 forms embed an IPv4 address too.
      '::127.0.0.1',
      '64:ff9b::7f00:1',
      '2002:7f00:1::',
    ]) {
      expect(refused('', address), address).toMatch(/^egress refused: .* SWITCHYARD_EGRESS_ALLOW$/)
    }
  })

  it('lets public addresses through', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111']) {
      expect(refused('', address), address).toBeUndefined()
    }
  })

  it('says which address was refused, of which host, why, and how to allow it', () => {
    expect(refused('', '127.0.0.1', 'localhost')).toBe(
      'egress refused: 127.0.0.1 (the address of localhost) is a loopback address; an admin can allow it by ' +
        'adding 127.0.0.1 (or a range holding it, or the host name) to SWITCHYARD_EGRESS_ALLOW',
    )
    expect(refused('', '::ffff:10.0.0.1')).toMatch(/^egress refused: 10\.0\.0\.1 .* is a private address;/)
    expect(refused('', '100.64.1.1')).toMatch(/carrier-grade NAT/)
  })

  it('allows what an admin lists: addresses, ranges (mapped forms included) and host names', () => {
    expect(refused('127.0.0.1', '127.0.0.1')).toBeUndefined()
    expect(refused('127.0.0.1', '::ffff:127.0.0.1')).toBeUndefined()
    expect(refused('127.0.0.1', '127.0.0.2')).toMatch(/refused/)
    expect(refused('10.0.0.0/8, ::1', '10.200.3.4')).toBeUndefined()
    expect(refused('10.0.0.0/8, ::1', '::1')).toBeUndefined()
    expect(refused('10.0.0.0/8', '11.0.0.1')).toBeUndefined()
    expect(refused('10.0.0.0/8', '192.168.0.1')).toMatch(/refused/)
    expect(refused('::ffff:192.168.0.0/112', '192.168.3.3')).toBeUndefined()
    expect(refused('db.internal', '10.9.9.9', 'DB.internal.')).toBeUndefined()
    expect(refused('db.internal', '10.9.9.9', 'other.internal')).toMatch(/refused/)
    expect(refused('*.corp.example', '10.9.9.9', 'a.b.corp.example')).toBeUndefined()
    expect(refused('*.corp.example', '10.9.9.9', 'corp.example')).toMatch(/refused/)
  })

  it('parses SWITCHYARD_EGRESS_ALLOW strictly: a typo stops the start, naming the entry', () => {
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0/8',
      '127.1',
      'http://x',
      'a b',
      '::1/129',
      '*.',
      '::ffff:1.2.3.4/90',
    ]) {
      expect(
        () => loadConfig({ SWITCHYARD_EGRESS_ALLOW: bad, SWITCHYARD_DATA_DIR: '/tmp/sy-egress-config' }),
        bad,
      ).toThrow(ConfigError)
    }
    try {
      loadConfig({
        SWITCHYARD_EGRESS_ALLOW: 'db.internal, 10.0.0.0/33',
        SWITCHYARD_DATA_DIR: '/tmp/sy-egress-config',
      })
    } catch (err) {
      expect((err as Error).message).toMatch(
        /SWITCHYARD_EGRESS_ALLOW: "10\.0\.0\.0\/33": the prefix length must be 0 to 32/,
      )
    }
    const config = loadConfig({
      SWITCHYARD_EGRESS_ALLOW: ' db.internal ,10.0.0.0/8,::1,',
      SWITCHYARD_DATA_DIR: '/tmp/sy-egress-config',
    })
    expect(config.egress.allow.entries).toEqual(['db.internal', '10.0.0.0/8', '::1'])
    expect(Object.isFrozen(config.egress)).toBe(true)
  })

  it('checks the address a name resolves to when connecting, not the name', async () => {
    const egress = createEgress({
      allow: parseEgressAllow(''),
      maxHttpResponseBytes: 1024,
      maxDownloadBytes: 1024,
    })
    try {
      // localhost is a name: only its resolution, at connect time, shows it is loopback.
      await expect(egress.connect({ host: 'localhost', port: 5432, timeoutMs: 2000 })).rejects.toThrow(
        /^egress refused: (127\.0\.0\.1|::1) \(the address of localhost\) is a loopback address/,
      )
      await expect(
        egress.connect({ host: '[::ffff:127.0.0.1]', port: 5432, timeoutMs: 2000 }),
      ).rejects.toThrow(/^egress refused: 127\.0\.0\.1 /)
    } finally {
      await egress.close()
    }
  })
})
