import { type FreshDatabase, freshDatabase } from './database'

/** One system under test, set up once and then measured in rounds. */
export interface Contender<T> {
  /** One measurement (a chain, a batch of triggers...). */
  once(): Promise<T>
  stop(): Promise<void>
}

/**
 * Sets every system up on a fresh database of its own, then measures them in
 * alternating rounds (A B C A B C ...), so a machine whose load drifts during
 * the run weighs on all of them alike. Everything is stopped and dropped after.
 */
export async function interleave<K extends string, T>(
  label: string,
  setups: Record<K, (db: FreshDatabase) => Promise<Contender<T>>>,
  rounds: number,
  warmups = 1,
): Promise<Record<K, T[]>> {
  const names = Object.keys(setups) as K[]
  const dbs: FreshDatabase[] = []
  const running = new Map<K, Contender<T>>()
  const out = Object.fromEntries(names.map((n) => [n, [] as T[]])) as Record<K, T[]>
  try {
    for (const name of names) {
      const db = await freshDatabase(`${label}_${name}`)
      dbs.push(db)
      running.set(name, await setups[name](db))
    }
    for (let r = 0; r < warmups + rounds; r++) {
      for (const name of names) {
        const t = await running.get(name)!.once()
        if (r >= warmups) out[name].push(t)
      }
    }
    return out
  } finally {
    for (const c of running.values()) await c.stop()
    for (const db of dbs) await db.drop()
  }
}
