import type { CronConfig } from '../triggers/config'
import type { TriggerEventKind } from '../triggers/domain'
import type { PlannedTick, TickPlan } from './ticks'

export interface Decision {
  /** Ticks to fire now, oldest first. */
  fire: PlannedTick[]
  /** The tick left waiting for the previous run (overlap QUEUE), or null. */
  pending: Date | null
  events: { kind: TriggerEventKind; message: string; scheduledAt?: Date }[]
}

/**
 * Applies the overlap policy to the planned ticks. `active` says whether the
 * trigger's previous run is still queued, waiting or running; a tick fired here
 * is active from then on, so later ticks of the same pass see it.
 */
export function decide(
  plan: TickPlan,
  cfg: CronConfig,
  state: { active: boolean; lastRunId: string | null; pending: Date | null },
): Decision {
  const events: Decision['events'] = []
  if (plan.missed) events.push({ kind: 'MISSED', message: missedMessage(plan.missed, cfg) })
  const fire: PlannedTick[] = []
  let { active, pending } = state
  if (pending && !active) {
    // The release that should have fired the waiting tick when its run ended never came
    // (the finish hook could not lock the trigger). Fire it first, before the newer
    // ticks, so ticks keep their order; its key stops it from ever firing twice.
    fire.push({ at: pending, catchUp: false, waited: true })
    pending = null
    active = true
  }
  for (const tick of plan.fire) {
    if (cfg.overlapPolicy !== 'ALLOW' && active) {
      const previous = fire.length > 0 ? 'the run fired just before' : `run #${state.lastRunId}`
      if (cfg.overlapPolicy === 'QUEUE' && !pending) {
        pending = tick.at
        events.push({ kind: 'QUEUED', scheduledAt: tick.at, message: `tick waits for ${previous} to end` })
      } else {
        const why = pending ? 'a tick is already waiting for it' : 'overlap policy SKIP'
        events.push({ kind: 'SKIPPED', scheduledAt: tick.at, message: `${previous} still active; ${why}` })
      }
      continue
    }
    fire.push(tick)
    active = true
  }
  return { fire, pending, events }
}

function missedMessage(m: NonNullable<TickPlan['missed']>, cfg: CronConfig): string {
  const n = `${m.atLeast ? 'at least ' : ''}${m.count} tick${m.count === 1 && !m.atLeast ? '' : 's'}`
  const span =
    m.first.getTime() === m.last.getTime()
      ? `at ${m.first.toISOString()}`
      : `from ${m.first.toISOString()} to ${m.last.toISOString()}`
  const what =
    cfg.missedTickPolicy === 'SKIP'
      ? 'policy SKIP: none fired'
      : cfg.missedTickPolicy === 'ONCE'
        ? 'policy ONCE: fired once for them'
        : `policy ALL: fired ${m.fired === m.count && !m.atLeast ? 'each' : `the last ${m.fired}`}`
  return `${n} missed ${span} while no scheduler ran; ${what}`
}

export function lateMessage(late: Date[], now: number): string {
  const worst = Math.max(...late.map((d) => now - d.getTime())) / 1000
  const n = late.length === 1 ? `tick of ${late[0]!.toISOString()}` : `${late.length} ticks`
  return `${n} fired ${worst.toFixed(1)}s late (the scheduler was busy or starting)`
}
