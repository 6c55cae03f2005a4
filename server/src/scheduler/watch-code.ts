import { z } from 'zod'
import type { CodeConfig } from '../triggers/config'
import type { TriggerRow } from '../triggers/domain'
import type { EvalContext, Evaluation } from './poll-pass'

const MAX_STATE_BYTES = 65_536

const Decision = z.object({
  fire: z.boolean().default(false),
  parameters: z.record(z.string(), z.unknown()).default({}),
  state: z.unknown().optional(),
})

/**
 * CODE: the script runs in the same sandbox as SCRIPT automations, with the
 * trigger's parameters as `params` and `variables = { state, lastFiredAt,
 * lastEvaluatedAt }`; it returns `{ fire, parameters?, state? }`. `state` is
 * kept for its next evaluation (to remember what it saw).
 */
export async function evaluateCode(t: TriggerRow, ctx: EvalContext): Promise<Evaluation> {
  const c = t.config as CodeConfig
  const previous = (t.state as { script?: unknown } | null)?.script ?? null
  const { outputs } = await ctx.sandbox.run({
    language: c.language,
    code: c.code,
    args: {
      params: t.parameters,
      variables: {
        state: previous,
        lastFiredAt: t.last_fired_at ? new Date(t.last_fired_at).toISOString() : null,
        lastEvaluatedAt: t.last_evaluated_at ? new Date(t.last_evaluated_at).toISOString() : null,
      },
      triggered_by_user: null,
      run: { triggerId: t.id, automationId: t.automation_id },
    },
    timeoutMs: c.timeoutMs,
    memoryMb: 128,
  })
  const d = Decision.safeParse(outputs)
  if (!d.success) {
    const why = d.error.issues.map((i) => `${i.path.join('.') || 'result'}: ${i.message}`).join('; ')
    throw new Error(
      `the trigger script must return { fire: boolean, parameters?: object, state?: any } (${why})`,
    )
  }
  const script = d.data.state === undefined ? previous : d.data.state
  if (JSON.stringify(script ?? null).length > MAX_STATE_BYTES) {
    throw new Error(`the state the script returned is over ${MAX_STATE_BYTES} bytes; keep only what it needs`)
  }
  return {
    state: { script },
    nextInMs: c.intervalSeconds * 1000,
    fire: d.data.fire
      ? { parameters: d.data.parameters, message: 'the trigger script decided to fire' }
      : null,
    events: [],
  }
}
