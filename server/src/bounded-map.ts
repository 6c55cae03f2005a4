/**
 * Sets `key` in a map kept to at most `max` entries, the oldest insertion leaving first.
 * The node's caches (definitions, cron patterns, parent kinds, rate-limit buckets) are
 * bounded this way, so a long-running node does not grow with everything it has seen.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K)
  map.set(key, value)
}
