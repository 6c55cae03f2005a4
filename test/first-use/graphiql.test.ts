import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestServer, startTestServer } from '../helpers/server'
import { launchChromium, screenshot } from '../web/browser'

let s: TestServer
let browser: Browser

beforeAll(async () => {
  s = await startTestServer()
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await s?.stop()
})

const isLoopback = (url: string) => {
  const { protocol, hostname } = new URL(url)
  if (protocol === 'data:' || protocol === 'blob:') return true
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]'
}

describe('GraphiQL works offline', () => {
  it('serves a page that names no other host to load from', async () => {
    const res = await fetch(`${s.url}/graphql`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<title>Switchyard GraphQL</title>')
    // Every script, stylesheet and font comes with the page: no src/href to a remote URL.
    expect(html.match(/<(script|link)[^>]+(src|href)=["']https?:\/\/[^"']+/g) ?? []).toEqual([])
    expect(html).not.toMatch(/unpkg\.com|cdn\.jsdelivr\.net|esm\.sh/)
  })

  it('renders and runs a query in Chromium with every request off this machine refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } })
    const refused: string[] = []
    await context.route('**/*', (route) => {
      const url = route.request().url()
      if (isLoopback(url)) return route.continue()
      refused.push(url)
      return route.abort('internetdisconnected')
    })
    const page = await context.newPage()
    await page.goto(`${s.url}/graphql?query=${encodeURIComponent('{ __typename }')}`)
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 })
    await page.locator('.graphiql-execute-button').first().click()
    // The answer pane shows the server's answer to the query in the URL.
    const answer = page.locator('.graphiql-response').first()
    await expect
      // What a person sees (the editor renders only visible lines), laid out with non-breaking spaces.
      // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
      .poll(async () => (await answer.innerText()).replace(/\s+/g, ' '), { timeout: 20_000 })
      .toContain('"__typename": "Query"')
    await screenshot(page, 'graphiql-offline')
    expect(refused).toEqual([])
    await context.close()
  })
})
