import { folderAccess } from '../auth/context-access'
import type { Context } from '../graphql/context'
import type { RunRow } from '../engine/run-row'

/**
 * A user sees a run when it is theirs or when they may see its automation
 * (folder grants); an embed token sees only the runs it started (and their steps).
 * Answered at once (a boolean) when no grant needs reading: a live fan-out checks
 * every subscriber for every change.
 */
export function canViewRun(
  ctx: Context,
  run: Pick<RunRow, 'org_id' | 'automation_id' | 'triggered_by' | 'embed_token_id'>,
): boolean | Promise<boolean> {
  const v = ctx.viewer
  if (!v || v.orgId !== run.org_id) return false
  if (v.type === 'embed') return run.embed_token_id === v.tokenId
  if (v.role === 'ADMIN' || run.triggered_by === v.userId) return true
  return byFolder(ctx, run.automation_id)
}

async function byFolder(ctx: Context, automationId: string): Promise<boolean> {
  const folder = await automationFolder(ctx, automationId)
  if (folder === undefined) return false
  return (await folderAccess(ctx)).permissionFor(folder.folder_id) !== null || folder.allow_all_users_to_run
}

async function automationFolder(ctx: Context, automationId: string) {
  const key = `automation-folder:${automationId}`
  let p = ctx.memo.get(key) as
    | Promise<{ folder_id: string | null; allow_all_users_to_run: boolean } | undefined>
    | undefined
  if (!p) {
    p = ctx.services.db
      .query<{ folder_id: string | null; allow_all_users_to_run: boolean }>(
        'select folder_id, allow_all_users_to_run from automations where id = $1',
        [automationId],
      )
      .then((r) => r[0])
    ctx.memo.set(key, p)
  }
  return p
}
