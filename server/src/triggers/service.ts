import { z } from 'zod'
import { userOf } from '../accounts/graphql'
import { atLeast } from '../auth/permissions'
import { TokenPrefix, hashToken, newToken } from '../auth/tokens'
import { type AutomationRow, automationPermission } from '../automations/access'
import type { Definition } from '../automations/definition'
import { resolveParameters } from '../automations/parameters'
import { getVisibleAutomation } from '../automations/service'
import type { Queryable } from '../db/database'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import { isUuid, parseInput } from '../validation'
import { type AfterAutomationConfig, type WebhookConfig, parseTriggerInput, validateConfig } from './config'
import { assertNoCycle, lockTriggerGraph } from './cycles'
import { TRIGGER_COLUMNS, type TriggerRow, type TriggerType } from './domain'
import {
  freshSchedule,
  getTrigger,
  insertTrigger,
  listTriggers,
  notifyTriggersChanged,
  rewriteTrigger,
  setAutoTriggers as storeAutoTriggers,
} from './store'

export interface TriggerResult {
  trigger: TriggerRow
  /** The webhook secret, returned once when created or rotated. */
  token: string | null
}

/** Only EDITOR+ with EDIT on the automation manage its triggers; others see NotFound or Forbidden. */
async function editableAutomation(ctx: Context, automationId: string): Promise<AutomationRow> {
  userOf(ctx)
  const a = await getVisibleAutomation(ctx, automationId)
  if (!atLeast(await automationPermission(ctx, a), 'EDIT')) {
    throw new ForbiddenError('you may not edit this automation, so not its triggers either')
  }
  return a
}

/** A trigger of the viewer's organization whose automation they may edit. */
async function editableTrigger(ctx: Context, id: string): Promise<TriggerRow> {
  const viewer = userOf(ctx)
  const t = isUuid(id) ? await getTrigger(ctx.services.db, viewer.orgId, id) : undefined
  if (!t) throw new NotFoundError('trigger')
  await editableAutomation(ctx, t.automation_id).catch((err) => {
    throw err instanceof NotFoundError ? new NotFoundError('trigger') : err
  })
  return t
}

/**
 * Trigger parameters must fit the automation's declarations. Webhook and code
 * triggers supply the rest when they fire, so "required" is checked then.
 */
function checkParameters(type: TriggerType, def: Definition, t: { parameters: Record<string, unknown> }) {
  const later = type === 'WEBHOOK' || type === 'CODE'
  resolveParameters(
    later ? def.parameters.map((p) => ({ ...p, required: false })) : def.parameters,
    t.parameters,
  )
}

function checkWebhook(def: Definition, config: WebhookConfig) {
  if (config.bodyParameter && !def.parameters.some((p) => p.name === config.bodyParameter)) {
    throw new ValidationError(
      `invalid WEBHOOK trigger: ${config.bodyParameter} is not a declared parameter`,
      [{ path: 'config.bodyParameter', message: 'is not a declared parameter of the automation' }],
    )
  }
}

/** The watched automation must be live, in this organization and visible to the viewer. */
async function checkWatched(ctx: Context, config: AfterAutomationConfig): Promise<string> {
  const ok = await getVisibleAutomation(ctx, config.automationId).then(
    () => true,
    () => false,
  )
  if (!ok) {
    throw new ValidationError('invalid AFTER_AUTOMATION trigger: the automation to follow does not exist', [
      { path: 'config.automationId', message: 'no such automation in this organization' },
    ])
  }
  return config.automationId
}

async function checkSaved(ctx: Context, a: AutomationRow, type: TriggerType, t: TriggerInputish) {
  const def = await ctx.services.engine.definition(ctx.services.db, a.current_version_id!)
  checkParameters(type, def, t)
  if (type === 'WEBHOOK') checkWebhook(def, t.config as WebhookConfig)
  return type === 'AFTER_AUTOMATION' ? checkWatched(ctx, t.config as AfterAutomationConfig) : null
}

interface TriggerInputish {
  config: Record<string, unknown>
  parameters: Record<string, unknown>
}

const limitsOf = (ctx: Context) => ({ minIntervalSeconds: ctx.services.config.triggers.minIntervalSeconds })

