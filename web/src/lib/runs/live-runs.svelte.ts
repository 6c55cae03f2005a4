import { subscribe } from '$lib/api/live.svelte'
import { FINAL_STATES, type Run } from '$lib/api/types'
import { RUN_UPDATED } from './api'

/**
 * True when `incoming` is an older view of a run than `known`: a read answered after a
 * newer event (a catch-up fetch racing the subscription). A final state never goes back
 * within one attempt; a new attempt (a retry, a workflow rerun) may reopen it.
 */
export function isOlderView(known: Run, incoming: Run): boolean {
  return (
    FINAL_STATES.has(known.state) && !FINAL_STATES.has(incoming.state) && incoming.attempt <= known.attempt
  )
}

/**
 * A list of runs, newest first, kept current by `runUpdated`: known runs are
 * replaced in place, new ones that pass `accepts` are inserted in order, and
 * runs that no longer pass it are removed.
 */
export class LiveRunList {
  runs = $state<Run[]>([])
  /** False when older runs exist beyond the loaded page (they are not inserted live). */
  complete = $state(true)
  error = $state('')

  #accepts: (run: Run) => boolean = () => true

  reset(opts: { runs: Run[]; complete: boolean; accepts?: (run: Run) => boolean }): void {
    this.runs = opts.runs
    this.complete = opts.complete
    this.#accepts = opts.accepts ?? (() => true)
  }

  /** Appends an older page (from "Load more"). */
  append(runs: Run[], complete: boolean): void {
    const known = new Set(this.runs.map((r) => r.id))
    this.runs.push(...runs.filter((r) => !known.has(r.id)))
    this.complete = complete
  }

  upsert(run: Run): void {
    const i = this.runs.findIndex((r) => r.id === run.id)
    const accepted = this.#accepts(run)
    if (i >= 0) {
      if (isOlderView(this.runs[i]!, run)) return
      // A run that left the filter (e.g. no longer RUNNING) leaves the list.
      if (accepted) this.runs[i] = run
      else this.runs.splice(i, 1)
      return
    }
    if (!accepted) return
    const at = this.runs.findIndex((r) => r.createdAt <= run.createdAt)
    if (at === -1) {
      // Older than every run shown: it belongs at the end only if the list is whole. An
      // empty list holds nothing older, so a new run starts it (the first run of an org).
      if (this.complete || this.runs.length === 0) this.runs.push(run)
      return
    }
    this.runs.splice(at, 0, run)
  }

  /** Subscribes to changes of one automation's runs, or all runs; returns the stop function. */
  listen(variables: { automationId?: string } = {}): () => void {
    return subscribe<{ runUpdated: Run }>({
      query: RUN_UPDATED,
      variables,
      onData: (data) => this.upsert(data.runUpdated),
      onError: (message) => {
        this.error = message
      },
    })
  }
}
