import { z } from 'zod'
import type { Queryable } from '../db/database'
import { checkExpression } from '../data/variables/store'
import { NotFoundError, ValidationError } from '../errors'
import { isUuid, parseInput } from '../validation'
import { CHANNELS } from './channels'
import { CHANNEL_TYPES, type ChannelType, REPORTER_CONDITIONS, REPORTER_EVENTS } from './domain'
import { CONNECTION_COLUMNS, type ConnectionRow, REPORTER_COLUMNS, type ReporterRow } from './rows'
import { missingSecrets, secretNamesIn } from './secrets'
import { announceReporters } from './install'
import { checkTemplate } from './template'

/** Validates `value` with `schema`, naming each bad field under `prefix` (config.host, target.to.0). */
function parseAt<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issues = r.error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].join('.'),
    message: i.message,
  }))
  throw new ValidationError(
    `invalid ${prefix}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  )
}

const Name = z.string().trim().min(1, 'must not be empty').max(200, 'at most 200 characters')

export const ConnectionInput = z.object({
  name: Name,
  type: z.enum(CHANNEL_TYPES),
  config: z.unknown().default({}),
})

/** Checks a connection's settings for its channel and that every secret it names exists. */
export async function validateConnection(
  q: Queryable,
  orgId: string,
  raw: unknown,
): Promise<{ name: string; type: ChannelType; config: unknown }> {
  const input = parseInput(ConnectionInput, raw)
  const config = parseAt(CHANNELS[input.type].connectionSchema, input.config ?? {}, 'config')
  const missing = await missingSecrets(q, orgId, secretNamesIn(config))
  if (missing.length > 0)
    throw new ValidationError(`invalid config: no secret named ${missing.join(', ')}`, [
      { path: 'config', message: `no secret named ${missing[0]}; an admin adds it on the Secrets page` },
    ])
  return { name: input.name, type: input.type, config }
}

export function listConnections(q: Queryable, orgId: string): Promise<ConnectionRow[]> {
  return q.query<ConnectionRow>(
    `select ${CONNECTION_COLUMNS} from channel_connections where org_id = $1 order by name`,
    [orgId],
  )
}

export async function getConnection(q: Queryable, orgId: string, id: string): Promise<ConnectionRow> {
  if (!isUuid(id)) throw new NotFoundError('channel connection')
  const [row] = await q.query<ConnectionRow>(
    `select ${CONNECTION_COLUMNS} from channel_connections where id = $1 and org_id = $2`,
    [id, orgId],
  )
  if (!row) throw new NotFoundError('channel connection')
  return row
}

const nameTaken = (name: string) =>
  new ValidationError(`invalid name: a channel connection named "${name}" exists`, [
    { path: 'name', message: 'is taken' },
  ])

export async function createConnection(
  q: Queryable,
  orgId: string,
  by: string,
  raw: unknown,
): Promise<ConnectionRow> {
  const c = await validateConnection(q, orgId, raw)
  const [row] = await q.query<ConnectionRow>(
    `insert into channel_connections (org_id, name, type, config, created_by) values ($1, $2, $3, $4, $5)
     on conflict (org_id, name) do nothing returning ${CONNECTION_COLUMNS}`,
    [orgId, c.name, c.type, JSON.stringify(c.config), by],
  )
  if (!row) throw nameTaken(c.name)
  return row
}

/** A connection's type never changes: its reporters' targets are written for it. */
export async function updateConnection(
  q: Queryable,
  orgId: string,
  id: string,
  raw: unknown,
): Promise<ConnectionRow> {
  const current = await getConnection(q, orgId, id)
  const c = await validateConnection(q, orgId, raw)
  if (c.type !== current.type)
    throw new ValidationError('invalid type: a connection keeps its channel type; create another one', [
      { path: 'type', message: `is ${current.type}` },
    ])
  const [clash] = await q.query(
    'select 1 from channel_connections where org_id = $1 and name = $2 and id <> $3',
    [orgId, c.name, id],
  )
  if (clash) throw nameTaken(c.name)
  const [row] = await q.query<ConnectionRow>(
    `update channel_connections set name = $3, config = $4, updated_at = now() where id = $1 and org_id = $2
     returning ${CONNECTION_COLUMNS}`,
    [id, orgId, c.name, JSON.stringify(c.config)],
  )
  return row!
}

export async function deleteConnection(q: Queryable, orgId: string, id: string): Promise<ConnectionRow> {
  const current = await getConnection(q, orgId, id)
  const [used] = await q.query<{ n: number }>(
    'select count(*)::int as n from reporters where connection_id = $1',
    [id],
  )
  if (used!.n > 0)
    throw new ValidationError(`invalid id: ${used!.n} reporter(s) use this connection; remove them first`, [
      { path: 'id', message: 'is in use by reporters' },
    ])
  await q.query('delete from channel_connections where id = $1 and org_id = $2', [id, orgId])
  return current
}

export const ReporterInput = z
  .object({
    name: Name,
    connectionId: z.string().refine(isUuid, 'must be a connection id'),
    event: z.enum(REPORTER_EVENTS).default('END'),
    condition: z.enum(REPORTER_CONDITIONS).default('ANY'),
    expression: z.string().trim().max(4000).nullish(),
    /** Liquid; omitted: the channel's default template. */
    template: z.string().max(100_000).nullish(),
    target: z.unknown().default({}),
    enabled: z.boolean().default(true),
  })
  .refine((r) => r.condition !== 'EXPRESSION' || !!r.expression, {
    message: 'an EXPRESSION condition needs an expression',
    path: ['expression'],
  })
  .refine((r) => r.event === 'END' || r.condition === 'ANY' || r.condition === 'EXPRESSION', {
    message: 'a START reporter has no outcome yet: use ANY or EXPRESSION',
    path: ['condition'],
  })

export interface ValidReporter {
  name: string
  connectionId: string
  event: string
  condition: string
  expression: string | null
  template: string
  target: unknown
  enabled: boolean
}

/**
 * Checks a reporter at save: the connection is the organization's, the target fits its
 * channel, the expression parses, and every template compiles (errors name the line).
 */
export async function validateReporter(q: Queryable, orgId: string, raw: unknown): Promise<ValidReporter> {
  const input = parseInput(ReporterInput, raw)
  const [conn] = await q.query<{ type: ChannelType }>(
    'select type from channel_connections where id = $1 and org_id = $2',
    [input.connectionId, orgId],
  )
  if (!conn)
    throw new ValidationError('invalid connectionId: no such channel connection', [
      { path: 'connectionId', message: 'no such channel connection in this organization' },
    ])
  const channel = CHANNELS[conn.type]
  const target = parseAt(channel.targetSchema, input.target ?? {}, 'target')
  const expression = input.condition === 'EXPRESSION' ? (input.expression ?? null) : null
  if (expression) checkExpression(expression)
  const template = input.template ?? channel.defaultTemplate
  checkTemplate(template, 'template', channel.templateMode)
  for (const [path, t] of Object.entries(channel.templatesOf(target))) checkTemplate(t, `target.${path}`)
  return {
    name: input.name,
    connectionId: input.connectionId,
    event: input.event,
    condition: input.condition,
    expression,
    template,
    target,
    enabled: input.enabled,
  }
}

export function listReporters(q: Queryable, automationId: string): Promise<ReporterRow[]> {
  return q.query<ReporterRow>(
    `select ${REPORTER_COLUMNS} from reporters where automation_id = $1 order by created_at, id`,
    [automationId],
  )
}

export async function getReporter(q: Queryable, orgId: string, id: string): Promise<ReporterRow> {
  if (!isUuid(id)) throw new NotFoundError('reporter')
  const [row] = await q.query<ReporterRow>(
    `select ${REPORTER_COLUMNS} from reporters where id = $1 and org_id = $2`,
    [id, orgId],
  )
  if (!row) throw new NotFoundError('reporter')
  return row
}

export async function insertReporter(
  q: Queryable,
  r: ValidReporter & { orgId: string; automationId: string; by: string },
): Promise<ReporterRow> {
  const [row] = await q.query<ReporterRow>(
    `insert into reporters (org_id, automation_id, connection_id, name, event, condition, expression, template, target, enabled, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning ${REPORTER_COLUMNS}`,
    [
      r.orgId,
      r.automationId,
      r.connectionId,
      r.name,
      r.event,
      r.condition,
      r.expression,
      r.template,
      JSON.stringify(r.target),
      r.enabled,
      r.by,
    ],
  )
  await announceReporters(q, r.automationId)
  return row!
}

export async function updateReporterRow(q: Queryable, id: string, r: ValidReporter): Promise<ReporterRow> {
  const [row] = await q.query<ReporterRow>(
    `update reporters set connection_id = $2, name = $3, event = $4, condition = $5, expression = $6,
       template = $7, target = $8, enabled = $9, updated_at = now()
     where id = $1 returning ${REPORTER_COLUMNS}`,
    [
      id,
      r.connectionId,
      r.name,
      r.event,
      r.condition,
      r.expression,
      r.template,
      JSON.stringify(r.target),
      r.enabled,
    ],
  )
  await announceReporters(q, row!.automation_id)
  return row!
}

export async function deleteReporterRow(q: Queryable, r: ReporterRow): Promise<void> {
  await q.query('delete from reporters where id = $1', [r.id])
  await announceReporters(q, r.automation_id)
}
