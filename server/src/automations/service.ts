import { folderAccess } from '../auth/context-access'
import { atLeast } from '../auth/permissions'
import type { UserViewer } from '../auth/viewer'
import type { Queryable } from '../db/database'
import { ForbiddenError, NotFoundError, RunAsForbiddenError, ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import { getKind } from '../kinds/registry'
import { isUuid } from '../validation'
import { AUTOMATION_COLUMNS, type AutomationRow, assertMayUseChildren, automationPermission } from './access'
import type { Definition } from './definition'
import { validateAutomation } from './input'

/** Loads an automation the viewer may see, or throws NotFound (also for other organizations). */
export async function getVisibleAutomation(ctx: Context, id: string): Promise<AutomationRow> {
  if (!isUuid(id)) throw new NotFoundError('automation')
  const [a] = await ctx.services.db.query<AutomationRow>(
    `select ${AUTOMATION_COLUMNS} from automations where id = $1 and org_id = $2 and deleted_at is null`,
    [id, ctx.viewer?.orgId ?? '00000000-0000-0000-0000-000000000000'],
  )
  if (!a || !(await automationPermission(ctx, a))) throw new NotFoundError('automation')
  return a
}

async function assertFolderEditable(ctx: Context, folderId: string | null): Promise<void> {
  const viewer = ctx.viewer as UserViewer
  if (folderId) {
    const [f] = await ctx.services.db.query('select 1 from folders where id = $1 and org_id = $2', [
      folderId,
      viewer.orgId,
    ])
    if (!f) throw new NotFoundError('folder')
  }
  if (!atLeast((await folderAccess(ctx)).permissionFor(folderId), 'EDIT')) {
    throw new ForbiddenError('you may not edit automations in this folder')
  }
}

/**
 * The run-as user a save stores. An automation never runs with rights its last
 * editor lacks: a non-admin may only save an automation that runs as themselves
 * (omitting runAsUserId keeps the current run-as user; naming yourself takes it
 * over); only admins choose another user. The result is always explicit, so
 * nothing falls back to the creator behind the editor's back.
 */
async function decideRunAs(ctx: Context, requested: string | null, current: string | null): Promise<string> {
  const viewer = ctx.viewer as UserViewer
  const runAs = requested ?? current ?? viewer.userId
  if (runAs === viewer.userId) return runAs
  if (viewer.role !== 'ADMIN') {
    if (requested && requested !== current)
      throw new ForbiddenError('only admins may make an automation run as another user')
    throw new RunAsForbiddenError(runAs)
  }
  if (runAs === current) return runAs
  const [u] = await ctx.services.db.query(
    'select 1 from users where id = $1 and org_id = $2 and deleted_at is null',
    [runAs, viewer.orgId],
  )
  if (!u) {
    throw new ValidationError('invalid input: runAsUserId: no such user', [
      { path: 'runAsUserId', message: 'no such user' },
    ])
  }
  return runAs
}

async function insertVersion(
  tx: Queryable,
  a: { id: string; org_id: string },
  version: number,
  def: Definition,
  by: string,
) {
  const [v] = await tx.query<{ id: string }>(
    `insert into automation_versions (org_id, automation_id, version, definition, created_by)
     values ($1, $2, $3, $4::jsonb, $5) returning id`,
    [a.org_id, a.id, version, JSON.stringify(def), by],
  )
  return v!.id
}

function uniqueName(err: unknown): never {
  if ((err as { code?: string }).code === '23505') {
    throw new ValidationError('invalid input: name: an automation with this name already exists', [
      { path: 'name', message: 'an automation with this name already exists' },
    ])
  }
  throw err
}

/** Creates an automation and its version 1. */
export async function createAutomation(ctx: Context, input: unknown): Promise<AutomationRow> {
  const viewer = ctx.viewer as UserViewer
  const parsed = validateAutomation(input)
  await assertFolderEditable(ctx, parsed.folderId)
  const def = { ...parsed, runAsUserId: await decideRunAs(ctx, parsed.runAsUserId, null) }
  await getKind(def.kind)!.checkSave?.(def.config, {
    db: ctx.services.db,
    orgId: viewer.orgId,
    automationId: null,
    saver: { userId: viewer.userId, role: viewer.role },
  })
  await assertMayUseChildren(ctx, def)
  return ctx.services.db
    .transaction(async (tx) => {
      const [a] = await tx.query<AutomationRow>(
        `insert into automations (org_id, folder_id, name, description, kind, created_by, run_as_user_id, allow_all_users_to_run)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${AUTOMATION_COLUMNS}`,
        [
          viewer.orgId,
          def.folderId,
          def.name,
          (input as { description?: string }).description ?? '',
          def.kind,
          viewer.userId,
          def.runAsUserId,
          def.allowAllUsersToRun,
        ],
      )
      const versionId = await insertVersion(tx, a!, 1, def, viewer.userId)
      const [done] = await tx.query<AutomationRow>(
        `update automations set current_version_id = $2 where id = $1 returning ${AUTOMATION_COLUMNS}`,
        [a!.id, versionId],
      )
      return done!
    })
    .catch(uniqueName)
}

/** Saves a new version of an automation; runs already queued keep the version they were queued with. */
export async function updateAutomation(ctx: Context, id: string, input: unknown): Promise<AutomationRow> {
  const viewer = ctx.viewer as UserViewer
  const existing = await getVisibleAutomation(ctx, id)
  if (!atLeast(await automationPermission(ctx, existing), 'EDIT'))
    throw new ForbiddenError('you may not edit this automation')
  const parsed = validateAutomation(input)
  await assertFolderEditable(ctx, parsed.folderId)
  const current = existing.run_as_user_id ?? existing.created_by
  const def = { ...parsed, runAsUserId: await decideRunAs(ctx, parsed.runAsUserId, current) }
  await getKind(def.kind)!.checkSave?.(def.config, {
    db: ctx.services.db,
    orgId: viewer.orgId,
    automationId: id,
    saver: { userId: viewer.userId, role: viewer.role },
  })
  await assertMayUseChildren(ctx, def)
  return ctx.services.db
    .transaction(async (tx) => {
      const [locked] = await tx.query<AutomationRow>(
        `select ${AUTOMATION_COLUMNS} from automations where id = $1 and deleted_at is null for update`,
        [id],
      )
      if (!locked) throw new NotFoundError('automation')
      const version = locked.version + 1
      const versionId = await insertVersion(tx, locked, version, def, viewer.userId)
      const [a] = await tx.query<AutomationRow>(
        `update automations set folder_id = $2, name = $3, description = $4, kind = $5, version = $6,
           current_version_id = $7, run_as_user_id = $8, allow_all_users_to_run = $9, updated_at = now()
         where id = $1 returning ${AUTOMATION_COLUMNS}`,
        [
          id,
          def.folderId,
          def.name,
          (input as { description?: string }).description ?? '',
          def.kind,
          version,
          versionId,
          def.runAsUserId,
          def.allowAllUsersToRun,
        ],
      )
      return a!
    })
    .catch(uniqueName)
}

/** Deletes an automation (its runs stay in history). Chains that include it fail at that step. */
export async function deleteAutomation(ctx: Context, id: string): Promise<AutomationRow> {
  const existing = await getVisibleAutomation(ctx, id)
  if (!atLeast(await automationPermission(ctx, existing), 'EDIT'))
    throw new ForbiddenError('you may not delete this automation')
  const [a] = await ctx.services.db.query<AutomationRow>(
    `update automations set deleted_at = now() where id = $1 and deleted_at is null returning ${AUTOMATION_COLUMNS}`,
    [id],
  )
  if (!a) throw new NotFoundError('automation')
  return a
}
