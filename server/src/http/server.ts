import { createReadStream, existsSync } from 'node:fs'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { execute, subscribe } from 'graphql'
import { useServer } from 'graphql-ws/use/ws'
import { WebSocketServer } from 'ws'
import { coerceError } from '../errors'
import { BodyTooLarge, readBody } from '../triggers/body'
import { cookieOnly, crossSiteRefusal, webSocketOriginAllowed } from './cross-site'
import { createLiveSends } from './live-sends'
import { buildContext, headersOf } from '../graphql/context-factory'
import type { GraphQLServer } from '../graphql/yoga'
import type { Services } from '../services'

const MAX_BODY_BYTES = 1_000_000
const RUN_BUTTON = fileURLToPath(new URL('../../../embed/dist/run-button.js', import.meta.url))

export interface HttpServer {
  readonly port: number
  /** Stops accepting, closes WebSockets, waits for in-flight requests. */
  stop(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface RouteExtras {
  /** POST /hooks/<token> (webhook triggers), when that feature is loaded. */
  hooks?: Handler
  /** The SvelteKit dashboard, when built. */
  dashboard?: Handler
  /** POST /uploads (files streamed into FILE datasources), when that feature is loaded. */
  uploads?: Handler
}

/** One port serves GraphQL over HTTP and WebSocket, health, the run button and the dashboard. */
export async function startHttpServer(
  services: Services,
  yoga: GraphQLServer,
  opts: { port: number; host: string } & RouteExtras,
): Promise<HttpServer> {
  const log = services.log
  const graphql = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST') {
      try {
        // Read here, under the limit, so a chunked body cannot grow past it inside yoga.
        const body = await readBody(req, MAX_BODY_BYTES)
        if (body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = body
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close')
          return send(res, 413, { error: `request body over ${MAX_BODY_BYTES} bytes` })
        }
        throw err
      }
    }
    return yoga.handle(req, res)
  }
  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]!
      if (path === '/healthz') return await health(services, res)
      if (path === '/graphql' || path === '/uploads') {
        const refusal = crossSiteRefusal(req.method, req.headers)
        if (refusal) return send(res, 403, { error: refusal })
      }
      if (path === '/graphql') return await graphql(req, res)
      if (path.startsWith('/hooks/') && opts.hooks) return await opts.hooks(req, res)
      if (path === '/uploads' && opts.uploads) return await opts.uploads(req, res)
      if (path === '/embed/run-button.js') return runButton(res)
      if (opts.dashboard) return await opts.dashboard(req, res)
      send(res, 404, { error: 'not found; the API is at /graphql' })
    } catch (err) {
      log.error({ err: coerceError(err) }, 'request failed')
      if (!res.headersSent) send(res, 500, { error: 'internal error' })
      else res.end()
    }
  })
  const sends = createLiveSends()
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: MAX_BODY_BYTES })
  const wsServer = useServer(
    {
      execute: (args) => (args.rootValue as { execute: typeof execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof subscribe }).subscribe(args),
      // Credentials and Origin are checked when the socket opens, so a revoked token or a
      // foreign origin gets a clear close (4403 with the reason), not a failure per subscription.
      onConnect: async (ctx) => {
        try {
          const headers = ctx.extra.request.headers
          const bearer = typeof ctx.connectionParams?.authorization === 'string'
          if (!bearer && cookieOnly(headers) && !webSocketOriginAllowed(headers, services.config)) {
            throw new Error(
              `origin ${headers.origin} may not open a socket with the session cookie; pass a bearer token in connectionParams or list the origin in SWITCHYARD_ALLOWED_ORIGINS`,
            )
          }
          await buildContext(services, {
            headers: headersOf(ctx.extra.request.headers),
            connectionParams: ctx.connectionParams,
          })
          return true
        } catch (err) {
          ctx.extra.socket.close(4403, coerceError(err).message.slice(0, 120))
          return false
        }
      },
      onSubscribe: async (ctx, id, params) => {
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
        })
        const contextValue = await enveloped.contextFactory()
        // A result the shared fan-out serialized is sent as those bytes, framed with this
        // subscription's id, instead of being serialized again for every subscriber, and a
        // connection's messages are written together (live-sends.ts).
        const socket = ctx.extra.socket
        const raw = ctx.extra.request.socket
        const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`
        services.sharedExecution.attach(contextValue, {
          deliver: (json) => sends.send(socket, raw, `${prefix}${json}}`),
          drained: () => sends.drained(socket, raw),
        })
        const args = {
          schema: enveloped.schema,
          operationName: params.operationName,
          document: enveloped.parse(params.query),
          variableValues: params.variables,
          contextValue,
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        }
        const errors = enveloped.validate(args.schema, args.document)
        if (errors.length > 0) return errors
        return args
      },
    },
    wss,
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, resolve)
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    async stop() {
      sends.stop()
      await wsServer.dispose()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
    },
  }
}

async function health(services: Services, res: ServerResponse) {
  try {
    await services.db.query('select 1')
    send(res, 200, { ok: true })
  } catch {
    send(res, 503, { ok: false, error: 'database unreachable' })
  }
}

function runButton(res: ServerResponse) {
  if (!existsSync(RUN_BUTTON)) return send(res, 404, { error: 'run button not built; run the build' })
  res.writeHead(200, {
    'content-type': 'text/javascript; charset=utf-8',
    'access-control-allow-origin': '*',
    'cache-control': 'public, max-age=300',
  })
  createReadStream(RUN_BUTTON).pipe(res)
}

export function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
