import { type RunState, isFinal } from '../domain'
import { coerceError } from '../errors'
import type { Services } from '../services'

export interface RunOutcome {
  final: boolean
  state: RunState
  outputs: Record<string, unknown> | null
  error: string | null
}

/**
 * Waits until a run ends or `ms` pass, on the event bus (NOTIFY) rather than
 * by polling; reads the run once after subscribing, in case it ended first.
 * An aborted `signal` (the caller hung up) stops the wait.
 */
export function waitForRun(
  services: Services,
  runId: string,
  ms: number,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  const read = async (): Promise<RunOutcome> => {
    const [r] = await services.db.query<{
      state: RunState
      outputs: Record<string, unknown> | null
      error: string | null
    }>('select state, outputs, error from runs where id = $1', [runId])
    if (!r) throw new Error(`run ${runId} disappeared`)
    return { final: isFinal(r.state), ...r }
  }
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (p: Promise<RunOutcome>, force: boolean) =>
      p.then(
        (r) => {
          if (settled || (!r.final && !force)) return
          settled = true
          off()
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(r)
        },
        (err) => {
          if (settled) return
          settled = true
          off()
          clearTimeout(timer)
          reject(coerceError(err))
        },
      )
    const off = services.bus.onRun(`run:${runId}`, (e) => {
      if (isFinal(e.state as RunState)) void finish(read(), false)
    })
    const timer = setTimeout(() => void finish(read(), true), ms)
    const onAbort = () => void finish(read(), true)
    signal?.addEventListener('abort', onAbort, { once: true })
    void finish(read(), false)
  })
}
