import { userOf } from '../accounts/graphql'
import { folderAccess } from '../auth/context-access'
import { ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import { isRunId, isUuid } from '../validation'

export interface RunFilter {
  first?: number | null
  after?: string | null
  automationId?: string | number | null
  states?: readonly string[] | null
  triggerSource?: string | null
  triggeredBy?: string | number | null
  since?: Date | null
  until?: Date | null
  topLevelOnly?: boolean | null
}

/** Newest first, keyset-paged by id, filtered in SQL to what the viewer may see. */
export async function listRuns(ctx: Context, f: RunFilter) {
  const viewer = userOf(ctx)
  const access = await folderAccess(ctx)
  const limit = Math.min(Math.max(f.first ?? 50, 1), 500)
  const after = f.after && isRunId(f.after) ? f.after : null
  const automationId = f.automationId != null ? String(f.automationId) : null
  const triggeredBy = f.triggeredBy != null ? String(f.triggeredBy) : null
  for (const [name, id] of [
    ['automationId', automationId],
    ['triggeredBy', triggeredBy],
  ] as const) {
    if (id && !isUuid(id))
      throw invalid(name, `must be ${name === 'triggeredBy' ? 'a user' : 'an automation'} id`)
  }
  if (f.since && f.until && f.until <= f.since)
    throw invalid('until', 'the range ends before it starts: until must be later than since')
  const rows = await ctx.services.db.query<RunRow>(
    `select ${RUN_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1r.$2')} from runs r
     join automations a on a.id = r.automation_id
     where r.org_id = $1
       and ($2::int8 is null or r.id < $2)
       and ($3::uuid is null or r.automation_id = $3)
       and ($4::text[] is null or r.state = any($4))
       and ($5::text is null or r.trigger_source = $5)
       and ($6::uuid is null or r.triggered_by = $6)
       and ($7::timestamptz is null or r.created_at >= $7)
       and ($8::timestamptz is null or r.created_at < $8)
       and (not $9 or r.parent_run_id is null)
       and ($10::uuid[] is null or a.folder_id is null or a.folder_id = any($10) or a.allow_all_users_to_run or r.triggered_by = $11)
     order by r.id desc limit $12`,
    [
      viewer.orgId,
      after,
      automationId,
      f.states?.length ? [...f.states] : null,
      f.triggerSource ?? null,
      triggeredBy,
      f.since ?? null,
      f.until ?? null,
      f.topLevelOnly ?? true,
      access.visibleFolderIds ? [...access.visibleFolderIds] : null,
      viewer.userId,
      limit + 1,
    ],
  )
  const page = rows.slice(0, limit)
  return {
    edges: page.map((r) => ({ node: r, cursor: r.id })),
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: after !== null,
      startCursor: page[0]?.id ?? null,
      endCursor: page.at(-1)?.id ?? null,
    },
  }
}

const invalid = (path: string, message: string) =>
  new ValidationError(`invalid ${path}: ${message}`, [{ path, message }])
