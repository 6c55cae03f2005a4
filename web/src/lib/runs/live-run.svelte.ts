import { untrack } from 'svelte'
import { subscribe } from '$lib/api/live.svelte'
import { FINAL_STATES, type Run, type RunLogLine } from '$lib/api/types'
import { RUN_DETAIL_UPDATED, RUN_UPDATED } from './api'
import { LiveLog } from './live-log.svelte'
import { isOlderView } from './live-runs.svelte'
import { type RunWithLogs, refreshRun } from './queries'

/**
 * One run kept current: its state through `runUpdated`, new log lines through
 * `runLog` (from the last line loaded, so none is missed or repeated), and for
 * a chain its steps as they are created and finish.
 */
export class LiveRun {
  run = $state<RunWithLogs>() as RunWithLogs
  log: LiveLog
  #error = $state('')

  constructor(initial: RunWithLogs) {
    this.run = initial
    this.log = new LiveLog(initial.id, initial.logs)
  }

  get logs(): RunLogLine[] {
    return this.log.lines
  }

  /** Why live updates stopped, if they did (of the run or of its log). */
  get error(): string {
    return this.#error || this.log.error
  }

  update(run: Run): void {
    if (run.id === this.run.id) {
      if (!isOlderView(this.run, run)) Object.assign(this.run, run)
      return
    }
    if (run.parentRunId !== this.run.id) return
    const children = this.run.children
    const i = children.findIndex((c) => c.id === run.id)
    if (i >= 0) {
      if (!isOlderView(children[i]!, run)) children[i] = run
    } else {
      children.push(run)
      children.sort((a, b) => (a.step ?? 0) - (b.step ?? 0) || a.createdAt.localeCompare(b.createdAt))
    }
  }

  /** Starts the subscriptions; reads no reactive state, so an $effect calling it runs once per run. */
  listen(): () => void {
    return untrack(() => this.#subscribe())
  }

  async #catchUp(): Promise<void> {
    const fresh = await refreshRun(this.run.id).catch(() => null)
    if (!fresh) return
    const { children, ...run } = fresh
    this.update(run)
    for (const child of children) this.update(child)
  }

  #subscribe(): () => void {
    const onError = (message: string) => {
      this.#error = message
    }
    const runId = this.run.id
    const stops = [
      this.log.listen(),
      subscribe<{ runUpdated: Run }>({
        query: RUN_DETAIL_UPDATED,
        variables: { runId },
        onData: (d) => this.update(d.runUpdated),
        onError,
      }),
    ]
    // Steps of a chain are runs of other automations: follow the organization's runs for them.
    if (this.run.automation?.kind === 'CHAIN' || this.run.children.length > 0) {
      stops.push(
        subscribe<{ runUpdated: Run }>({
          query: RUN_UPDATED,
          onData: (d) => this.update(d.runUpdated),
          onError,
        }),
      )
    }
    // A change made before the subscriptions were in place is not pushed: catch up once
    // shortly after, then rarely while the run is unfinished, in case an event was lost.
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const catchUpIn = (ms: number) => {
      timer = setTimeout(async () => {
        await this.#catchUp()
        if (!stopped && !FINAL_STATES.has(this.run.state)) catchUpIn(15_000)
      }, ms)
    }
    catchUpIn(1_000)
    return () => {
      stopped = true
      clearTimeout(timer)
      for (const stop of stops) stop()
    }
  }
}
