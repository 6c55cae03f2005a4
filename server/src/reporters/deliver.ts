import type { Database } from '../db/database'
import type { Egress } from '../egress'
import { coerceError } from '../errors'
import { evaluateExpression } from '../data/variables/expression'
import { redactor } from '../secrets/references'
import type { Warehouse } from '../warehouse/warehouse'
import { CHANNELS } from './channels'
import { DeliveryError, type Sent } from './channels/channel'
import { reportContext } from './context'
import type { ChannelType, ReporterEvent, RunSnapshot } from './domain'
import type { ConnectionRow, ReporterRow } from './rows'
import { withSecretValues } from './secrets'
import { TemplateError, renderTemplate } from './template'

/** What sending needs: the platform database, the network, the warehouse, the secret key, links. */
export interface DeliveryServices {
  db: Database
  egress: Egress
  warehouse: Warehouse
  secretsKey: Buffer
  publicUrl: string
}

export type SendOutcome =
  | { kind: 'SENT'; sent: Sent }
  | { kind: 'SKIPPED'; reason: string }
  | { kind: 'FAILED'; error: string; retryable: boolean; responseCode: number | null }

/**
 * Sends one reporter's message about one run (as snapshot), or tells why not: the
 * expression is false (SKIPPED), or a failure, retryable or not. Secret values are
 * redacted from every error. Never throws.
 */
export async function sendReport(
  services: DeliveryServices,
  args: {
    reporter: ReporterRow
    connection: ConnectionRow
    snapshot: RunSnapshot
    /** When the message was queued: its steps are those that had started by then. */
    queuedAt?: Date | string
    deliveryKey: string
    signal: AbortSignal
    timeoutMs: number
    /** A test message ignores the condition. */
    ignoreCondition?: boolean
    /** More for the template: a SEND_MESSAGE step's own `params`. */
    values?: Record<string, unknown>
  },
): Promise<SendOutcome> {
  let redact = (s: string) => s
  try {
    const { reporter, connection, snapshot } = args
    const channel = CHANNELS[connection.type as ChannelType]
    if (!channel) throw new DeliveryError(`unknown channel ${connection.type}`, false)
    const event = reporter.event as ReporterEvent
    const about = await reportContext(services.db, {
      snapshot,
      event,
      publicUrl: services.publicUrl,
      asOf: args.queuedAt,
    })
    const ctx = { ...about, values: { ...about.values, ...args.values } }
    if (reporter.condition === 'EXPRESSION' && reporter.expression && !args.ignoreCondition) {
      let holds: boolean
      try {
        holds = Boolean(evaluateExpression(reporter.expression, { now: new Date(), lookup: ctx.lookup }))
      } catch (err) {
        throw new DeliveryError(`condition: ${coerceError(err).message}`, false)
      }
      if (!holds) return { kind: 'SKIPPED', reason: `condition is false: ${reporter.expression}` }
    }
    const conn = channel.connectionSchema.parse(connection.config)
    const target = channel.targetSchema.parse(reporter.target)
    let opened: { config: unknown; values: ReadonlyMap<string, string> }
    try {
      opened = await withSecretValues(services.db, services.secretsKey, snapshot.org_id, conn)
    } catch (err) {
      throw new DeliveryError(`connection "${connection.name}": ${coerceError(err).message}`, false)
    }
    redact = redactor(opened.values)
    const body = await renderTemplate(reporter.template, ctx.values, channel.templateMode)
    const sent = await channel.send(
      opened.config,
      target,
      {
        orgId: snapshot.org_id,
        deliveryKey: args.deliveryKey,
        body,
        render: (t, mode) => renderTemplate(t, ctx.values, mode ?? 'plain'),
        context: ctx.values,
        signal: args.signal,
        timeoutMs: args.timeoutMs,
      },
      services,
    )
    return { kind: 'SENT', sent: { ...sent, detail: redact(sent.detail) } }
  } catch (err) {
    return failure(err, redact)
  }
}

/** Tries a connection (logs in, or posts a test message), as an admin's "test connection". */
export async function testConnection(
  services: DeliveryServices,
  args: {
    connection: ConnectionRow
    target?: unknown
    snapshot: RunSnapshot
    signal: AbortSignal
    timeoutMs: number
  },
): Promise<SendOutcome> {
  let redact = (s: string) => s
  try {
    const channel = CHANNELS[args.connection.type as ChannelType]
    const conn = channel.connectionSchema.parse(args.connection.config)
    const target = args.target === undefined ? undefined : channel.targetSchema.parse(args.target)
    const opened = await withSecretValues(
      services.db,
      services.secretsKey,
      args.connection.org_id,
      conn,
    ).catch((err: unknown) => {
      throw new DeliveryError(coerceError(err).message, false)
    })
    redact = redactor(opened.values)
    const ctx = await reportContext(services.db, {
      snapshot: args.snapshot,
      event: 'END',
      publicUrl: services.publicUrl,
    })
    const body = await renderTemplate(
      channel.type === 'WEBHOOK'
        ? '{"test": true, "message": "Switchyard connection test", "connection": {{ connection | json }}}'
        : 'Switchyard connection test for "{{ connection }}": if you read this, it works.',
      { ...ctx.values, connection: args.connection.name },
      channel.templateMode,
    )
    const sent = await channel.test(
      opened.config,
      target,
      {
        orgId: args.connection.org_id,
        deliveryKey: `test:${args.connection.id}:${Date.now()}`,
        body,
        render: (t, mode) => renderTemplate(t, ctx.values, mode ?? 'plain'),
        context: ctx.values,
        signal: args.signal,
        timeoutMs: args.timeoutMs,
      },
      services,
    )
    return { kind: 'SENT', sent: { ...sent, detail: redact(sent.detail) } }
  } catch (err) {
    return failure(err, redact)
  }
}

function failure(err: unknown, redact: (s: string) => string): SendOutcome {
  if (err instanceof DeliveryError)
    return {
      kind: 'FAILED',
      error: redact(err.message),
      retryable: err.retryable,
      responseCode: err.responseCode,
    }
  if (err instanceof TemplateError)
    return { kind: 'FAILED', error: redact(err.message), retryable: false, responseCode: null }
  const e = coerceError(err)
  // Anything else (the database, the warehouse away) may pass: try again later.
  return { kind: 'FAILED', error: redact(e.message), retryable: true, responseCode: null }
}
