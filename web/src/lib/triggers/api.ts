import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { JsonObject, RunState } from '$lib/api/types'

type Fetch = typeof fetch

export const TRIGGER_TYPES = [
  'CRON',
  'WEBHOOK',
  'AFTER_AUTOMATION',
  'DATASET_CHANGE',
  'SQL_CHANGE',
  'CODE',
] as const
export type TriggerType = (typeof TRIGGER_TYPES)[number]

export const MISSED_TICK_POLICIES = ['ONCE', 'SKIP', 'ALL'] as const
export const OVERLAP_POLICIES = ['SKIP', 'QUEUE', 'ALLOW'] as const
export const AFTER_OUTCOMES = ['SUCCESS', 'FAILURE', 'ANY'] as const

export interface Trigger {
  id: string
  automationId: string
  type: TriggerType
  enabled: boolean
  config: JsonObject
  parameters: JsonObject
  createdAt: string
  lastEvaluatedAt: string | null
  lastFiredAt: string | null
  nextEvaluationAt: string | null
  nextFireTimes: string[]
  waitingTickAt: string | null
  webhookTokenPrefix: string | null
  watchedAutomation: { id: string; name: string } | null
  lastRun: { id: string; state: RunState } | null
}

export interface TriggerEvent {
  id: string
  at: string
  kind: string
  message: string
  runId: string | null
  scheduledAt: string | null
  triggerId: string | null
}

/** What the Execution and Webhook tabs show about an automation's triggers. */
export interface TriggerOverview {
  autoTriggers: boolean
  viewerCanEdit: boolean
  triggers: Trigger[]
  triggerEvents: TriggerEvent[]
}

/** A created or rotated trigger; the webhook secret is in it this once. */
export interface TriggerPayload {
  trigger: Trigger
  webhookToken: string | null
}

const TRIGGER_FIELDS = `id automationId type enabled config parameters createdAt lastEvaluatedAt lastFiredAt
  nextEvaluationAt nextFireTimes(count: 3) waitingTickAt webhookTokenPrefix
  watchedAutomation { id name } lastRun { id state }`

const PAYLOAD = `${RESULT_ERRORS} ... on TriggerPayload { webhookToken trigger { ${TRIGGER_FIELDS} } }`

export async function getTriggerOverview(automationId: string, fetchFn?: Fetch): Promise<TriggerOverview> {
  const data = await request<{ automation: TriggerOverview | null }>(
    `query Triggers($id: ID!) { automation(id: $id) {
      autoTriggers viewerCanEdit
      triggers { ${TRIGGER_FIELDS} }
      triggerEvents(first: 30) { id at kind message runId scheduledAt triggerId }
    } }`,
    { id: automationId },
    fetchFn,
  )
  if (!data.automation) throw new Error('This automation does not exist or is not visible to you.')
  return data.automation
}

export function createTrigger(
  automationId: string,
  input: { type: TriggerType; config: JsonObject; parameters: JsonObject; enabled?: boolean },
): Promise<Outcome<TriggerPayload>> {
  return mutate<TriggerPayload>({
    query: `mutation CreateTrigger($a: ID!, $i: TriggerInput!) { createTrigger(automationId: $a, input: $i) { ${PAYLOAD} } }`,
    variables: { a: automationId, i: input },
    field: 'createTrigger',
  })
}

export function setTriggerEnabled(id: string, enabled: boolean): Promise<Outcome<TriggerPayload>> {
  return mutate<TriggerPayload>({
    query: `mutation UpdateTrigger($id: ID!, $i: TriggerUpdateInput!) { updateTrigger(id: $id, input: $i) { ${PAYLOAD} } }`,
    variables: { id, i: { enabled } },
    field: 'updateTrigger',
  })
}

export function deleteTrigger(id: string): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation DeleteTrigger($id: ID!) { deleteTrigger(id: $id) { ${RESULT_ERRORS} } }`,
    variables: { id },
    field: 'deleteTrigger',
  })
}

export function rotateWebhookToken(triggerId: string): Promise<Outcome<TriggerPayload>> {
  return mutate<TriggerPayload>({
    query: `mutation RotateWebhook($id: ID!) { rotateWebhookToken(triggerId: $id) { ${PAYLOAD} } }`,
    variables: { id: triggerId },
    field: 'rotateWebhookToken',
  })
}

export function setAutoTriggers(automationId: string, enabled: boolean): Promise<Outcome<unknown>> {
  return mutate({
    query: `mutation SetAutoTriggers($a: ID!, $on: Boolean!) { setAutoTriggers(automationId: $a, enabled: $on) { ${RESULT_ERRORS} } }`,
    variables: { a: automationId, on: enabled },
    field: 'setAutoTriggers',
  })
}

/** The next times of a cron pattern, or the server's reason it is invalid. */
export async function previewCron(
  cron: string,
  timezone: string,
): Promise<{ times: string[] } | { message: string }> {
  const data = await request<{ cronPreview: { times?: string[]; message?: string } }>(
    `query CronPreview($c: String!, $tz: String) { cronPreview(cron: $c, timezone: $tz, count: 3) {
      ... on CronPreview { times } ... on ValidationError { message } } }`,
    { c: cron, tz: timezone },
  )
  const r = data.cronPreview
  return r.times ? { times: r.times } : { message: r.message ?? 'invalid' }
}

/** Triggers of other automations that fire after this one (AFTER_AUTOMATION). */
export async function triggersWatching(
  automationId: string,
  fetchFn?: Fetch,
): Promise<{ automation: { id: string; name: string }; on: string; enabled: boolean }[]> {
  const data = await request<{
    automations: {
      edges: {
        node: {
          id: string
          name: string
          triggers: Pick<Trigger, 'type' | 'config' | 'enabled' | 'watchedAutomation'>[]
        }
      }[]
    }
  }>(
    `query Watchers { automations(first: 200) { edges { node { id name
      triggers { type enabled config watchedAutomation { id } } } } } }`,
    {},
    fetchFn,
  )
  return data.automations.edges.flatMap(({ node }) =>
    node.triggers
      .filter((t) => t.type === 'AFTER_AUTOMATION' && t.watchedAutomation?.id === automationId)
      .map((t) => ({
        automation: { id: node.id, name: node.name },
        on: String(t.config.on ?? 'SUCCESS'),
        enabled: t.enabled,
      })),
  )
}
