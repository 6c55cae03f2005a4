import { z } from 'zod'
import type { RunState } from '../domain'

/**
 * Terminology. A **channel** is a way to tell people (mail, Slack, Teams, webhook,
 * SMS, a dataset row). A **channel connection** is one configured account of a channel
 * (an SMTP server, a Slack bot), set up by an admin. A **reporter** is attached to an
 * automation: on START or END, under a **condition**, it renders its **template** and
 * sends it through a connection to its **target**. A **delivery** is one message a
 * reporter owes about one run: a durable job, retried until delivered or given up.
 */
export const ChannelType = {
  MAIL: 'MAIL',
  SLACK: 'SLACK',
  TEAMS: 'TEAMS',
  WEBHOOK: 'WEBHOOK',
  TWILIO_SMS: 'TWILIO_SMS',
  DATASET: 'DATASET',
} as const
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType]
export const CHANNEL_TYPES = Object.values(ChannelType) as [ChannelType, ...ChannelType[]]

export const ReporterEvent = { START: 'START', END: 'END' } as const
export type ReporterEvent = (typeof ReporterEvent)[keyof typeof ReporterEvent]
export const REPORTER_EVENTS = Object.values(ReporterEvent) as [ReporterEvent, ...ReporterEvent[]]

/** Which run outcomes an END reporter sends on; EXPRESSION adds an expression, judged at delivery. */
export const CONDITION_STATES = {
  ANY: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'],
  SUCCEEDED: ['SUCCEEDED'],
  FAILED: ['FAILED'],
  CANCELLED: ['CANCELLED'],
  TIMED_OUT: ['TIMED_OUT'],
  NOT_SUCCEEDED: ['FAILED', 'CANCELLED', 'TIMED_OUT'],
  EXPRESSION: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'],
} as const satisfies Record<string, readonly RunState[]>
export type ReporterCondition = keyof typeof CONDITION_STATES
export const REPORTER_CONDITIONS = Object.keys(CONDITION_STATES) as [
  ReporterCondition,
  ...ReporterCondition[],
]

/** The conditions under which an END reporter sends for a run that ended in `state`. */
export const conditionsMatching = (state: RunState): ReporterCondition[] =>
  REPORTER_CONDITIONS.filter((c) => (CONDITION_STATES[c] as readonly string[]).includes(state))

export const DeliveryState = {
  QUEUED: 'QUEUED',
  SENDING: 'SENDING',
  DELIVERED: 'DELIVERED',
  FAILED: 'FAILED',
  /** The reporter's expression was false for this run: nothing to send. */
  SKIPPED: 'SKIPPED',
} as const
export type DeliveryState = (typeof DeliveryState)[keyof typeof DeliveryState]
export const DELIVERY_STATES = Object.values(DeliveryState) as [DeliveryState, ...DeliveryState[]]

/** A `${secret.NAME}` reference: how a connection holds a credential (the value is a secret). */
export const SECRET_REF = /^\$\{secret\.([A-Za-z_][A-Za-z0-9_]{0,62})\}$/
const REF = '$' + '{secret.NAME}'
export const SecretRef = z
  .string()
  .regex(SECRET_REF, `must be a ${REF} reference; an admin adds the value on the Secrets page`)

/** An http(s) URL, or a secret holding one (webhook URLs of Slack and Teams are credentials). */
export const UrlOrSecret = z
  .string()
  .max(4000)
  .refine(
    (u) => SECRET_REF.test(u) || /^https?:\/\/[^\s]+$/.test(u),
    `must be an http:// or https:// URL, or a ${REF} reference holding one`,
  )

/** The run as the delivery was queued: a START message must never read its end. */
export interface RunSnapshot {
  id: string
  org_id: string
  automation_id: string
  state: string
  attempt: number
  max_attempts: number
  error: string | null
  trigger_source: string
  triggered_by: string | null
  parent_run_id: string | null
  version: number
  parameters: Record<string, unknown>
  outputs: Record<string, unknown> | null
  created_at: string | null
  started_at: string | null
  finished_at: string | null
}
