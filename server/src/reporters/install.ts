import type { Engine } from '../engine/engine'
import { queueDeliveries } from './enqueue'

/**
 * Wires reporters into the engine: the transaction that moves runs to RUNNING queues
 * their START deliveries, the one that makes a run final its END deliveries. Every
 * node registers these (an api node ends runs too, by cancelling). Returns the removal.
 */
export function installReporterHooks(engine: Engine, opts: { maxAttempts: number }): () => void {
  const offStart = engine.onRunStarted((tx, runs) => queueDeliveries(tx, 'START', runs, opts.maxAttempts))
  const offEnd = engine.onRunFinished(async (tx, run) => {
    // A SKIPPED run never ran (mutex policy SKIP): there is nothing to report.
    if (run.state !== 'SKIPPED') await queueDeliveries(tx, 'END', [run], opts.maxAttempts)
  })
  return () => {
    offStart()
    offEnd()
  }
}
