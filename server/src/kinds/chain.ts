import { z } from 'zod'
import type { RunState } from '../domain'
import type { OrchestrationContext, Orchestrator } from '../engine/orchestration'
import { TIMEOUT_REASON } from '../engine/types'
import type { RunRow } from '../engine/run-row'
import { ValidationError, coerceError } from '../errors'
import { loadOrgAutomations, pathToSelf } from './contains'
import { defineKind } from './kind'

const ChainConfig = z.object({
  children: z.array(z.uuid('must be an automation id')).min(1, 'a chain needs at least one step').max(200),
})
type ChainConfig = z.output<typeof ChainConfig>

/**
 * A chain moves on when a child ends: the next step starts if the child
 * succeeded (or was skipped), otherwise the chain ends and the steps never
 * reached are recorded SKIPPED, so its timeline shows the whole chain.
 */
const chainOrchestrator: Orchestrator<ChainConfig> = {
  start: (o) => startStep(o, 0),
  // A chain has one child at a time, so a batch holds at most one of its children.
  childrenFinished: (o, ended) => stepEnded(o, ended[ended.length - 1]!),
  nextAutomations(config, _plan, { step, state }) {
    const next = config.children[(step ?? 0) + 1]
    return next && (state === 'SUCCEEDED' || state === 'SKIPPED') ? [next] : []
  },
}

async function stepEnded(o: OrchestrationContext<ChainConfig>, child: RunRow): Promise<RunRow[]> {
  const { children } = o.config
  const step = child.step ?? 0
  const ok = child.state === 'SUCCEEDED' || child.state === 'SKIPPED'
  const cancel = o.parent.cancel_requested
  if (cancel) return endChain(o, step + 1, cancel === TIMEOUT_REASON ? 'TIMED_OUT' : 'CANCELLED', cancel)
  if (!ok) {
    const why = `step ${step + 1} ended ${child.state}${child.error ? `: ${child.error}` : ''}`
    return endChain(o, step + 1, 'FAILED', why)
  }
  if (step + 1 < children.length) return startStep(o, step + 1)
  return endChain(o, children.length, 'SUCCEEDED', null)
}

async function startStep(o: OrchestrationContext<ChainConfig>, step: number): Promise<RunRow[]> {
  try {
    return await o.startChild(o.config.children[step]!, step)
  } catch (err) {
    return endChain(o, step, 'FAILED', `step ${step + 1}: ${coerceError(err).message}`)
  }
}

async function endChain(
  o: OrchestrationContext<ChainConfig>,
  from: number,
  state: RunState,
  error: string | null,
): Promise<RunRow[]> {
  const { children } = o.config
  const changed: RunRow[] = []
  if (state !== 'SUCCEEDED') {
    for (let step = from; step < children.length; step++)
      changed.push(...(await o.skipChild(children[step]!, step, 'an earlier step did not succeed')))
  }
  const completed = state === 'SUCCEEDED' ? children.length : from - 1
  changed.push(...(await o.end(state, error, { steps: children.length, completed })))
  return changed
}

/**
 * Runs other automations one after the other. The chain run itself only gives
 * up its worker slot (orchestrate); its orchestrator starts step 0 and each
 * child's completion starts the next, so a chain holds no worker slot while it waits.
 */
export const chain = defineKind({
  kind: 'CHAIN',
  description: 'Runs other automations in order; the first failure stops the chain.',
  configSchema: ChainConfig,
  async execute() {
    return { orchestrate: true }
  },
  orchestrator: chainOrchestrator,
  async checkSave(config, { db, orgId, automationId }) {
    const byId = await loadOrgAutomations(db, orgId)
    config.children.forEach((id, i) => {
      if (!byId.has(id)) {
        throw new ValidationError(`invalid config: children.${i}: automation ${id} does not exist`, [
          { path: `config.children.${i}`, message: 'no such automation in this organization' },
        ])
      }
    })
    if (!automationId) return
    const cycle = pathToSelf(automationId, config.children, byId)
    if (cycle) {
      throw new ValidationError('invalid config: children: the chain would contain itself', [
        { path: 'config.children', message: `would contain itself through ${cycle.join(' → ')}` },
      ])
    }
  },
})
