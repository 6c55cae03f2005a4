import type { Queryable } from '../db/database'
import { ValidationError } from '../errors'

/**
 * Refuses an AFTER_AUTOMATION trigger on `downstream` watching `upstream` when
 * `upstream` already follows `downstream` (directly or through others): the
 * two would start each other forever. Call it inside the saving transaction
 * after {@link lockTriggerGraph}, so two saves cannot close a cycle together.
 * Disabled triggers count: enabling one later must not close a loop either.
 */
export async function assertNoCycle(
  tx: Queryable,
  orgId: string,
  downstream: string,
  upstream: string,
  ignoreTriggerId: string | null,
): Promise<void> {
  if (downstream === upstream) {
    throw new ValidationError('invalid AFTER_AUTOMATION trigger: an automation cannot follow itself', [
      { path: 'config.automationId', message: 'is this automation itself' },
    ])
  }
  const edges = await tx.query<{ watch: string; target: string }>(
    `select t.watch_automation_id as watch, t.automation_id as target from triggers t
     join automations a on a.id = t.automation_id and a.deleted_at is null
     where t.org_id = $1 and t.type = 'AFTER_AUTOMATION' and ($2::uuid is null or t.id <> $2)`,
    [orgId, ignoreTriggerId],
  )
  const next = new Map<string, string[]>()
  for (const e of edges) next.set(e.watch, [...(next.get(e.watch) ?? []), e.target])
  // Breadth-first from downstream along "X finishing starts Y": reaching upstream closes a loop.
  const from = new Map<string, string>([[downstream, '']])
  const queue = [downstream]
  while (queue.length > 0) {
    const at = queue.shift()!
    for (const to of next.get(at) ?? []) {
      if (from.has(to)) continue
      from.set(to, at)
      if (to === upstream) {
        const ids: string[] = []
        for (let n: string = to; n !== ''; n = from.get(n)!) ids.unshift(n)
        const rows = await tx.query<{ id: string; name: string }>(
          'select id, name from automations where id = any($1::uuid[])',
          [ids],
        )
        const path = ids.map((id) => `"${rows.find((r) => r.id === id)?.name ?? id}"`)
        throw new ValidationError(
          `invalid AFTER_AUTOMATION trigger: it would close a cycle (${path.join(' → ')} → back here)`,
          [{ path: 'config.automationId', message: `would close a cycle through ${path.join(' → ')}` }],
        )
      }
      queue.push(to)
    }
  }
}

/** Serialises trigger graph changes of one organization (released at commit). */
export async function lockTriggerGraph(tx: Queryable, orgId: string): Promise<void> {
  await tx.query("select pg_advisory_xact_lock(hashtext('sy_trigger_graph:' || $1))", [orgId])
}
