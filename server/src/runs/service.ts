import { atLeast } from '../auth/permissions'
import { automationPermission } from '../automations/access'
import { resolveParameters } from '../automations/parameters'
import { getVisibleAutomation } from '../automations/service'
import { type TriggerSource, isFinal } from '../domain'
import { ForbiddenError, MutexBusyError, NotFoundError, ValidationError } from '../errors'
import type { Context } from '../graphql/context'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import { RerunRefused } from '../engine/orchestration'
import { getKind } from '../kinds/registry'
import type { Definition } from '../automations/definition'
import { isRunId } from '../validation'
import { resolveRunAs } from './run-as'
import { canViewRun } from './visibility'

/**
 * Runs an automation now on behalf of the viewer. With "allow all users to run"
 * any member (or an embed token of it) may, and the run always runs as the
 * automation's run-as user, recording who clicked. Otherwise the caller needs
 * RUN permission and the run uses the caller's own grants.
 */
export async function runAutomation(ctx: Context, id: string, parameters: unknown): Promise<RunRow> {
  const a = await getVisibleAutomation(ctx, id)
  const viewer = ctx.viewer!
  const permission = await automationPermission(ctx, a)
  if (!atLeast(permission, 'RUN')) throw new ForbiddenError('you may not run this automation')
  const def = await ctx.services.engine.definition(ctx.services.db, a.current_version_id!)
  const params = resolveParameters(def.parameters, parameters)
  const db = ctx.services.db
  let runAs: string | null
  let triggeredBy: string | null
  let source: TriggerSource
  if (viewer.type === 'embed') {
    runAs = await resolveRunAs(db, a.org_id, a)
    triggeredBy = null
    source = 'EMBED'
  } else {
    runAs = a.allow_all_users_to_run ? await resolveRunAs(db, a.org_id, a) : viewer.userId
    triggeredBy = viewer.userId
    source = viewer.via === 'api-token' ? 'API' : 'MANUAL'
  }
  const { run, skipped } = await ctx.services.engine.enqueue({
    orgId: a.org_id,
    automationId: a.id,
    versionId: a.current_version_id!,
    version: a.version,
    definition: def,
    triggerSource: source,
    triggeredBy,
    runAs,
    embedTokenId: viewer.type === 'embed' ? viewer.tokenId : null,
    parameters: params,
  })
  if (skipped) throw new MutexBusyError(def.mutex!.name, run.id)
  return run
}

/** Loads a run the viewer may see, or throws NotFound. */
export async function getVisibleRun(ctx: Context, id: string): Promise<RunRow> {
  if (!isRunId(id) || !ctx.viewer) throw new NotFoundError('run')
  const [run] = await ctx.services.db.query<RunRow>(
    `select ${RUN_COLUMNS} from runs where id = $1 and org_id = $2`,
    [id, ctx.viewer.orgId],
  )
  if (!run || !(await canViewRun(ctx, run))) throw new NotFoundError('run')
  return run
}

async function assertCanCancel(ctx: Context, run: RunRow): Promise<void> {
  const v = ctx.viewer!
  if (v.type === 'embed') {
    if (run.embed_token_id !== v.tokenId) throw new ForbiddenError('this token did not start this run')
    return
  }
  if (run.triggered_by === v.userId) return
  const a = await getVisibleAutomation(ctx, run.automation_id).catch(() => null)
  if (!a || !atLeast(await automationPermission(ctx, a), a.allow_all_users_to_run ? 'EDIT' : 'RUN')) {
    throw new ForbiddenError('you may not cancel this run')
  }
}

export async function cancelRun(ctx: Context, id: string): Promise<RunRow> {
  const run = await getVisibleRun(ctx, id)
  await assertCanCancel(ctx, run)
  if (isFinal(run.state)) {
    throw new ValidationError(`run ${id} already ended (${run.state}); nothing to cancel`, [
      { path: 'id', message: `run already ended (${run.state})` },
    ])
  }
  const by = ctx.viewer!.type === 'user' ? ctx.viewer!.email : 'a run button'
  const after = await ctx.services.engine.cancel(id, `cancelled by ${by}`)
  return after ?? run
}

/**
 * Runs the same automation version again with the same parameters, as a new run.
 * A retry is a new run: it needs the RUN permission now, whoever started the first.
 */
export async function retryRun(ctx: Context, id: string, fromStep: string | null = null): Promise<RunRow> {
  const run = await getVisibleRun(ctx, id)
  const v = ctx.viewer!
  if (v.type === 'embed' && run.embed_token_id !== v.tokenId)
    throw new ForbiddenError('this token did not start this run')
  const a = await getVisibleAutomation(ctx, run.automation_id)
  if (!atLeast(await automationPermission(ctx, a), 'RUN'))
    throw new ForbiddenError('you may not run this automation, so you may not retry its runs')
  if (!['FAILED', 'CANCELLED', 'TIMED_OUT', 'SKIPPED'].includes(run.state)) {
    throw new ValidationError(
      `run ${id} is ${run.state}; only ended runs that did not succeed can be retried`,
      [{ path: 'id', message: `run is ${run.state}` }],
    )
  }
  if (run.parent_run_id)
    throw new ValidationError('retry the chain, not one of its steps', [
      { path: 'id', message: 'is a chain step' },
    ])
  const def = await ctx.services.engine.definition(ctx.services.db, run.version_id)
  if (getKind(def.kind)?.orchestrator?.prepareRerun) return rerunInPlace(ctx, run, def, fromStep)
  if (fromStep !== null)
    throw new ValidationError('fromStep applies to workflow runs only', [
      { path: 'fromStep', message: `a ${def.kind} run is retried as a new run` },
    ])
  const runAs =
    v.type === 'user' && !a.allow_all_users_to_run
      ? v.userId
      : await resolveRunAs(ctx.services.db, a.org_id, a)
  const { run: retried, skipped } = await ctx.services.db.transaction((tx) =>
    ctx.services.engine.enqueueIn(tx, {
      orgId: run.org_id,
      automationId: run.automation_id,
      versionId: run.version_id,
      version: run.version,
      definition: def,
      triggerSource: 'RETRY',
      triggeredBy: v.type === 'user' ? v.userId : null,
      runAs,
      embedTokenId: v.type === 'embed' ? v.tokenId : null,
      parameters: run.parameters,
    }),
  )
  if (skipped) throw new MutexBusyError(def.mutex!.name, retried.id)
  return retried
}

/** A workflow run is rerun as its next attempt (see engine.rerun); the step named must exist. */
async function rerunInPlace(
  ctx: Context,
  run: RunRow,
  def: Definition,
  fromStep: string | null,
): Promise<RunRow> {
  const steps = (def.config as { steps?: { name: string }[] }).steps ?? []
  if (fromStep !== null && !steps.some((s) => s.name === fromStep)) {
    throw new ValidationError(`invalid fromStep: the workflow has no step "${fromStep}"`, [
      {
        path: 'fromStep',
        message: `no step "${fromStep}"; steps are ${steps.map((s) => s.name).join(', ')}`,
      },
    ])
  }
  try {
    return await ctx.services.engine.rerun(run.id, fromStep)
  } catch (err) {
    if (err instanceof RerunRefused)
      throw new ValidationError(err.message, [{ path: 'id', message: err.message }])
    throw err
  }
}
