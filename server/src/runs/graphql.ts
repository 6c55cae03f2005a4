import { UserType } from '../accounts/graphql'
import { getUser } from '../accounts/users'
import { AutomationType } from '../automations/graphql'
import { getVisibleAutomation } from '../automations/service'
import { MutexBusyError, ValidationError } from '../errors'
import { builder } from '../graphql/builder'
import { COMMON_ERRORS } from '../graphql/errors'
import { RUN_COLUMNS, type RunRow } from '../engine/run-row'
import { isRunId } from '../validation'
import { cancelRun, getVisibleRun, retryRun, runAutomation } from './service'
import { listRuns } from './list'
import { canViewRun } from './visibility'

export const RunStateEnum = builder.enumType('RunState', {
  values: [
    'QUEUED',
    'WAITING',
    'RUNNING',
    'SUCCEEDED',
    'FAILED',
    'CANCELLED',
    'TIMED_OUT',
    'SKIPPED',
  ] as const,
})

export interface LogLine {
  id: string
  run_id: string
  at: Date
  level: string
  message: string
}

export const LogLineType = builder.objectRef<LogLine>('RunLogLine').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    runId: t.exposeID('run_id'),
    at: t.field({ type: 'DateTime', resolve: (l) => l.at }),
    level: t.exposeString('level'),
    message: t.exposeString('message'),
  }),
})

/** One attempt of a run: superseded ones from run_attempts, the last one is the run itself. */
interface AttemptView {
  attempt: number
  state: string
  worker: string | null
  started_at: Date | null
  finished_at: Date | null
  outputs: unknown
  error: string | null
}

const RunAttemptType = builder.objectRef<AttemptView>('RunAttempt').implement({
  description:
    'One execution of a run; a run is executed again only after a failure with retries left or a lost worker',
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    state: t.field({ type: RunStateEnum, resolve: (a) => a.state as RunRow['state'] }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.started_at }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.finished_at }),
    outputs: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.outputs }),
    error: t.exposeString('error', { nullable: true }),
  }),
})

export const RunType = builder.objectRef<RunRow>('Run')

/**
 * Fields of Run whose value comes from the run row alone (or, for `position` and `attempts`,
 * from tables every viewer of the run reads alike), never from who asks. A live subscription
 * selecting only these shares one execution among all viewers allowed to see the run
 * (runs/live-selection.ts). A new field that depends on the viewer must stay out of this list;
 * every field of RunAttempt is row-only, so `attempts` is listed whatever it selects.
 */
export const ROW_ONLY_RUN_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'state',
  'automationId',
  'version',
  'triggerSource',
  'parentRunId',
  'step',
  'attempt',
  'maxAttempts',
  'parameters',
  'outputs',
  'error',
  'mutexName',
  'position',
  'createdAt',
  'startedAt',
  'finishedAt',
  'durationMs',
  'attempts',
])

