import { ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import type { AutomationRow } from './access'
import type { Definition } from './definition'
import { getVisibleAutomation, updateAutomation } from './service'

/** One saved version: who saved it, when, and the definition it froze. */
export interface VersionRow {
  id: string
  version: number
  created_at: Date
  created_by: string | null
  definition: Definition
}

const VERSION_COLUMNS = 'id, version, created_at, created_by, definition'

/** Every version of an automation the viewer may see, newest first. */
export async function listVersions(ctx: Context, automationId: string, limit = 200): Promise<VersionRow[]> {
  const a = await getVisibleAutomation(ctx, automationId)
  return ctx.services.db.query<VersionRow>(
    `select ${VERSION_COLUMNS} from automation_versions
     where automation_id = $1 and org_id = $2 order by version desc limit $3`,
    [a.id, a.org_id, Math.min(Math.max(limit, 1), 1000)],
  )
}

/**
 * Saves a new version equal to an old one (history is never rewritten: the restore is
 * itself a version). It goes through the same save as an edit, so every rule of a save
 * holds: EDIT on the automation, the kind's config schema as it is today, children the
 * saver may run, and the run-as rule (a non-admin cannot restore a version that runs as
 * someone else). The folder and description stay as they are now: they file the
 * automation, they are not part of what it does.
 */
export async function restoreVersion(
  ctx: Context,
  automationId: string,
  version: number,
): Promise<AutomationRow> {
  const a = await getVisibleAutomation(ctx, automationId)
  const [v] = await ctx.services.db.query<VersionRow>(
    `select ${VERSION_COLUMNS} from automation_versions where automation_id = $1 and org_id = $2 and version = $3`,
    [a.id, a.org_id, version],
  )
  if (!v) {
    throw new ValidationError(
      `invalid input: version: automation has no version ${version} (the latest is ${a.version})`,
      [{ path: 'version', message: `no such version; the latest is ${a.version}` }],
    )
  }
  const d = v.definition
  return updateAutomation(ctx, a.id, {
    name: d.name,
    description: a.description,
    kind: d.kind,
    folderId: a.folder_id,
    config: d.config,
    parameters: d.parameters,
    timeoutMs: d.timeoutMs,
    retry: d.retry,
    mutex: d.mutex,
    runAsUserId: d.runAsUserId,
    allowAllUsersToRun: d.allowAllUsersToRun,
  })
}
