import { getVisibleAutomation } from '../automations/service'
import { GraphQLError } from 'graphql'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'
import type { LogEvent, RunEvent } from '../events/channels'
import { iterate, iterateLatest } from '../events/iterate'
import { builder } from '../graphql/builder'
import { type LogLine, LogLineType, RunType } from './graphql'
import { getVisibleRun } from './service'
import { loadRunShared } from './shared-load'
import { canViewRun } from './visibility'

const FINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED'])

/** Subscriptions have no typed result union: expected errors become coded GraphQL errors. */
async function expected<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new GraphQLError(err.message, { extensions: { code: 'NOT_FOUND' } })
    if (err instanceof ForbiddenError)
      throw new GraphQLError(err.message, { extensions: { code: 'FORBIDDEN' } })
    if (err instanceof ValidationError)
      throw new GraphQLError(err.message, { extensions: { code: 'BAD_USER_INPUT' } })
    throw err
  }
}

builder.subscriptionField('runUpdated', (t) =>
  t.field({
    type: RunType,
    authScopes: { authenticated: true },
    description:
      'Every change of one run (runId), of the runs of one automation (automationId), or of all runs you may see (neither)',
    args: { runId: t.arg.id({ required: false }), automationId: t.arg.id({ required: false }) },
    subscribe: (_root, args, ctx) =>
      expected(async () => {
        const viewer = ctx.viewer!
        let key: string
        if (args.runId != null && args.automationId != null) {
          throw new ValidationError('give runId or automationId, not both')
        } else if (args.runId != null) {
          // Throws NotFound for runs of other organizations, or not visible: nothing leaks.
          const run = await getVisibleRun(ctx, String(args.runId))
          key = `run:${run.id}`
        } else if (args.automationId != null) {
          const a = await getVisibleAutomation(ctx, String(args.automationId))
          key = `automation:${a.id}`
        } else {
          key = `org:${viewer.orgId}`
        }
        const { bus, db } = ctx.services
        // Rows are loaded when the subscriber is ready for them (once per change per node,
        // shared by every subscriber), so a slow one coalesces to the latest state per run.
        const events = iterateLatest<RunEvent>(
          (push) =>
            bus.onRun(key, (e: RunEvent) => {
              if (e.orgId === viewer.orgId) push(e)
            }),
          (e) => e.runId,
        )
        // A row loaded late may already be past the change announced (QUEUED read as RUNNING):
        // the subscriber then gets the newer state once, not the same state twice.
        const lastSent = new Map<string, string>()
        return (async function* () {
          try {
            for await (const e of events) {
              const row = await loadRunShared(db, e.runId, e.state)
              if (!row || !(await canViewRun(ctx, row))) continue
              // WAITING always goes out: its place in line may have moved without the row changing.
              const seen = `${row.state}:${row.attempt}:${row.started_at ?? ''}`
              if (row.state !== 'WAITING' && lastSent.get(row.id) === seen) continue
              if (FINAL_STATES.has(row.state)) lastSent.delete(row.id)
              else lastSent.set(row.id, seen)
              yield row
            }
          } finally {
            await events.return?.()
          }
        })()
      }),
    resolve: (row) => row,
  }),
)

builder.subscriptionField('runLog', (t) =>
  t.field({
    type: LogLineType,
    authScopes: { authenticated: true },
    description: 'Log lines of a run as they are written; with afterId, stored lines after it come first',
    args: { runId: t.arg.id(), afterId: t.arg.id({ required: false }) },
    subscribe: (_root, args, ctx) =>
      expected(async () => {
        const run = await getVisibleRun(ctx, String(args.runId))
        const { bus, db } = ctx.services
        const live = iterate<LogEvent>((push) => bus.onLog(run.id, push), 10_000)
        const afterId = args.afterId != null ? String(args.afterId) : null
        return (async function* () {
          let last = BigInt(0)
          try {
            if (afterId !== null) {
              const stored = await db.query<LogLine>(
                'select id, run_id, at, level, message from run_logs where run_id = $1 and id > $2 order by id limit 10000',
                [run.id, /^\d+$/.test(afterId) ? afterId : '0'],
              )
              for (const line of stored) {
                last = BigInt(line.id)
                yield line
              }
            }
            for await (const e of live) {
              if (BigInt(e.id) <= last) continue
              yield {
                id: e.id,
                run_id: e.runId,
                at: e.at,
                level: e.level,
                message: e.message,
              } satisfies LogLine
            }
          } finally {
            await live.return?.()
          }
        })()
      }),
    resolve: (line) => line,
  }),
)
