import { folderAccess } from '../auth/context-access'
import { atLeast } from '../auth/permissions'
import type { Permission } from '../domain'
import type { Context } from '../graphql/context'

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
  const p = (await folderAccess(ctx)).permissionFor(a.folder_id)
  if (a.allow_all_users_to_run && !atLeast(p, 'RUN')) return 'RUN'
  return p
}

export async function canViewAutomation(ctx: Context, a: AutomationRow): Promise<boolean> {
  return (await automationPermission(ctx, a)) !== null
}