RunType.implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    state: t.field({ type: RunStateEnum, resolve: (r) => r.state }),
    automationId: t.exposeID('automation_id'),
    automation: t.field({
      type: AutomationType,
      nullable: true,
      resolve: (r, _args, ctx) => getVisibleAutomation(ctx, r.automation_id).catch(() => null),
    }),
    version: t.exposeInt('version', { description: 'The automation version this run executes' }),
    triggerSource: t.exposeString('trigger_source'),
    triggeredBy: t.field({
      type: UserType,
      nullable: true,
      authScopes: { user: true },
      resolve: (r, _a, ctx) =>
        r.triggered_by ? getUser(ctx.services.db, r.org_id, r.triggered_by).then((u) => u ?? null) : null,
    }),
    runAs: t.field({
      type: UserType,
      nullable: true,
      authScopes: { user: true },
      resolve: (r, _a, ctx) =>
        r.run_as ? getUser(ctx.services.db, r.org_id, r.run_as).then((u) => u ?? null) : null,
    }),
    parentRunId: t.exposeID('parent_run_id', { nullable: true }),
    step: t.exposeInt('step', { nullable: true }),
    attempt: t.exposeInt('attempt'),
    maxAttempts: t.exposeInt('max_attempts'),
    parameters: t.field({ type: 'JSON', resolve: (r) => r.parameters }),
    outputs: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.outputs }),
    error: t.exposeString('error', { nullable: true }),
    mutexName: t.exposeString('mutex_name', { nullable: true }),
    position: t.int({
      nullable: true,
      description: 'Place in line for its mutex while WAITING (1 = next)',
      resolve: async (r, _a, ctx) => {
        if (r.state !== 'WAITING' || !r.mutex_name) return null
        const [row] = await ctx.services.db.query<{ n: number }>(
          `select count(*)::int + 1 as n from run_queue where org_id = $1 and mutex_name = $2 and state = 'WAITING' and run_id < $3`,
          [r.org_id, r.mutex_name, r.id],
        )
        return row!.n
      },
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.created_at }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.started_at }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.finished_at }),
    durationMs: t.int({
      nullable: true,
      resolve: (r) =>
        r.started_at && r.finished_at
          ? new Date(r.finished_at).getTime() - new Date(r.started_at).getTime()
          : null,
    }),
    attempts: t.field({
      type: [RunAttemptType],
      description: 'Every attempt, first first, each with its own outcome (the last is the run as it is now)',
      resolve: async (r, _a, ctx) => {
        const earlier = await ctx.services.db.query<AttemptView>(
          `select attempt, state, worker, started_at, finished_at, outputs, error from run_attempts
           where run_id = $1 and attempt < $2 order by attempt`,
          [r.id, r.attempt],
        )
        const current: AttemptView = {
          attempt: r.attempt,
          state: r.state,
          worker: r.lease_owner,
          started_at: r.started_at,
          finished_at: r.finished_at,
          outputs: r.outputs,
          error: r.error,
        }
        return [...earlier, current]
      },
    }),
    children: t.field({
      type: [RunType],
      description: 'Steps of a chain or workflow, in order: those you may see (their logs included)',
      resolve: async (r, _a, ctx) => {
        const rows = await ctx.services.db.query<RunRow>(
          `select ${RUN_COLUMNS} from runs where parent_run_id = $1 order by step, id`,
          [r.id],
        )
        // A step runs another automation, which may sit in a folder the viewer may not see.
        const visible = await Promise.all(rows.map((c) => canViewRun(ctx, c)))
        return rows.filter((_c, i) => visible[i])
      },
    }),
    logs: t.field({
      type: [LogLineType],
      description: 'Log lines in order, paged by id',
      args: { afterId: t.arg.id({ required: false }), first: t.arg.int({ required: false }) },
      resolve: (r, args, ctx) => {
        if (args.first != null && (args.first < 1 || args.first > 5000))
          throw new ValidationError('invalid first: must be between 1 and 5000', [
            { path: 'first', message: 'must be between 1 and 5000' },
          ])
        return ctx.services.db.query<LogLine>(
          `select id, run_id, at, level, message from run_logs where run_id = $1 and id > $2 order by id limit $3`,
          [
            r.id,
            args.afterId && isRunId(String(args.afterId)) ? String(args.afterId) : '0',
            args.first ?? 500,
          ],
        )
      },
    }),
  }),
})

builder.queryField('run', (t) =>
  t.field({
    type: RunType,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => getVisibleRun(ctx, String(id)).catch(() => null),
  }),
)

builder.queryField('runs', (t) =>
  t.connection({
    type: RunType,
    authScopes: { user: true },
    args: {
      automationId: t.arg.id({ required: false }),
      states: t.arg({ type: [RunStateEnum], required: false }),
      triggerSource: t.arg.string({ required: false }),
      triggeredBy: t.arg.id({ required: false }),
      since: t.arg({ type: 'DateTime', required: false }),
      until: t.arg({ type: 'DateTime', required: false }),
      topLevelOnly: t.arg.boolean({ required: false, description: 'Hide chain steps (default true)' }),
    },
    resolve: (_root, args, ctx) => listRuns(ctx, args),
  }),
)

builder.mutationField('runAutomation', (t) =>
  t.field({
    type: RunType,
    authScopes: { authenticated: true },
    errors: { types: [...COMMON_ERRORS, MutexBusyError], dataField: { name: 'run' } },
    args: { id: t.arg.id(), parameters: t.arg({ type: 'JSON', required: false }) },
    resolve: (_root, { id, parameters }, ctx) => runAutomation(ctx, String(id), parameters),
  }),
)

builder.mutationField('cancelRun', (t) =>
  t.field({
    type: RunType,
    authScopes: { authenticated: true },
    errors: { types: COMMON_ERRORS, dataField: { name: 'run' } },
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => cancelRun(ctx, String(id)),
  }),
)

builder.mutationField('retryRun', (t) =>
  t.field({
    type: RunType,
    authScopes: { authenticated: true },
    errors: { types: [...COMMON_ERRORS, MutexBusyError], dataField: { name: 'run' } },
    description:
      'A new run with the same parameters; a workflow run is rerun in place as its next attempt, from its failed steps or from fromStep, reusing the outputs of the steps it keeps',
    args: {
      id: t.arg.id(),
      fromStep: t.arg.string({
        required: false,
        description: 'WORKFLOW only: rerun this step and everything after it',
      }),
    },
    resolve: (_root, { id, fromStep }, ctx) => retryRun(ctx, String(id), fromStep ?? null),
  }),
)

builder.objectField(AutomationType, 'lastRun', (t) =>
  t.field({
    type: RunType,
    nullable: true,
    description: 'The newest run of this automation (chain steps excluded), if you may see it',
    resolve: async (a, _args, ctx) => {
      const [run] = await ctx.services.db.query<RunRow>(
        `select ${RUN_COLUMNS} from runs where automation_id = $1 and parent_run_id is null order by id desc limit 1`,
        [a.id],
      )
      return run && (await canViewRun(ctx, run)) ? run : null
    },
  }),
)
