import { chmod, rm } from 'node:fs/promises'
import http from 'node:http'
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import { coerceError } from '../errors'
import type { Egress } from './index'

/** A connection through the proxy idle this long is closed: a script cannot park sockets forever. */
const IDLE_MS = 5 * 60_000
const CONNECT_TIMEOUT_MS = 10_000

/** The server's HTTP(S) proxy for sandboxed scripts, listening on a unix socket. */
export interface EgressProxy {
  readonly socketPath: string
  stop(): Promise<void>
}

function refusedBody(err: Error): string {
  return `${coerceError(err).message}\n`
}

/** `host:port` of a CONNECT target, with IPv6 brackets; undefined when malformed. */
function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(authority)
  const port = Number(match?.[2])
  if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) return undefined
  return { host: match[1], port }
}

function answer(socket: Duplex, status: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/** CONNECT host:port (HTTPS and any other TCP through the proxy): a checked tunnel. */
function tunnel(
  egress: Egress,
  req: http.IncomingMessage,
  client: Duplex,
  head: Buffer,
  open: Set<Duplex>,
): void {
  client.on('error', () => {})
  open.add(client)
  client.on('close', () => open.delete(client))
  const target = parseAuthority(req.url ?? '')
  if (!target) {
    answer(client, '400 Bad Request', 'CONNECT needs host:port\n')
    return
  }
  egress.connect({ ...target, timeoutMs: CONNECT_TIMEOUT_MS }).then(
    (upstream) => {
      upstream.setTimeout(IDLE_MS, () => upstream.destroy())
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      client.pipe(upstream).pipe(client)
    },
    (err: Error) => {
      const refused = (err as { code?: string }).code === 'EGRESS_REFUSED'
      answer(client, refused ? '403 Forbidden' : '502 Bad Gateway', refusedBody(err))
    },
  )
}

/** A plain-HTTP request in absolute form (`GET http://host/path`), sent on over a checked socket. */
function forward(egress: Egress, req: http.IncomingMessage, res: http.ServerResponse): void {
  let url: URL
  try {
    url = new URL(req.url ?? '')
  } catch {
    res.writeHead(400).end('a proxy request needs an absolute http:// URL\n')
    return
  }
  if (url.protocol !== 'http:') {
    res.writeHead(400).end('only http:// is forwarded; use CONNECT for https\n')
    return
  }
  const headers = { ...req.headers }
  delete headers['proxy-connection']
  delete headers['proxy-authorization']
  const upstream = http.request({
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers,
    // No agent: then Node asks createConnection for the socket, one per request, opened by
    // the policy (never a pooled one to another host).
    createConnection: (_options, done) => {
      egress
        .connect({ host: url.hostname, port: Number(url.port || 80), timeoutMs: CONNECT_TIMEOUT_MS })
        .then(
          (socket) => done(null, socket),
          (err: Error) => done(err, undefined as unknown as net.Socket),
        )
      return undefined
    },
    timeout: IDLE_MS,
  })
  upstream.on('response', (reply) => {
    res.writeHead(reply.statusCode ?? 502, reply.statusMessage, reply.headers)
    reply.pipe(res)
  })
  upstream.on('timeout', () => upstream.destroy(new Error('the upstream server went quiet')))
  upstream.on('error', (err) => {
    if (res.headersSent) return res.destroy()
    const refused = (err as { code?: string }).code === 'EGRESS_REFUSED'
    res.writeHead(refused ? 403 : 502, { 'content-type': 'text/plain; charset=utf-8' }).end(refusedBody(err))
  })
  res.on('close', () => upstream.destroy())
  req.pipe(upstream)
}

/**
 * Starts the proxy sandboxed scripts reach the network through: CONNECT tunnels and
 * absolute-form HTTP requests, each connection opened by the egress policy (so a script
 * reaches a public API but not 127.0.0.1:5432). It listens on a unix socket that is bind-
 * mounted into the sandboxes, whose own network namespace has no other way out.
 */
export async function startEgressProxy(egress: Egress, socketPath: string): Promise<EgressProxy> {
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => forward(egress, req, res))
  // Tunnels leave the HTTP server's bookkeeping once upgraded: stop() closes them from here.
  const tunnels = new Set<Duplex>()
  server.on('connect', (req, socket, head) => tunnel(egress, req, socket, head, tunnels))
  server.on('clientError', (_err, socket) => socket.destroy())
  await rm(socketPath, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Sandboxes may run as another user one day; the socket itself grants nothing.
  await chmod(socketPath, 0o666)
  return {
    socketPath,
    async stop() {
      server.closeAllConnections()
      for (const socket of tunnels) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(socketPath, { force: true })
    },
  }
}
