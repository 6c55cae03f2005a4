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
