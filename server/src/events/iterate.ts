/**
 * Turns a push source (bus listeners) into an async iterator for GraphQL
 * subscriptions. Events queue while the consumer is busy; `return()` (client
 * unsubscribed or disconnected) removes the listener.
 */
export function iterate<T>(
  subscribe: (push: (value: T) => void) => () => void,
  maxQueue = 1000,
): AsyncIterableIterator<T> {
  const queue: T[] = []
  let waiting: ((r: IteratorResult<T>) => void) | undefined
  let done = false
  const unsubscribe = subscribe((value) => {
    if (done) return
    if (waiting) {
      const w = waiting
      waiting = undefined
      w({ value, done: false })
    } else if (queue.length < maxQueue) {
      queue.push(value)
    }
  })
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true
      unsubscribe()
      waiting?.({ value: undefined, done: true })
      waiting = undefined
    }
    return Promise.resolve({ value: undefined, done: true })
  }
  return {
    next: () => {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false })
      if (done) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve) => {
        waiting = resolve
      })
    },
    return: finish,
    throw: (err) => {
      void finish()
      return Promise.reject(err)
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

/** An event stream the server can end with an error (the viewer lost access). */
export interface FailableIterator<T> extends AsyncIterableIterator<T> {
  /** Ends the stream: the consumer's pending and next reads reject with err. */
  fail(err: Error): void
}

/**
 * Like iterate(), for state changes keyed by run: a subscriber that falls behind
 * gets the latest state of each run instead of every step in between (past
 * `softLimit` queued events), so a final state is never dropped behind a queue
 * of stale ones. Past `hardLimit` distinct runs the stream ends with an error,
 * telling the client to resubscribe and reload rather than miss changes silently.
 */
export function iterateLatest<T>(
  subscribe: (push: (value: T) => void) => () => void,
  keyOf: (value: T) => string,
  { softLimit = 100, hardLimit = 10_000 } = {},
): FailableIterator<T> {
  // In order while short; past softLimit the queue becomes a map of each run's newest
  // event (in the order of its newest arrival), so a push costs O(1) however far a
  // subscriber lags: a thousand lagging subscribers must not cost a thousand scans.
  let queue: T[] = []
  let latest: Map<string, T> | undefined
  let waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | undefined
  let done = false
  let failure: Error | undefined
  const unsubscribe = subscribe((value) => {
    if (done) return
    if (waiting) {
      const w = waiting
      waiting = undefined
      w.resolve({ value, done: false })
      return
    }
    if (!latest) {
      queue.push(value)
      if (queue.length <= softLimit) return
      // Delete-then-set puts each key at its newest arrival.
      latest = new Map()
      for (const v of queue) {
        const k = keyOf(v)
        latest.delete(k)
        latest.set(k, v)
      }
      queue = []
    } else {
      const k = keyOf(value)
      latest.delete(k)
      latest.set(k, value)
    }
    if (latest.size > hardLimit) {
      failure = new Error('subscriber too slow: resubscribe and reload')
      finish()
    }
  })
  const take = (): T | undefined => {
    if (queue.length > 0) return queue.shift()
    if (!latest) return undefined
    const first = latest.entries().next()
    if (first.done) {
      latest = undefined
      return undefined
    }
    latest.delete(first.value[0])
    if (latest.size === 0) latest = undefined
    return first.value[1]
  }
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true
      unsubscribe()
      if (waiting && failure) waiting.reject(failure)
      else waiting?.resolve({ value: undefined, done: true })
      waiting = undefined
    }
    return Promise.resolve({ value: undefined, done: true })
  }
  return {
    fail(err) {
      if (done) return
      // Nothing queued is delivered after this: the viewer may no longer see it.
      queue = []
      latest = undefined
      failure = err
      finish()
    },
    next: () => {
      if (queue.length > 0 || latest) {
        const value = take()
        if (value !== undefined) return Promise.resolve({ value, done: false })
      }
      if (failure) return Promise.reject(failure)
      if (done) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject }
      })
    },
    return: finish,
    throw: (err) => {
      void finish()
      return Promise.reject(err)
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

/**
 * A subscription's stream: `render` turns the bus events of `source` into results. return()
 * (the client completed or left) ends the source first, so a generator waiting for its next
 * event finishes now, its `finally` releasing the listeners, instead of at the next event,
 * which for a quiet run may never come (an async generator takes return() only at a yield).
 */
export function endingWith<T>(
  source: { return?(): Promise<unknown> },
  render: AsyncGenerator<T>,
): AsyncIterableIterator<T> {
  return {
    next: () => render.next(),
    async return() {
      await source.return?.()
      return render.return(undefined)
    },
    async throw(err: unknown) {
      await source.return?.()
      return render.throw(err)
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}

/**
 * A subscription's stream that renders each event of `source` with `render` (undefined: the
 * event is not for this subscriber) and calls `onEnd` once when it ends, however it ends. What
 * `render` can decide at once it decides without an await: a fan-out's cost is its hops per
 * subscriber. return() (the client completed or left) ends the source at once, so a pending
 * next() finishes now rather than at the next event, which for a quiet run may never come.
 */
export function renderEach<T, R>(
  source: AsyncIterator<T>,
  render: (value: T) => R | undefined | Promise<R | undefined>,
  onEnd: () => void,
): AsyncIterableIterator<R> {
  let ended = false
  const end = async (): Promise<IteratorResult<R>> => {
    if (!ended) {
      ended = true
      onEnd()
      await source.return?.()
    }
    return { done: true, value: undefined }
  }
  const next = async (): Promise<IteratorResult<R>> => {
    for (;;) {
      const r = await source.next()
      if (r.done || ended) return end()
      const out = render(r.value)
      const value = out instanceof Promise ? await out : out
      if (ended) return end()
      if (value !== undefined) return { done: false, value }
    }
  }
  return {
    next: () =>
      next().catch(async (err) => {
        await end()
        throw err
      }),
    return: end,
    async throw(err: unknown) {
      await end()
      throw err
    },
    [Symbol.asyncIterator]() {
      return this
    },
  }
}
