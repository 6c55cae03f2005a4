import { folderAccess } from '../auth/context-access'
import { type FolderAccess, type GrantRow, atLeast, folderAccessOf } from '../auth/permissions'
import type { Queryable } from '../db/database'
import type { CurrentVersion } from '../engine/types'
import type { Permission, Role } from '../domain'
import { ForbiddenError, ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import { isUuid } from '../validation'

export interface AutomationRow {
  id: string
  org_id: string
  folder_id: string | null
  name: string
  description: string
  kind: string
  version: number
  current_version_id: string | null
  created_by: string | null
  run_as_user_id: string | null
  allow_all_users_to_run: boolean
  created_at: Date
  updated_at: Date
  deleted_at: Date | null
}

export const AUTOMATION_COLUMNS = `id, org_id, folder_id, name, description, kind, version, current_version_id,
  created_by, run_as_user_id, allow_all_users_to_run, created_at, updated_at, deleted_at`

/**
 * What the viewer may do with an automation: its folder permission, raised to
 * RUN for any member when "allow all users to run" is set; for an embed token,
 * RUN on its own automations only. null means invisible.
 */
export async function automationPermission(ctx: Context, a: AutomationRow): Promise<Permission | null> {
  const v = ctx.viewer
  if (!v || v.orgId !== a.org_id || a.deleted_at) return null
  if (v.type === 'embed') return v.automationIds.includes(a.id) && a.allow_all_users_to_run ? 'RUN' : null
  return userPermission(await folderAccess(ctx), a)
}

/** A user's permission on an automation from their folder access: "allow all users to run" raises it to RUN. */
export function userPermission(
  access: FolderAccess,
  a: Pick<AutomationRow, 'folder_id' | 'allow_all_users_to_run'>,
): Permission | null {
  const p = access.permissionFor(a.folder_id)
  if (a.allow_all_users_to_run && !atLeast(p, 'RUN')) return 'RUN'
  return p
}

export async function canViewAutomation(ctx: Context, a: AutomationRow): Promise<boolean> {
  return (await automationPermission(ctx, a)) !== null
}

/** The automations a definition runs as its children (CHAIN children, WORKFLOW steps). */
export function childAutomationIds(def: { kind: string; config: unknown }): string[] {
  const c = (def.config ?? {}) as { children?: unknown; steps?: unknown }
  if (def.kind === 'CHAIN' && Array.isArray(c.children)) return c.children.map(String)
  if (def.kind === 'WORKFLOW' && Array.isArray(c.steps)) {
    return c.steps
      .map((s) => (s as { automationId?: unknown }).automationId)
      .filter((id): id is string => typeof id === 'string')
  }
  return []
}

async function loadAutomations(
  q: Queryable,
  orgId: string,
  ids: readonly string[],
): Promise<AutomationRow[]> {
  if (ids.length === 0) return []
  return q.query<AutomationRow>(
    `select ${AUTOMATION_COLUMNS} from automations where org_id = $1 and id = any($2::uuid[]) and deleted_at is null`,
    [orgId, ids.filter(isUuid)],
  )
}

/**
 * Saving a chain (or workflow) needs VIEW and RUN on every child for the saver:
 * otherwise the chain would hand its children's outputs and logs to someone
 * who may not see them. An invisible child reads as "no such automation".
 */
export async function assertMayUseChildren(
  ctx: Context,
  def: { kind: string; config: unknown },
): Promise<void> {
  const ids = childAutomationIds(def)
  if (ids.length === 0 || !ctx.viewer) return
  const byId = new Map((await loadAutomations(ctx.services.db, ctx.viewer.orgId, ids)).map((a) => [a.id, a]))
  const path = def.kind === 'CHAIN' ? 'config.children' : 'config.steps'
  for (const [i, id] of ids.entries()) {
    const a = byId.get(id)
    const p = a ? await automationPermission(ctx, a) : null
    if (!a || p === null) {
      throw new ValidationError(`invalid config: ${path}.${i}: automation ${id} does not exist`, [
        { path: `${path}.${i}`, message: 'no such automation in this organization' },
      ])
    }
    if (!atLeast(p, 'RUN'))
      throw new ForbiddenError(
        `you may not run "${a.name}", so you may not make it a step of this ${def.kind.toLowerCase()}`,
      )
  }
}

/** Why a child may not run: thrown by resolveChildToRun, the message names the child. */
export class ChildForbiddenError extends Error {
  override name = 'ChildForbiddenError'
}

/**
 * Checked each time a chain (or workflow) starts a child: the chain's run-as
 * user must still be allowed to run it now (grants change after a save). A
 * child that became forbidden fails the chain with a message naming it.
 */
export async function resolveChildToRun(
  q: Queryable,
  args: { orgId: string; runAsUserId: string | null; automationId: string },
): Promise<CurrentVersion | undefined> {
  // One statement (the child's version, its folder's grants, the run-as user): a chain's
  // every step queues its next child with it. Only the child's folder matters for RUN.
  const [row] = await q.query<
    CurrentVersion &
      Pick<AutomationRow, 'name' | 'folder_id' | 'allow_all_users_to_run'> & {
        user_id: string | null
        user_role: Role | null
        user_email: string | null
        grants: GrantRow[] | null
      }
  >(
    `select v.id as version_id, v.version, v.definition, a.name, a.folder_id, a.allow_all_users_to_run,
       u.id as user_id, u.role as user_role, u.email as user_email,
       case when u.role <> 'ADMIN' and a.folder_id is not null then
         (select coalesce(json_agg(json_build_object('folder_id', g.folder_id, 'user_id', g.user_id,
                   'role', g.role, 'permission', g.permission)), '[]'::json)
          from folder_grants g where g.org_id = a.org_id and g.folder_id = a.folder_id)
       end as grants
     from automations a
     join automation_versions v on v.id = a.current_version_id
     left join users u on u.id = $3 and u.org_id = a.org_id and u.deleted_at is null
     where a.id = $1 and a.org_id = $2 and a.deleted_at is null`,
    [args.automationId, args.orgId, args.runAsUserId],
  )
  if (!row) return undefined // the caller reports a deleted child in its own words
  if (!row.user_id || !row.user_role) {
    throw new ChildForbiddenError(`"${row.name}" may not run: the chain has no live run-as user`)
  }
  const access = folderAccessOf({ userId: row.user_id, role: row.user_role }, row.grants ?? [], [])
  if (!atLeast(userPermission(access, row), 'RUN')) {
    throw new ChildForbiddenError(`"${row.name}" may not be run by the chain's run-as user ${row.user_email}`)
  }
  return { version_id: row.version_id, version: row.version, definition: row.definition }
}
