import { folderAccess } from '../auth/context-access'
import { type FolderAccess, atLeast, loadFolderAccess } from '../auth/permissions'
import type { Queryable } from '../db/database'
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

/** Why a child may not run: thrown by assertMayRunChild, the message names the child. */
export class ChildForbiddenError extends Error {
  override name = 'ChildForbiddenError'
}

/**
 * Checked each time a chain (or workflow) starts a child: the chain's run-as
 * user must still be allowed to run it now (grants change after a save). A
 * child that became forbidden fails the chain with a message naming it.
 */
export async function assertMayRunChild(
  q: Queryable,
  args: { orgId: string; runAsUserId: string | null; automationId: string },
): Promise<void> {
  const [a] = await loadAutomations(q, args.orgId, [args.automationId])
  if (!a) return // the caller reports a deleted child in its own words
  const [user] = args.runAsUserId
    ? await q.query<{ id: string; role: Role; email: string }>(
        'select id, role, email from users where id = $1 and org_id = $2 and deleted_at is null',
        [args.runAsUserId, args.orgId],
      )
    : []
  if (!user) throw new ChildForbiddenError(`"${a.name}" may not run: the chain has no live run-as user`)
  const access = await loadFolderAccess(q, { userId: user.id, orgId: args.orgId, role: user.role })
  if (!atLeast(userPermission(access, a), 'RUN')) {
    throw new ChildForbiddenError(`"${a.name}" may not be run by the chain's run-as user ${user.email}`)
  }
}
