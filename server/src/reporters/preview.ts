import type { Queryable } from '../db/database'
import { ValidationError, coerceError } from '../errors'
import { CHANNELS } from './channels'
import { slackPayload } from './channels/slack'
import { teamsPayload } from './channels/teams'
import { reportContext } from './context'
import type { ChannelType, ReporterEvent, RunSnapshot } from './domain'
import { validateReporter } from './store'
import { renderTemplate } from './template'

export interface Preview {
  body: string | null
  subject: string | null
  payload: unknown
  error: string | null
}

/**
 * Renders a reporter as it would be sent about `snapshot`. Template mistakes come back as
 * `error` (naming the line) rather than as a failed request, so an editor sees them as they type.
 */
export async function previewReporter(
  db: Queryable,
  publicUrl: string,
  orgId: string,
  input: unknown,
  snapshot: RunSnapshot,
): Promise<Preview> {
  const none = { body: null, subject: null, payload: null }
  let r: Awaited<ReturnType<typeof validateReporter>>
  try {
    r = await validateReporter(db, orgId, input)
  } catch (err) {
    if (err instanceof ValidationError) return { ...none, error: err.message }
    throw err
  }
  const [conn] = await db.query<{ type: ChannelType }>('select type from channel_connections where id = $1', [
    r.connectionId,
  ])
  const channel = CHANNELS[conn!.type]
  const ctx = await reportContext(db, { snapshot, event: r.event as ReporterEvent, publicUrl })
  try {
    const body = await renderTemplate(r.template, ctx.values, channel.templateMode)
    const target = r.target as { subject?: string }
    const subject =
      channel.type === 'MAIL' && target.subject ? await renderTemplate(target.subject, ctx.values) : null
    const payload =
      channel.type === 'SLACK'
        ? slackPayload({ body, context: ctx.values })
        : channel.type === 'TEAMS'
          ? teamsPayload({ body, context: ctx.values })
          : null
    return { body, subject, payload, error: null }
  } catch (err) {
    return { ...none, error: coerceError(err).message }
  }
}
