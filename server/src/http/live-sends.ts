import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

/**
 * WebSocket writes of live deliveries, gathered per connection. A write to a socket is one
 * system call whatever it carries (about 20 µs on loopback here, more than everything else a
 * delivery costs), so a connection's messages are held (its socket corked) from the first one
 * until the next turn of the event loop and then written together. Connections are flushed
 * `perTurn` at a time with a turn of the event loop between, so notifications and database
 * replies keep arriving during a large fan-out, and whatever they add for a connection not yet
 * flushed goes out in the same write: the busier the server, the more each write carries.
 * Messages keep their order: every message of a connection, ours or graphql-ws's own, goes
 * through the one corked socket.
 */
export interface LiveSends {
  /**
   * Queues `data` on the connection. False when the connection holds `highWater` bytes or
   * more not yet written: the caller waits for `drained` before sending more, so a slow client
   * lags in its subscription's queue (where changes coalesce), not in unbounded buffers.
   */
  send(ws: WebSocket, raw: Socket, data: string): boolean
  /** Resolves once the connection holds less than `highWater` unwritten bytes, or has closed. */
  drained(ws: WebSocket, raw: Socket): Promise<void>
  /** Writes whatever is held now. */
  stop(): void
}

export function createLiveSends({ perTurn = 64, highWater = 256 * 1024 } = {}): LiveSends {
  // Connections whose socket is corked, in the order their first held message came.
  const held = new Map<WebSocket, { raw: Socket; flushed: (() => void)[] }>()
  let turn: NodeJS.Immediate | undefined
  const flush = (limit: number) => {
    turn = undefined
    let n = 0
    try {
      for (const [ws, h] of held) {
        if (n++ === limit) break
        held.delete(ws)
        h.raw.uncork()
        for (const f of h.flushed) f()
      }
    } finally {
      // Whatever one socket did, the others are not left corked.
      if (held.size > 0) turn ??= setImmediate(flush, perTurn)
    }
  }
  const open = (ws: WebSocket, raw: Socket) => ws.readyState === ws.OPEN && !raw.destroyed
  // Written to the kernel as far as it takes: one wait per socket for the client to read,
  // however many of its subscriptions wait (a listener each would pile up on the socket).
  const reading = new WeakMap<Socket, Promise<void>>()
  const readBy = (raw: Socket) => {
    let p = reading.get(raw)
    if (!p) {
      p = new Promise<void>((resolve) => {
        const done = () => {
          raw.off('drain', done)
          raw.off('close', done)
          reading.delete(raw)
          resolve()
        }
        raw.on('drain', done)
        raw.on('close', done)
      })
      reading.set(raw, p)
    }
    return p
  }
  return {
    send(ws, raw, data) {
      // As graphql-ws's adapter does: a socket already closing takes nothing more.
      if (!open(ws, raw)) return true
      if (!held.has(ws)) {
        raw.cork()
        held.set(ws, { raw, flushed: [] })
        turn ??= setImmediate(flush, perTurn)
      }
      ws.send(data)
      return raw.writableLength < highWater
    },
    async drained(ws, raw) {
      while (open(ws, raw) && raw.writableLength >= highWater) {
        const h = held.get(ws)
        if (h) await new Promise<void>((resolve) => h.flushed.push(resolve))
        else await readBy(raw)
      }
    },
    stop() {
      if (turn) clearImmediate(turn)
      flush(Number.POSITIVE_INFINITY)
    },
  }
}
