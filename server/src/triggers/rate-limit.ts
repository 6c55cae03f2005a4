import { setBounded } from '../bounded-map'

/**
 * A token bucket per key (a webhook trigger): `perMinute` requests a minute,
 * in bursts of up to that many. Kept in memory on each api node, so with
 * several nodes behind a balancer the limit applies per node.
 */
export interface RateLimiter {
  /** Takes one request; returns 0 when allowed, else the seconds until one is. */
  take(key: string, perMinute: number, now?: number): number
}

export function createRateLimiter(maxKeys = 10_000): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(key, perMinute, now = Date.now()) {
      const rate = perMinute / 60_000
      const b = buckets.get(key) ?? { tokens: perMinute, at: now }
      b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * rate)
      b.at = now
      // Re-inserted at the end, so the first key is always the one unused longest.
      buckets.delete(key)
      setBounded(buckets, key, b, maxKeys)
      if (b.tokens >= 1) {
        b.tokens -= 1
        return 0
      }
      return Math.ceil((1 - b.tokens) / rate / 1000)
    },
  }
}
