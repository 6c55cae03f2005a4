import type { z } from 'zod'
import type { Database } from '../../db/database'
import type { Egress } from '../../egress'
import type { Warehouse } from '../../warehouse/warehouse'
import type { ChannelType } from '../domain'
import type { TemplateMode } from '../template'

/** What a channel needs to send: the network (through the egress policy) and the warehouse. */
export interface ChannelServices {
  db: Database
  egress: Egress
  warehouse: Warehouse
}

/** One message to send: the reporter's body rendered, and a renderer for its other templates. */
export interface Outgoing {
  orgId: string
  /** Stable per (reporter, run, outcome): receivers dedupe on it (X-Switchyard-Delivery). */
  deliveryKey: string
  body: string
  /** Renders another template of the target (a subject, a filename) with the same context. */
  render(template: string, mode?: TemplateMode): Promise<string>
  /** The template context (run, automation...), for channels that add structure (cards). */
  context: Record<string, unknown>
  signal: AbortSignal
  /** Per request: a receiver that never answers must not hold the delivery's lease. */
  timeoutMs: number
}

/** How a send went: the receiver's status (HTTP or SMTP) and a short, secret-free description. */
export interface Sent {
  responseCode: number | null
  detail: string
}

/**
 * A failed send. `retryable`: network errors, timeouts, HTTP 5xx and 429, SMTP 4xx;
 * anything else (a 4xx, a bad template, a missing storage) will not get better by waiting.
 */
export class DeliveryError extends Error {
  override name = 'DeliveryError'
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly responseCode: number | null = null,
  ) {
    super(message)
  }
}

/**
 * A channel: its connection settings (admin-configured, credentials as secret references),
 * the per-reporter target, default templates that look right in it, and how to send.
 */
export interface Channel<C extends z.ZodType = z.ZodType, T extends z.ZodType = z.ZodType> {
  readonly type: ChannelType
  readonly connectionSchema: C
  readonly targetSchema: T
  /** The body template a new reporter starts with. */
  readonly defaultTemplate: string
  /** HTML bodies escape what they print. */
  readonly templateMode: TemplateMode
  /** Templates inside the target (subject, filename) to check at save, by path. */
  templatesOf(target: z.output<T>): Record<string, string>
  send(conn: z.output<C>, target: z.output<T>, message: Outgoing, services: ChannelServices): Promise<Sent>
  /** Checks the connection works (logs in, or posts a test message where that is the only way). */
  test(
    conn: z.output<C>,
    target: z.output<T> | undefined,
    message: Outgoing,
    services: ChannelServices,
  ): Promise<Sent>
}

export function defineChannel<C extends z.ZodType, T extends z.ZodType>(c: Channel<C, T>): Channel<C, T> {
  return c
}
