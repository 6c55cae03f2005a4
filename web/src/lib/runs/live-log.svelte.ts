import { untrack } from 'svelte'
import { subscribe } from '$lib/api/live.svelte'
import type { RunLogLine } from '$lib/api/types'
import { RUN_LOG } from './api'

/** Log ids are bigint sequences sent as strings; compare them as numbers. */
function after(a: string, b: string | undefined): boolean {
  return b === undefined || BigInt(a) > BigInt(b)
}

/**
 * One run's log kept current through `runLog`, from the last line held (or
 * from the start), so no line is missed or repeated, even after a reconnect.
 * The server sends it only to a viewer who may see the run.
 */
export class LiveLog {
  lines = $state<RunLogLine[]>([])
  error = $state('')

  constructor(
    readonly runId: string,
    initial: RunLogLine[] = [],
  ) {
    this.lines = initial
  }

  get lastId(): string | undefined {
    return this.lines.at(-1)?.id
  }

  add(line: RunLogLine): void {
    if (after(line.id, this.lastId)) this.lines.push(line)
  }

  /** Starts the subscription; reads no reactive state, so an $effect calling it runs once. */
  listen(): () => void {
    return untrack(() =>
      subscribe<{ runLog: RunLogLine }>({
        query: RUN_LOG,
        // Always from a known line ('0' = the start): lines written before the subscription is set up are replayed.
        variables: { runId: this.runId, afterId: this.lastId ?? '0' },
        onData: (d) => this.add(d.runLog),
        onError: (message) => {
          this.error = message
        },
      }),
    )
  }
}