/** Creates a trigger; a WEBHOOK trigger's secret comes back this once. */
export async function createTrigger(
  ctx: Context,
  automationId: string,
  input: unknown,
  now = new Date(),
): Promise<TriggerResult> {
  const viewer = userOf(ctx)
  const a = await editableAutomation(ctx, automationId)
  const t = parseTriggerInput(input, limitsOf(ctx), now)
  const watch = await checkSaved(ctx, a, t.type, t)
  const token = t.type === 'WEBHOOK' ? newToken(TokenPrefix.WEBHOOK) : null
  const trigger = await ctx.services.db.transaction(async (tx) => {
    if (watch) await guardCycle(tx, a, watch, null)
    const row = await insertTrigger(tx, {
      orgId: a.org_id,
      automationId: a.id,
      type: t.type,
      enabled: t.enabled,
      config: t.config,
      parameters: t.parameters,
      tokenHash: token ? hashToken(token) : null,
      tokenPrefix: token ? token.slice(0, 12) : null,
      watchAutomationId: watch,
      createdBy: viewer.userId,
      schedule: freshSchedule(t.type, t.config, now),
    })
    await notifyTriggersChanged(tx)
    return row
  })
  return { trigger, token }
}

async function guardCycle(tx: Queryable, a: AutomationRow, watch: string, ignore: string | null) {
  await lockTriggerGraph(tx, a.org_id)
  await assertNoCycle(tx, a.org_id, a.id, watch, ignore)
}

const UpdateSchema = z.object({
  enabled: z.boolean().optional(),
  config: z.unknown().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
})

/**
 * Changes a trigger. A new config, or enabling it again, restarts its schedule
 * from now (ticks that fell while it was off were not wanted, so not missed).
 */
export async function updateTrigger(ctx: Context, id: string, input: unknown, now = new Date()) {
  const existing = await editableTrigger(ctx, id)
  const a = await editableAutomation(ctx, existing.automation_id)
  const u = parseInput(UpdateSchema, input)
  const config =
    u.config === undefined ? existing.config : validateConfig(existing.type, u.config, limitsOf(ctx), now)
  const next = {
    enabled: u.enabled ?? existing.enabled,
    config,
    parameters: u.parameters ?? existing.parameters,
  }
  const watch = await checkSaved(ctx, a, existing.type, next)
  const restart = u.config !== undefined || (next.enabled && !existing.enabled)
  const trigger = await ctx.services.db.transaction(async (tx) => {
    if (watch) await guardCycle(tx, a, watch, existing.id)
    const row = await rewriteTrigger(
      tx,
      existing.id,
      { ...next, watchAutomationId: watch },
      restart ? freshSchedule(existing.type, config, now) : null,
    )
    await notifyTriggersChanged(tx)
    return row
  })
  return { trigger, token: null }
}

export async function deleteTrigger(ctx: Context, id: string): Promise<TriggerRow> {
  const existing = await editableTrigger(ctx, id)
  return ctx.services.db.transaction(async (tx) => {
    await tx.query('delete from triggers where id = $1', [existing.id])
    await notifyTriggersChanged(tx)
    return existing
  })
}

/** A new secret for a WEBHOOK trigger; the old URL stops working at once. */
export async function rotateWebhookToken(ctx: Context, id: string): Promise<TriggerResult> {
  const existing = await editableTrigger(ctx, id)
  if (existing.type !== 'WEBHOOK') {
    throw new ValidationError('only WEBHOOK triggers have a token to rotate', [
      { path: 'id', message: `is a ${existing.type} trigger` },
    ])
  }
  const token = newToken(TokenPrefix.WEBHOOK)
  const [trigger] = await ctx.services.db.query<TriggerRow>(
    `update triggers set token_hash = $2, token_prefix = $3, updated_at = now() where id = $1
     returning ${TRIGGER_COLUMNS}`,
    [existing.id, hashToken(token), token.slice(0, 12)],
  )
  return { trigger: trigger!, token }
}

/**
 * The automation-level switch. Turning it back on restarts CRON triggers from
 * now and evaluates polling ones at once, like enabling each trigger.
 */
export async function setAutoTriggers(ctx: Context, automationId: string, on: boolean, now = new Date()) {
  const a = await editableAutomation(ctx, automationId)
  await ctx.services.db.transaction(async (tx) => {
    // A scheduler pass holds the triggers it fires (FOR UPDATE SKIP LOCKED) until its ticks
    // commit: wait for it, so no tick read before the switch lands after it; passes that come
    // later skip these rows until the switch commits, then see it.
    await tx.query('select id from triggers where automation_id = $1 and org_id = $2 for update', [
      a.id,
      a.org_id,
    ])
    await storeAutoTriggers(tx, a.org_id, a.id, on)
    if (on) {
      for (const t of await listTriggers(tx, a.org_id, a.id)) {
        if (t.type === 'CRON' || t.next_check_at) {
          const s = freshSchedule(t.type, t.config, now)
          await tx.query(
            'update triggers set next_fire_at = $2, fire_early = $3, next_check_at = $4 where id = $1',
            [t.id, s.next_fire_at, s.fire_early, s.next_check_at],
          )
        }
      }
    }
    await notifyTriggersChanged(tx)
  })
  return a
}
