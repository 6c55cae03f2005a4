import type { Database } from '../db/database'
import { type MaybePromise, mapMaybe, settle } from '../maybe-promise'
import { isFinal } from '../domain'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import type { RunEvent } from '../events/channels'

/**
 * Rows for live deliveries, read once per node and shared by every subscriber.
 * A run event carries what changes (state, attempt, times, error); what never
 * changes (automation, trigger, parameters...) is read once per run, and a final
 * state's row, which cannot change any more, once per final state. So a change
 * costs no read per subscriber, and a subscriber that was slow still renders the
 * change it is given, not a later state read from the table.
 */
export interface RunReads {
  /**
   * The run as of the event, or undefined if it is gone. One event gives every subscriber
   * the same row object: the shared fan-out executes a selection once per row. Once read,
   * it is returned as is, not as a promise: a thousand subscribers of one event then
   * cost no await each.
   */
  asOf(e: RunEvent): RunRow | undefined | Promise<RunRow | undefined>
}

const KEEP_MS = 30_000
const MAX_ENTRIES = 20_000

/** A row, or its promise while it is read (see MaybePromise). */
type Known = MaybePromise<RunRow | undefined>

/** One per app: ids are per database, so two apps in one process never share it. */
export function createRunReads(db: Database): RunReads {
  const cache = new Map<string, { value: Known; at: number }>()
  const read = (key: string, runId: string): Known => {
    const now = Date.now()
    const hit = cache.get(key)
    if (hit && now - hit.at < KEEP_MS) return hit.value
    const entry = {
      value: db
        .query<RunRow>(`select ${RUN_COLUMNS} from runs where id = $1`, [runId])
        .then((r) => r[0]) as Known,
      at: now,
    }
    // A failed read is not kept: the next subscriber tries again.
    settle(entry, () => {
      if (cache.get(key) === entry) cache.delete(key)
    })
    cache.delete(key)
    cache.set(key, entry)
    // Insertion order is age order: drop the oldest past the cap or the age limit.
    for (const [k, v] of cache) {
      if (cache.size <= MAX_ENTRIES && now - v.at < KEEP_MS) break
      cache.delete(k)
    }
    return entry.value
  }
  const rowOf = (e: RunEvent): Known => {
    if (isFinal(e.state as RunRow['state'])) return read(`${e.runId}:${e.state}:${e.attempt}`, e.runId)
    const asOfEvent = (base: RunRow | undefined): RunRow | undefined =>
      base && {
        ...base,
        state: e.state as RunRow['state'],
        attempt: e.attempt,
        started_at: e.startedAt,
        finished_at: e.finishedAt,
        error: e.error,
        outputs: null,
      }
    const base = read(`${e.runId}:static`, e.runId)
    return mapMaybe(base, asOfEvent)
  }
  // The bus hands one event object to every listener; the row lives as long as the event.
  const byEvent = new WeakMap<RunEvent, { value: Known }>()
  return {
    asOf(e) {
      const hit = byEvent.get(e)
      if (hit) return hit.value
      const entry = { value: rowOf(e) }
      byEvent.set(e, entry)
      // A failed read is not kept: the next subscriber tries again.
      settle(entry, () => byEvent.delete(e))
      return entry.value
    },
  }
}
