import { type Client, createClient } from 'graphql-ws'

/**
 * Whether the live connection is up (shown in the header), and how many times it
 * came back after a drop: events sent meanwhile are lost, so pages reload their data.
 */
export const liveStatus = $state<{
  state: 'idle' | 'connecting' | 'live' | 'reconnecting'
  reconnects: number
}>({
  state: 'idle',
  reconnects: 0,
})

let client: Client | undefined

function socketUrl(): string {
  const { protocol, host } = window.location
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/graphql`
}

function getClient(): Client {
  if (client) return client
  let connectedBefore = false
  // The session cookie rides on the upgrade request, so connectionParams stay empty.
  client = createClient({
    url: socketUrl(),
    lazy: true,
    lazyCloseTimeout: 5_000,
    keepAlive: 20_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** retries)))
    },
    on: {
      connecting: () => {
        liveStatus.state = connectedBefore ? 'reconnecting' : 'connecting'
      },
      connected: () => {
        liveStatus.state = 'live'
        if (connectedBefore) liveStatus.reconnects++
        connectedBefore = true
      },
      closed: (event) => {
        // 1000 is our own lazy close (no subscription left): not a drop, nothing was missed.
        const normal = (event as CloseEvent | undefined)?.code === 1000
        if (normal) connectedBefore = false
        liveStatus.state = normal ? 'idle' : 'reconnecting'
      },
    },
  })
  return client
}

/**
 * Subscribes to one operation; returns the function that ends it. After a
 * reconnect the client subscribes again with the same variables, so handlers
 * must tolerate repeats (log lines are deduplicated by id).
 */
export function subscribe<T>(opts: {
  query: string
  variables?: Record<string, unknown>
  onData: (data: T) => void
  onError?: (message: string) => void
}): () => void {
  return getClient().subscribe<T>(
    { query: opts.query, variables: opts.variables ?? {} },
    {
      next: (result) => {
        if (result.errors?.length) opts.onError?.(result.errors.map((e) => e.message).join('; '))
        if (result.data) opts.onData(result.data as T)
      },
      error: (err) => opts.onError?.(err instanceof Error ? err.message : 'the live connection failed'),
      complete: () => {},
    },
  )
}

/** Drops the connection, e.g. after logout, so the next one carries the new cookie. */
export function resetLive(): void {
  client?.dispose()
  client = undefined
  liveStatus.state = 'idle'
}
