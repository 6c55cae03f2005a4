import { existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../log'

const HANDLER = fileURLToPath(new URL('../../../web/build/handler.js', import.meta.url))

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** The built SvelteKit dashboard (adapter-node handler), or a hint when it has not been built. */
export async function dashboardHandler(log: Logger): Promise<Handler> {
  if (existsSync(HANDLER)) {
    const mod = (await import(HANDLER)) as {
      handler: (req: IncomingMessage, res: ServerResponse, next: () => void) => void
    }
    return (req, res) =>
      mod.handler(req, res, () => {
        res.writeHead(404, { 'content-type': 'text/plain' })
        res.end('not found')
      })
  }
  log.debug('dashboard not built; serving a pointer to GraphiQL')
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(
      '<!doctype html><title>Switchyard</title><p>The dashboard is not built. The API and GraphiQL are at <a href="/graphql">/graphql</a>.</p>',
    )
  }
}
