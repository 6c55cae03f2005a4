import type { RunContext } from '../kinds/kind'
import type { DataRunContext } from './load/sources'
import type { LoadContext } from './load/loader'
import { resolveVariables } from './variables/resolve'

/** What a data kind works with: its run, services, and the variables `${name}` binds. */
export async function dataContext(ctx: RunContext<unknown>, timeoutMs: number): Promise<DataRunContext> {
  const data = ctx.services.data
  const values = await resolveVariables(data.db, ctx.run.orgId, ctx.run.automationId, ctx.parameters)
  return {
    data,
    run: ctx.run,
    values,
    signal: ctx.signal,
    timeoutMs,
    log: ctx.log,
    openSecrets: ctx.openSecrets,
  }
}

/** The same context as a loader wants it. */
export function loadContext(d: DataRunContext): LoadContext {
  return {
    data: d.data,
    orgId: d.run.orgId,
    runId: d.run.id,
    automationId: d.run.automationId,
    timeoutMs: d.timeoutMs,
    signal: d.signal,
  }
}
