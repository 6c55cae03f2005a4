import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataFixture, dataFixture } from '../data/helpers'

const MB = 1024 * 1024
const BOMB_BYTES = 450 * MB
const CAP_BYTES = 10 * MB
// Smaller: the rows read before the cap are loaded (then rolled back), and PGlite's memory grows with them.
const DOWNLOAD_CAP_BYTES = MB

let f: DataFixture
let bomb: Server
let base: string
/** Bytes the bomb server got to write before clients hung up, over all requests. */
let written = 0

/** Streams `bytes` of CSV-looking data, at the pace the client reads, until it hangs up. */
function stream(
  res: import('node:http').ServerResponse,
  bytes: number,
  headers: Record<string, string>,
): void {
  const chunk = Buffer.from('1,abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n'.repeat(1024))
  res.writeHead(200, { 'content-type': 'text/csv', ...headers })
  res.write('n,text\n')
  let sent = 0
  const pump = () => {
    while (sent < bytes && !res.destroyed) {
      sent += chunk.length
      written += chunk.length
      if (!res.write(chunk)) return void res.once('drain', pump)
    }
    if (!res.destroyed) res.end()
  }
  res.on('close', () => {
    sent = bytes
  })
  pump()
}

beforeAll(async () => {
  // The bomb listens on loopback, allowed for this suite only.
  f = await dataFixture({
    SWITCHYARD_EGRESS_ALLOW: '127.0.0.1',
    SWITCHYARD_MAX_HTTP_RESPONSE_BYTES: String(CAP_BYTES),
    SWITCHYARD_MAX_DOWNLOAD_BYTES: String(DOWNLOAD_CAP_BYTES),
  })
  // Open the organization's warehouse first: on the embedded default it is a PGlite worker in
  // this process, and its start (not the body being read) would otherwise count as growth.
  await f.sql('select 1')
  bomb = createServer((req, res) => {
    const declared = req.url?.startsWith('/declared')
    stream(res, BOMB_BYTES, declared ? { 'content-length': String(BOMB_BYTES + 7) } : {})
  })
  await new Promise<void>((resolve) => bomb.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(bomb.address() as AddressInfo).port}`
})
afterAll(async () => {
  await f?.stop()
  bomb?.closeAllConnections()
  await new Promise((resolve) => bomb?.close(resolve))
})

/**
 * Runs `fn` while sampling this process's resident memory (the server runs in it). On the
 * embedded database the two PGlite instances alone hold ~450 MB of this process before any
 * run, so the 512 MB line is checked on PostgreSQL (CI), and the growth everywhere.
 */
async function expectBoundedMemory(fn: () => Promise<unknown>): Promise<void> {
  const before = process.memoryUsage().rss
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  try {
    await fn()
  } finally {
    clearInterval(timer)
  }
  peak = Math.max(peak, process.memoryUsage().rss)
  // Before the cap, each 450 MB body was read whole: gigabytes, not a few caps' worth.
  expect((peak - before) / MB).toBeLessThan(128)
  if (process.env.DATABASE_URL) expect(peak / MB).toBeLessThan(512)
}

describe('response and download caps', () => {
  it('four 450 MB HTTP_REQUEST responses fail on the cap, streamed, with the node under 512 MB', async () => {
    written = 0
    const runs: Awaited<ReturnType<DataFixture['run']>>[] = []
    await expectBoundedMemory(async () => {
      runs.push(
        ...(await Promise.all([1, 2, 3, 4].map((i) => f.run('HTTP_REQUEST', { url: `${base}/bomb/${i}` })))),
      )
    })
    for (const run of runs) {
      expect(run.state).toBe('FAILED')
      expect(run.error).toMatch(
        /the response of GET http:\/\/127\.0\.0\.1:\d+\/bomb\/\d is over the 10485760-byte cap; raise SWITCHYARD_MAX_HTTP_RESPONSE_BYTES/,
      )
    }
    // Read as a stream and dropped at the cap: the server never got to send the whole bombs.
    expect(written).toBeLessThan(4 * BOMB_BYTES * 0.25)
  })

  it('refuses a response whose declared length is over the cap before reading it', async () => {
    const run = await f.run('HTTP_REQUEST', { url: `${base}/declared` })
    expect(run.state).toBe('FAILED')
    expect(run.error).toMatch(/is over the 10485760-byte cap \(it declared 471859207 bytes\)/)
  })

  it('fails a FILE_IMPORT download on the cap, with the node under 512 MB', async () => {
    written = 0
    let run: Awaited<ReturnType<DataFixture['run']>> | undefined
    await expectBoundedMemory(async () => {
      run = await f.run('FILE_IMPORT', {
        source: { type: 'URL', url: `${base}/big.csv` },
        target: { storage: 'big' },
      })
    })
    expect(run?.state).toBe('FAILED')
    expect(run?.error).toMatch(
      /the download of http:\/\/127\.0\.0\.1:\d+\/big\.csv is over the 1048576-byte cap; raise SWITCHYARD_MAX_DOWNLOAD_BYTES/,
    )
    expect(written).toBeLessThan(BOMB_BYTES * 0.25)
  })
})
