import type { Engine } from '../../server/src/engine/engine'
import type { Claim } from '../../server/src/engine/types'

/**
 * Claims `runId` as `worker` through the engine, as a worker process would: for tests that
 * play the worker themselves. Other due runs claimed on the way stay RUNNING under that worker.
 */
export async function claimOne(engine: Engine, worker: string, runId: string): Promise<Claim> {
  for (let i = 0; i < 50; i++) {
    const claims = await engine.claim({ workerId: worker, limit: 10, leaseMs: 60_000 })
    const mine = claims.find((c) => c.run.id === runId)
    if (mine) return mine
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`run ${runId} was never claimable`)
}
