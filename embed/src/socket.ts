/**
 * A minimal graphql-transport-ws client: one socket, one subscription,
 * reconnecting with backoff. The graphql-ws package would do, but alone it
 * would take most of the button's 8 KB budget.
 */
import { ButtonError, type Endpoint, explain } from './graphql'

export interface SubscriptionHandlers {
  next(data: unknown): void
  /** The server refused the operation; no retry follows. */
  error(err: ButtonError): void
  /** Subscribed, first time or again: events may have been missed, so re-read the state. */
  connected(): void
  /** The socket was lost; a reconnect is scheduled. */
  dropped(): void
}

type Message =
  | { type: 'connection_ack' | 'ping' | 'pong' | 'complete' }
  | { type: 'next'; payload: { data?: unknown; errors?: { message: string }[] } }
  | { type: 'error'; payload: { message: string; extensions?: { code?: unknown } }[] }

// The server refused this client for good (bad request, unauthorized, forbidden,
// subprotocol): retrying would only be refused again.
const REFUSED = [4400, 4401, 4403, 4406]
// The server pings at the WebSocket level, but a browser cannot see those frames;
// our own ping finds a connection that died without a close (sleep, network change).
const KEEPALIVE_MS = 20_000

/** Subscribes over `ep.ws` until the returned function is called. */
export function subscribe(
  ep: Endpoint,
  query: string,
  variables: Record<string, unknown>,
  h: SubscriptionHandlers,
): () => void {
  let socket: WebSocket | undefined
  let retries = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  const open = () => {
    const ws = new WebSocket(ep.ws, 'graphql-transport-ws')
    const send = (m: object) => ws.send(JSON.stringify(m))
    let awaitingPong = false
    socket = ws
    const lost = () => {
      if (socket !== ws || stopped) return
      socket = undefined
      ws.close()
      clearTimeout(timer)
      h.dropped()
      // Backoff with jitter, so many buttons of one dashboard do not reconnect in step.
      timer = setTimeout(open, Math.min(30_000, 500 * 2 ** retries++) * (0.75 + Math.random() / 2))
    }
    const keepalive = () => {
      if (awaitingPong) return lost()
      awaitingPong = true
      send({ type: 'ping' })
      timer = setTimeout(keepalive, KEEPALIVE_MS)
    }
    ws.onopen = () =>
      send({ type: 'connection_init', payload: ep.token ? { authorization: `Bearer ${ep.token}` } : {} })
    ws.onmessage = (ev) => {
      if (socket !== ws || stopped) return
      const m = JSON.parse(String(ev.data)) as Message
      switch (m.type) {
        case 'connection_ack':
          send({ id: '1', type: 'subscribe', payload: { query, variables } })
          timer = setTimeout(keepalive, KEEPALIVE_MS)
          h.connected()
          break
        case 'ping':
          send({ type: 'pong' })
          break
        // The backoff starts over only once the connection proved itself: a server that
        // acknowledges and then drops the subscription at once must not be hammered.
        case 'pong':
          awaitingPong = false
          retries = 0
          break
        case 'next':
          retries = 0
          if (m.payload.errors?.[0]) h.error(explain(m.payload.errors[0]))
          else h.next(m.payload.data)
          break
        case 'error':
          h.error(explain(m.payload[0] ?? { message: 'the subscription was refused' }))
          break
        // The server ended the stream without our asking: treat it as a drop and resubscribe.
        case 'complete':
          lost()
      }
    }
    ws.onclose = (ev) => {
      if (socket !== ws || stopped) return
      if (REFUSED.includes(ev.code)) {
        socket = undefined
        clearTimeout(timer)
        h.error(new ButtonError(ev.reason || `Switchyard refused the live connection (${ev.code}).`))
      } else lost()
    }
  }

  open()
  return () => {
    stopped = true
    clearTimeout(timer)
    // Say goodbye properly, so the server frees the subscription at once.
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id: '1', type: 'complete' }))
    socket?.close(1000)
  }
}
