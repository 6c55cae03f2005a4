import type { Definition } from '../automations/definition'
import type { Queryable } from '../db/database'
import type { KindModule } from '../kinds/kind'
import { setBounded } from '../bounded-map'
import { drawRunIds } from './enqueue-many'
import { resolveInto } from './launch-child'
import type { OrchestrationDeps, Orchestrator } from './orchestration'
import type { Ended, Foreseen, LaunchMemo, ParentFacts } from './types'

// What the engine knows of an orchestrating parent before moving it on: its version's
// planned config (cached, versions never change) and, from that, what a completion batch
// can send along with its first statements.

/** A version's config as its orchestrating kind parsed and planned it. */
export interface PlannedConfig {
  config: unknown
  plan: unknown
}

const PLANS_KEPT = 2000

/** The parsed, planned config of a parent's version, from the engine's cache when seen before. */
export function plannedConfig(
  deps: OrchestrationDeps,
  orchestrator: Orchestrator,
  kind: KindModule,
  def: Definition,
  versionId: string,
): PlannedConfig {
  const hit = deps.plans.get(versionId)
  if (hit) return hit
  const config = kind.configSchema.parse(def.config)
  const planned = { config, plan: orchestrator.plan?.(config) }
  setBounded(deps.plans, versionId, planned, PLANS_KEPT)
  return planned
}

/** A parent's orchestrator and planned config, when the node knows its kind and has planned its version. */
function knownParent(
  deps: OrchestrationDeps,
  parentId: string,
  seen: ReadonlyMap<string, ParentFacts>,
): { orchestrator: Orchestrator; planned: PlannedConfig } | undefined {
  const facts = seen.get(parentId)
  const planned = facts && deps.plans.get(facts.versionId)
  const orchestrator = facts && (deps.kinds(facts.kind)?.orchestrator as Orchestrator | undefined)
  return planned && orchestrator ? { orchestrator, planned } : undefined
}

/**
 * Sends the reads of the children that the ended runs' parents will likely start next
 * (Orchestrator.nextAutomations), and draws a run id for each, without waiting: a completion
 * batch calls it right after its first statements, so they share one round trip. Only
 * parents whose kind and version the node has seen, and whose version it has planned, are
 * guessed for; the rest resolve their children as they start them. The reads run as part of
 * the batch's transaction, a moment before the parent decides; that is when any read of
 * this transaction could run.
 */
export function foreseeChildren(
  deps: OrchestrationDeps,
  tx: Queryable,
  ended: readonly Ended[],
  seen: ReadonlyMap<string, ParentFacts>,
): Map<string, Foreseen> {
  const memos = new Map<string, LaunchMemo>()
  for (const { claim, state } of ended) {
    const { parent_run_id: parentId, org_id: orgId, run_as: runAsUserId, step } = claim.run
    const known = parentId ? knownParent(deps, parentId, seen) : undefined
    const guess = known?.orchestrator.nextAutomations
    if (!parentId || !known || !guess) continue
    const memo = memos.get(parentId) ?? new Map()
    memos.set(parentId, memo)
    for (const automationId of guess(known.planned.config, known.planned.plan, { step, state })) {
      // A child inherits its parent's organization and run-as user.
      resolveInto(deps, tx, memo, { orgId, runAsUserId, automationId })
    }
  }
  const byParent = new Map<string, Foreseen>()
  const wanted = [...memos.values()].reduce((n, memo) => n + memo.size, 0)
  if (wanted === 0) return byParent
  // One statement for all of them; like the reads, a promise nobody may await.
  const drawn = drawRunIds(tx, wanted)
  drawn.catch(() => {})
  let from = 0
  for (const [parentId, memo] of memos) {
    const start = from
    from += memo.size
    const ids = drawn.then((all) => all.slice(start, start + memo.size))
    ids.catch(() => {})
    byParent.set(parentId, { memo, ids })
  }
  return byParent
}

/**
 * Whether a completion batch should read the children of this parent with its lock: not
 * when its kind moves on from the ended children alone (Orchestrator.movesOnAlone), as far
 * as the node knows the parent's kind and has planned its version.
 */
export function readsChildrenFor(
  deps: OrchestrationDeps,
  parentId: string,
  ended: readonly Ended[],
  seen: ReadonlyMap<string, ParentFacts>,
): boolean {
  const known = knownParent(deps, parentId, seen)
  const alone = known?.orchestrator.movesOnAlone
  if (!known || !alone) return true
  const mine = ended
    .filter((o) => o.claim.run.parent_run_id === parentId)
    .map(({ claim, state }) => ({ step: claim.run.step, item: claim.run.step_item, state }))
  return !alone(known.planned.config, known.planned.plan, mine)
}
