/**
 * Time as the scheduler sees it. Injected, so tests drive the scheduler with
 * fake time and the benchmark with real time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      signal?.addEventListener('abort', done, { once: true })
    }),
}

/** A clock that moves only when told to; sleepers wake when time passes their deadline. */
export interface ManualClock extends Clock {
  set(ms: number): void
  advance(ms: number): void
  /** Sleepers not yet woken (a test can wait until a loop is idle). */
  readonly sleepers: number
}

export function createManualClock(start: number): ManualClock {
  let t = start
  const waiting = new Set<{ at: number; wake: () => void }>()
  const release = () => {
    for (const w of [...waiting]) if (w.at <= t) w.wake()
  }
  return {
    now: () => t,
    sleep(ms, signal) {
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve()
        const w = {
          at: t + Math.max(0, ms),
          wake: () => {
            waiting.delete(w)
            signal?.removeEventListener('abort', w.wake)
            resolve()
          },
        }
        waiting.add(w)
        signal?.addEventListener('abort', w.wake, { once: true })
        release()
      })
    },
    set(ms) {
      t = ms
      release()
    },
    advance(ms) {
      t += ms
      release()
    },
    get sleepers() {
      return waiting.size
    },
  }
}
