import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEgress, parseEgressAllow } from '../../server/src/egress'
import { createSandboxPool, resolveIsolation } from '../../server/src/sandbox/index'
import { eventually, job } from './helpers'

// Real namespaces (bubblewrap is installed wherever this suite runs: .ci/run installs it;
// a host without it fails here rather than skipping). The egress policy allows the name
// "localhost" only: through the proxy a script reaches http://localhost:port, and the
// same server as 127.0.0.1 is refused, like the PostgreSQL server on 127.0.0.1:5432.
const egress = createEgress({
  allow: parseEgressAllow('localhost'),
  maxHttpResponseBytes: 1 << 20,
  maxDownloadBytes: 1 << 20,
})
const pool = createSandboxPool({
  warm: 1,
  isolation: resolveIsolation({ mode: 'bwrap', directNetwork: false }),
  egress,
})
let service: Server
let port = 0
let hits = 0

beforeAll(async () => {
  service = createServer((req, res) => {
    hits++
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${req.url}`)
  })
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
  port = (service.address() as AddressInfo).port
})
afterAll(async () => {
  await pool.stop()
  await egress.close()
  service.closeAllConnections()
  await new Promise((resolve) => service.close(resolve))
})

const REFUSED =
  /egress refused: 127\.0\.0\.1 is a loopback address; an admin can allow it .*SWITCHYARD_EGRESS_ALLOW/

// JavaScript: a raw TCP connection, a CONNECT through the proxy, and plain HTTP through it.
const JS_PROBES = `
const net = process.getBuiltinModule('net')
const http = process.getBuiltinModule('http')
const proxy = new URL(process.env.HTTP_PROXY)
const direct = await new Promise((resolve) => {
  const s = net.connect(5432, '127.0.0.1')
  s.on('connect', () => { s.destroy(); resolve('connected') })
  s.on('error', (e) => resolve(e.code))
})
const connect = await new Promise((resolve) => {
  const s = net.connect(Number(proxy.port), proxy.hostname)
  let text = ''
  s.on('connect', () => s.write('CONNECT 127.0.0.1:5432 HTTP/1.1\\r\\nhost: 127.0.0.1:5432\\r\\n\\r\\n'))
  s.on('data', (d) => (text += d))
  s.on('close', () => resolve(text))
  s.on('error', (e) => resolve(e.code))
})
const get = (url) => new Promise((resolve) => {
  const req = http.request({ host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host } }, (res) => {
    let body = ''
    res.on('data', (d) => (body += d))
    res.on('end', () => resolve({ status: res.statusCode, body }))
  })
  req.on('error', (e) => resolve({ error: e.code }))
  req.end()
})
// fetch() goes through the proxy too, without the script saying so.
const fetched = await fetch(params.allowed.replace('hello', 'fetched')).then((r) => r.text())
const fetchRefused = await fetch(params.refused).then((r) => r.status, (e) => String(e.cause?.message ?? e))
return { direct, connect, refused: await get(params.refused), allowed: await get(params.allowed), fetched, fetchRefused }`

const PY_PROBES = `
import http.client, os, socket, urllib.error, urllib.request
try:
    socket.create_connection(("127.0.0.1", 5432), timeout=5).close()
    direct = "connected"
except OSError as e:
    direct = type(e).__name__
tunnel = http.client.HTTPConnection("127.0.0.1", 3128, timeout=5)
tunnel.set_tunnel("127.0.0.1", 5432)
try:
    tunnel.connect()
    connect = "tunnel open"
except OSError as e:
    connect = str(e)
try:
    urllib.request.urlopen(params["refused"], timeout=5)
    refused = "reached"
except urllib.error.HTTPError as e:
    refused = {"status": e.code, "body": e.read().decode()}
allowed = urllib.request.urlopen(params["allowed"], timeout=5).read().decode()
# HTTPS clients tunnel with CONNECT: the same through an allowed tunnel, in plain HTTP.
tunnel = http.client.HTTPConnection("127.0.0.1", 3128, timeout=5)
tunnel.set_tunnel("localhost", SERVICE_PORT)
tunnel.request("GET", "/tunnelled")
tunnelled = tunnel.getresponse().read().decode()
set_output("probes", {"direct": direct, "connect": connect, "refused": refused, "allowed": allowed, "tunnelled": tunnelled})`

describe('scripts in their own network namespace', () => {
  const urls = () => ({
    refused: `http://127.0.0.1:${port}/secret`,
    allowed: `http://localhost:${port}/hello`,
  })

  it('JavaScript: 127.0.0.1:5432 is out of reach; the proxy refuses loopback and forwards what is allowed', async () => {
    const before = hits
    const { outputs } = await pool.run(job('javascript', JS_PROBES, { args: { params: urls() } }))
    expect(outputs.direct).toBe('ECONNREFUSED')
    expect(outputs.connect).toMatch(/^HTTP\/1\.1 403 Forbidden/)
    expect(outputs.connect).toMatch(REFUSED)
    expect(outputs.refused).toMatchObject({ status: 403, body: expect.stringMatching(REFUSED) })
    expect(outputs.allowed).toEqual({ status: 200, body: 'hello from /hello' })
    expect(outputs.fetched).toBe('hello from /fetched')
    // undici's ProxyAgent tunnels http:// too: the proxy's 403 fails the CONNECT, and fetch
    // rejects (the count of hits below shows the request never arrived).
    expect(outputs.fetchRefused).not.toBe(200)
    expect(typeof outputs.fetchRefused).toBe('string')
    expect(hits - before).toBe(2)
  })

  it('Python: the same, with urllib finding the proxy through HTTP_PROXY, and CONNECT tunnels', async () => {
    const code = PY_PROBES.replace('SERVICE_PORT', String(port))
    // The first Python job starts its process; the second is served by one started ahead of need.
    for (const served of ['cold', 'warm']) {
      if (served === 'warm') await eventually(() => pool.stats.warm === 2, 'a warm Python process')
      const before = hits
      const { outputs } = await pool.run(job('python', code, { args: { params: urls() } }))
      const probes = outputs.probes as Record<string, unknown>
      expect(probes.direct, served).toBe('ConnectionRefusedError')
      expect(probes.connect, served).toMatch(/Tunnel connection failed: 403 Forbidden/)
      expect(probes.refused, served).toMatchObject({ status: 403, body: expect.stringMatching(REFUSED) })
      expect(probes.allowed, served).toBe('hello from /hello')
      expect(probes.tunnelled, served).toBe('hello from /tunnelled')
      expect(hits - before, served).toBe(2)
    }
  })
})
