/**
 * What the dashboard suite needs around the server: the built SvelteKit app,
 * a real Chromium, screenshots, and the weight of the JavaScript a page loads.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const ARTIFACTS = join(root, 'test', 'artifacts')

/**
 * Builds web/ when its adapter-node output is missing (`npm test` rebuilds it
 * before every run; this covers `vitest run web` straight after a checkout).
 */
export function ensureWebBuild(): void {
  if (existsSync(join(root, 'web', 'build', 'handler.js'))) return
  const vite = join(root, 'web', 'node_modules', 'vite', 'bin', 'vite.js')
  // Vitest sets NODE_ENV=test, which would give a development build of Svelte.
  const r = spawnSync(process.execPath, [vite, 'build'], {
    cwd: join(root, 'web'),
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  if (r.status !== 0)
    throw new Error('building web/ failed; run `pnpm --filter @switchyard/web run build` to see why')
}

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

/** A browser context already signed in with a session token (the cookie the login mutation sets). */
export async function signedInContext(
  browser: Browser,
  baseUrl: string,
  token: string,
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
  await context.addCookies([
    { name: 'sy_session', value: token, url: baseUrl, httpOnly: true, sameSite: 'Lax' },
  ])
  return context
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  // Let live badges and fonts settle so the picture shows the final state.
  await page.waitForTimeout(150)
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

export interface ScriptWeight {
  /** `found`: which of the `markers` the file contains (to tell which library a hashed chunk holds). */
  files: { url: string; bytes: number; gzip: number; found: string[] }[]
  totalBytes: number
  totalGzip: number
}

/**
 * Loads `url` in a fresh page and weighs every JavaScript file it fetched,
 * gzipped here at level 9 so the figure does not depend on the server's encoding.
 */
export async function weighScripts(opts: {
  context: BrowserContext
  url: string
  ready: (page: Page) => Promise<void>
  markers?: string[]
}): Promise<ScriptWeight> {
  const { context, url, ready, markers = [] } = opts
  const page = await context.newPage()
  const pending: Promise<ScriptWeight['files'][number] | null>[] = []
  page.on('response', (response) => {
    const isScript = response.request().resourceType() === 'script' || /\.m?js(\?|$)/.test(response.url())
    if (!isScript) return
    pending.push(
      response
        .body()
        .then((body) => ({
          url: new URL(response.url()).pathname,
          bytes: body.length,
          gzip: gzipSync(body, { level: 9 }).length,
          found: markers.filter((m) => body.includes(m)),
        }))
        .catch(() => null),
    )
  })
  await page.goto(url)
  await ready(page)
  await page.waitForLoadState('networkidle')
  const files = (await Promise.all(pending)).filter((f) => f !== null)
  await page.close()
  return {
    files,
    totalBytes: files.reduce((n, f) => n + f.bytes, 0),
    totalGzip: files.reduce((n, f) => n + f.gzip, 0),
  }
}

/** Types into a code field (CodeMirror: `[data-editor=<path>]`), replacing its text. */
export async function fillEditor(page: Page, path: string, text: string): Promise<void> {
  const content = page.locator(`[data-editor="${path}"][data-ready=true] .cm-content`)
  await content.waitFor()
  await content.fill(text)
}

/** Drags an edge on a workflow graph from one step's output handle to another's input handle. */
export async function connectSteps(page: Page, from: string, to: string): Promise<void> {
  const a = (await page
    .locator(`.svelte-flow__node[data-id=${from}] .svelte-flow__handle.source`)
    .boundingBox())!
  const b = (await page
    .locator(`.svelte-flow__node[data-id=${to}] .svelte-flow__handle.target`)
    .boundingBox())!
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2)
  await page.mouse.down()
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 10 })
  await page.mouse.up()
}
