/**
 * What the run-button suite needs around the server: a second web site (the
 * "BI dashboard" on another origin), a TCP proxy that can cut connections,
 * and a real Chromium.
 */
import { type IncomingMessage, createServer as createHttpServer, request as httpRequest } from 'node:http'
import { type AddressInfo, type Socket, connect, createServer as createTcpServer } from 'node:net'
import { type Browser, chromium } from 'playwright-core'

export interface HostSite {
  /** http://localhost:<port>: another origin than the server's http://127.0.0.1:<port>. */
  origin: string
  /** Serves `html` at a fresh path and returns its URL. */
  page(html: string): string
  stop(): Promise<void>
}

/**
 * A tiny web site for host pages. With `backend` (a port), every other path,
 * WebSockets included, is forwarded there, as a reverse proxy in front of
 * Switchyard and its dashboard would: pages and API then share one origin.
 */
export async function startHostSite(opts: { backend?: number } = {}): Promise<HostSite> {
  const pages = new Map<string, string>()
  const tunnels = new Set<Socket>()
  const { backend } = opts
  const server = createHttpServer((req, res) => {
    const html = pages.get(req.url ?? '')
    if (html !== undefined || backend === undefined) {
      res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      res.end(html ?? 'not found')
      return
    }
    const upstream = httpRequest(
      { host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      },
    )
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    if (backend === undefined) return client.destroy()
    const upstream = connect(backend, '127.0.0.1')
    const lines = [`${req.method} ${req.url} HTTP/1.1`]
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
    upstream.write(head)
    for (const s of [client, upstream]) {
      tunnels.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        tunnels.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`
  return {
    origin,
    page(html) {
      const path = `/dashboard/${pages.size + 1}`
      pages.set(path, html)
      return origin + path
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of tunnels) s.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface CuttableProxy {
  url: string
  /** Connections accepted so far. */
  readonly accepted: number
  /** Destroys every open connection, as a network drop would. */
  cut(): void
  /** While blocked, new connections are reset at once. */
  block(on: boolean): void
  stop(): Promise<void>
}

/** A TCP proxy to 127.0.0.1:`port`, for dropping the button's connections mid-run. */
export async function startProxy(port: number): Promise<CuttableProxy> {
  const open = new Set<Socket>()
  let blocked = false
  let accepted = 0
  const server = createTcpServer((client) => {
    if (blocked) return client.resetAndDestroy()
    accepted++
    const upstream = connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      open.add(s)
      s.on('close', () => open.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted() {
      return accepted
    },
    cut: () => {
      for (const s of open) s.resetAndDestroy()
    },
    block: (on) => {
      blocked = on
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Debian's Chromium, headless, without the background traffic a test does not need. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

const escapeAttr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;')

/** One `<run-button>` with the given attributes. */
export function runButton(id: string, attrs: Record<string, string>): string {
  const list = Object.entries(attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
  return `<p><run-button id="${id}"${list.join('')}></run-button></p>`
}

/** What the page recorded: the buttons' events, and every render of their `state` attribute. */
export type PageRecord =
  | { type: 'run-start' | 'run-finish' | 'run-error'; button: string; detail: Record<string, unknown> }
  | { type: 'state'; button: string; state: string | null; text: string; elapsed: string; disabled: boolean }

/**
 * A host page: loads the button's script from `scriptUrl` and records into
 * `window.records` what a page author can observe.
 */
export function hostPage(scriptUrl: string, body: string, style = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sales dashboard</title>
<style>body{font:16px system-ui,sans-serif;margin:24px;color:#111}${style}</style>
<script type="module" src="${escapeAttr(scriptUrl)}"></script></head>
<body><h1>Sales dashboard</h1>
<script>
window.records = []
for (const type of ['run-start', 'run-finish', 'run-error']) {
  document.addEventListener(type, (e) => records.push({ type, button: e.target.id, detail: e.detail }))
}
new MutationObserver((list) => {
  for (const m of list) {
    const root = m.target.shadowRoot
    records.push({
      type: 'state',
      button: m.target.id,
      state: m.target.getAttribute('state'),
      text: root.querySelector('[part=status]').textContent,
      elapsed: root.querySelector('[part=elapsed]').textContent,
      disabled: root.querySelector('button').disabled,
    })
  }
}).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['state'] })
</script>
${body}
</body></html>`
}

/** The distinct states a button went through, in order. */
export function statesOf(records: PageRecord[], button: string): string[] {
  const out: string[] = []
  for (const r of records) {
    if (r.type === 'state' && r.button === button && r.state && out.at(-1) !== r.state) out.push(r.state)
  }
  return out
}
