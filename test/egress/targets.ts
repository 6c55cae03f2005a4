import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A service on this machine that runs must not reach: `/secret` answers, and counts its
 * hits, `/redirect?to=URL` sends the client on to any URL. It listens on 127.0.0.1 only.
 */
export interface InternalService {
  port: number
  /** Requests `/secret` received: stays 0 when the policy holds. */
  readonly secretHits: number
  /** A redirect, by this server, to `target`. */
  redirectTo(base: string, target: string): string
  close(): Promise<void>
}

export async function startInternalService(): Promise<InternalService> {
  let secretHits = 0
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end()
      return
    }
    if (url.pathname.startsWith('/secret')) secretHits++
    res.writeHead(200, { 'content-type': 'text/csv' }).end('a,b\n1,internal\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    get secretHits() {
      return secretHits
    },
    redirectTo: (base, target) => `${base}/redirect?to=${encodeURIComponent(target)}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
