import { getVisibleAutomation } from '../automations/service'
import { GraphQLError } from 'graphql'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors'
import type { LogEvent, RunEvent } from '../events/channels'
import { endingWith, iterateLatest, renderEach } from '../events/iterate'
import { mapMaybe } from '../maybe-promise'
import type { RunRow } from '../engine/run-row'
import { builder } from '../graphql/builder'
import { type LogLine, LogLineType, RunType } from './graphql'
import { watchViewerAccess } from './live-access'
import { getVisibleRun } from './service'
import { canViewRun } from './visibility'

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
      'Every change of one run and of its steps (runId), of the runs of one automation (automationId), or of all runs you may see (neither)',
    args: { runId: t.arg.id({ required: false }), automationId: t.arg.id({ required: false }) },
    subscribe: (_root, args, ctx) =>
      expected(async () => {
        const viewer = ctx.viewer!
        if (args.runId != null && args.automationId != null) {
          throw new ValidationError('give runId or automationId, not both')
        }
        const { bus, runReads } = ctx.services
        // Every change is delivered as it was (the event carries it); a subscriber that
        // falls behind gets the latest change of each run instead of every one in between.
        // One run is watched with its steps (a chain's or workflow's children): `children:<id>` too.
        const listen = (key: string) =>
          iterateLatest<RunEvent>(
            (push) => {
              const keys = key.startsWith('run:') ? [key, `children:${key.slice('run:'.length)}`] : [key]
              const offs = keys.map((k) =>
                bus.onRun(k, (e: RunEvent) => {
                  if (e.orgId === viewer.orgId) push(e)
                }),
              )
              return () => {
                for (const off of offs) off()
              }
            },
            (e) => e.runId,
          )
        const asked =
          args.runId != null
            ? `run:${String(args.runId)}`
            : args.automationId != null
              ? `automation:${String(args.automationId)}`
              : `org:${viewer.orgId}`
        // Listening starts before the visibility check's round trip, so a run queued right
        // after the client subscribed is seen from QUEUED on; nothing is delivered unless the
        // check passes.
        let events = listen(asked)
        let key: string
        try {
          // Both throw NotFound for what other organizations own, or is not visible: nothing leaks.
          if (args.runId != null) key = `run:${(await getVisibleRun(ctx, String(args.runId))).id}`
          else if (args.automationId != null)
            key = `automation:${(await getVisibleAutomation(ctx, String(args.automationId))).id}`
          else key = asked
        } catch (err) {
          await events.return?.()
          throw err
        }
        if (key !== asked) {
          // The id was asked in another spelling (leading zeros): listen under the real one.
          await events.return?.()
          events = listen(key)
        }
        const unwatch = watchViewerAccess(ctx, (err) => events.fail(err))
        // Each delivery is checked against current grants (the memo is dropped when they
        // change); the row and the check are answered without an await when already known.
        const visible = (row: RunRow | undefined) => {
          if (!row) return undefined
          return mapMaybe(canViewRun(ctx, row), (ok) => (ok ? row : undefined))
        }
        return renderEach(
          events,
          (e) => {
            const row = runReads.asOf(e)
            return mapMaybe(row, visible)
          },
          unwatch,
        )
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
        // Announcements name only the newest line id: lines are read from run_logs, so a
        // subscriber sees nothing but what the platform wrote. Coalesced: one read catches up.
        const live = iterateLatest<LogEvent>(
          (push) => bus.onLog(run.id, push),
          () => run.id,
        )
        const unwatch = watchViewerAccess(ctx, (err) => live.fail(err))
        const afterId = args.afterId != null ? String(args.afterId) : null
        const PAGE = 1000
        const linesAfter = (id: string) =>
          db.query<LogLine>(
            'select id, run_id, at, level, message from run_logs where run_id = $1 and id > $2 order by id limit $3',
            [run.id, id, PAGE],
          )
        return endingWith(
          live,
          (async function* () {
            // Without afterId only lines written from now on: start after the newest stored line.
            let last =
              afterId !== null && /^\d+$/.test(afterId)
                ? afterId
                : ((
                    await db.query<{ id: string | null }>(
                      'select max(id)::text as id from run_logs where run_id = $1',
                      [run.id],
                    )
                  )[0]?.id ?? '0')
            try {
              if (afterId !== null) {
                for (let page = await linesAfter(last); page.length > 0; page = await linesAfter(last)) {
                  for (const line of page) yield line
                  last = page[page.length - 1]!.id
                  if (page.length < PAGE) break
                }
              }
              for await (const e of live) {
                while (BigInt(e.lastId) > BigInt(last)) {
                  const page = await linesAfter(last)
                  if (page.length === 0) break
                  for (const line of page) yield line
                  last = page[page.length - 1]!.id
                }
              }
            } finally {
              unwatch()
              await live.return?.()
            }
          })(),
        )
      }),
    resolve: (line) => line,
  }),
)
