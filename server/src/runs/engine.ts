import type { Enqueued, NewRun } from '../queue/enqueue'
import type { RunRow } from '../queue/run-row'

/** The run engine as other features see it (triggers, webhooks, the scheduler). */
export interface Engine {
  /** Queues a run in its own transaction, applying its mutex policy. */
  enqueue(run: NewRun): Promise<Enqueued>
  /** Cancels a run whatever its state (see queue/cancel.ts). */
  cancel(runId: string, reason: string): Promise<RunRow | undefined>
}
