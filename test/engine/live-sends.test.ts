import { type Server, createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { type LiveSends, createLiveSends } from '../../server/src/http/live-sends'

// Live deliveries are written per connection once per turn of the event loop (http/live-sends.ts):
// what is observed here is the mechanism (corked sockets, writes per flush), never a duration.

interface Connection {
  ws: WebSocket
  raw: Socket
  client: WebSocket
  received: string[]
}

let server: Server | undefined
let wss: WebSocketServer | undefined
let sends: LiveSends | undefined
const clients: WebSocket[] = []
afterEach(async () => {
  sends?.stop()
  for (const c of clients.splice(0)) c.terminate()
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()))
  server?.closeAllConnections()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = wss = sends = undefined
})

/** A WebSocket server on an OS-assigned port and `n` clients connected to it. */
async function connections(n: number): Promise<Connection[]> {
  server = createServer()
  wss = new WebSocketServer({ server })
  const accepted: { ws: WebSocket; raw: Socket }[] = []
  wss.on('connection', (ws, req) => accepted.push({ ws, raw: req.socket }))
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const out: Connection[] = []
  for (let i = 0; i < n; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}`)
    clients.push(client)
    const received: string[] = []
    client.on('message', (m) => received.push(String(m)))
    await new Promise((r) => client.once('open', r))
    while (accepted.length <= i) await turn()
    out.push({ ...accepted[i]!, client, received })
  }
  return out
}

const turn = () => new Promise((r) => setImmediate(r))

/** Counts the writes that reach the socket's handle (one system call each). */
function countWrites(raw: Socket): () => number {
  let n = 0
  const s = raw as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>
  for (const m of ['_write', '_writev'] as const) {
    const original = s[m]!.bind(raw)
    s[m] = (...a: unknown[]) => {
      n++
      return original(...a)
    }
  }
  return () => n
}

describe('live sends', () => {
  it("writes a connection's messages of one turn together, in order with messages sent around them", async () => {
    const [c] = await connections(1)
    sends = createLiveSends()
    const writes = countWrites(c!.raw)
    sends.send(c!.ws, c!.raw, 'a')
    sends.send(c!.ws, c!.raw, 'b')
    // graphql-ws's own messages (complete, error) go through the same corked socket.
    c!.ws.send('c')
    sends.send(c!.ws, c!.raw, 'd')
    expect(c!.raw.writableCorked).toBe(1)
    expect(writes()).toBe(0)
    await turn()
    expect(c!.raw.writableCorked).toBe(0)
    expect(writes()).toBe(1)
    while (c!.received.length < 4) await turn()
    expect(c!.received).toEqual(['a', 'b', 'c', 'd'])
  })

  it('flushes `perTurn` connections per turn, in the order their first message came', async () => {
    const cs = await connections(3)
    sends = createLiveSends({ perTurn: 2 })
    for (const c of [cs[2]!, cs[0]!, cs[1]!]) sends.send(c.ws, c.raw, 'x')
    await turn()
    expect(cs.map((c) => c.raw.writableCorked)).toEqual([0, 1, 0])
    await turn()
    expect(cs.map((c) => c.raw.writableCorked)).toEqual([0, 0, 0])
  })

  it('asks the sender to wait past the high-water mark, until the client has read enough', async () => {
    const [c] = await connections(1)
    const highWater = 64 * 1024
    sends = createLiveSends({ highWater })
    const chunk = 'x'.repeat(16 * 1024)
    expect(sends.send(c!.ws, c!.raw, chunk)).toBe(true)
    // Held bytes count: before the flush, the fourth chunk reaches the mark.
    for (let i = 0; i < 3; i++) sends.send(c!.ws, c!.raw, chunk)
    expect(c!.raw.writableLength).toBeGreaterThanOrEqual(highWater)
    // Flushed to the kernel, the wait is over.
    await sends.drained(c!.ws, c!.raw)
    expect(c!.raw.writableLength).toBeLessThan(highWater)

    // A client that stops reading: once the kernel's buffers are full the bytes stay with us.
    c!.client.pause()
    let sent = 0
    while (c!.raw.writableLength < highWater && sent < 256 * 2 ** 20) {
      sends.send(c!.ws, c!.raw, chunk)
      sent += chunk.length
      await turn()
    }
    expect(c!.raw.writableLength).toBeGreaterThanOrEqual(highWater)
    let done = false
    const waiting = sends.drained(c!.ws, c!.raw).then(() => {
      done = true
    })
    await turn()
    expect(done).toBe(false)
    c!.client.resume()
    await waiting
    expect(c!.raw.writableLength).toBeLessThan(highWater)
  })

  it('a connection that has closed takes nothing more and leaves nothing held', async () => {
    const [c] = await connections(1)
    sends = createLiveSends()
    c!.client.close()
    await new Promise((r) => c!.ws.once('close', r))
    expect(sends.send(c!.ws, c!.raw, 'late')).toBe(true)
    expect(c!.raw.writableCorked).toBe(0)
    await sends.drained(c!.ws, c!.raw)
  })
})
