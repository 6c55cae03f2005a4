import { userOf } from '../accounts/graphql'
import { AUTOMATION_COLUMNS, type AutomationRow, canViewAutomation } from '../automations/access'
import { AutomationType } from '../automations/graphql'
import { builder } from '../graphql/builder'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import { RunType } from '../runs/graphql'
import { canViewRun } from '../runs/visibility'

interface MutexView {
  name: string
  holder: RunRow | null
  waiting: RunRow[]
}

const MutexType = builder.objectRef<MutexView>('Mutex').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    holder: t.field({ type: RunType, nullable: true, resolve: (m) => m.holder }),
    waiting: t.field({
      type: [RunType],
      description: 'Waiting runs, next first (see Run.position)',
      resolve: (m) => m.waiting,
    }),
    automations: t.field({
      type: [AutomationType],
      description: 'The automations (that the viewer may see) whose current version uses this mutex',
      resolve: async (m, _args, ctx) => {
        const rows = await ctx.services.db.query<AutomationRow>(
          `select ${AUTOMATION_COLUMNS.replace(/(\w+)/g, 'a.$1')} from automations a
           join automation_versions v on v.id = a.current_version_id
           where a.org_id = $1 and a.deleted_at is null and v.definition->'mutex'->>'name' = $2
           order by a.name`,
          [userOf(ctx).orgId, m.name],
        )
        const visible: AutomationRow[] = []
        for (const a of rows) if (await canViewAutomation(ctx, a)) visible.push(a)
        return visible
      },
    }),
  }),
})

builder.queryField('mutexes', (t) =>
  t.field({
    type: [MutexType],
    authScopes: { user: true },
    description: 'Named mutexes of the organization with their holder and waiting runs',
    resolve: async (_root, _args, ctx) => {
      const viewer = userOf(ctx)
      const db = ctx.services.db
      const [mutexes, runs] = await Promise.all([
        db.query<{ name: string; holder_run_id: string | null }>(
          'select name, holder_run_id from mutexes where org_id = $1 order by name',
          [viewer.orgId],
        ),
        db.query<RunRow>(
          `select ${RUN_COLUMNS} from runs where id = any(array(select run_id from run_queue where org_id = $1 and state = 'WAITING' and mutex_name is not null)) order by id`,
          [viewer.orgId],
        ),
      ])
      const holders = await db.query<RunRow>(`select ${RUN_COLUMNS} from runs where id = any($1::int8[])`, [
        mutexes.map((m) => m.holder_run_id).filter((id): id is string => id !== null),
      ])
      const byId = new Map(holders.map((r) => [r.id, r]))
      const out: MutexView[] = []
      for (const m of mutexes) {
        const holder = m.holder_run_id ? (byId.get(m.holder_run_id) ?? null) : null
        const waiting = runs.filter((r) => r.mutex_name === m.name)
        const visibleWaiting: RunRow[] = []
        for (const r of waiting) if (await canViewRun(ctx, r)) visibleWaiting.push(r)
        out.push({
          name: m.name,
          holder: holder && (await canViewRun(ctx, holder)) ? holder : null,
          waiting: visibleWaiting,
        })
      }
      return out
    },
  }),
)
