import { RUN_COLUMNS, type RunRow } from '../../engine/run-row'
import { builder } from '../../graphql/builder'
import type { Context } from '../../graphql/context'
import { RunType } from '../../runs/graphql'
import { canViewRun } from '../../runs/visibility'
import { EDGE_CONDITIONS, TRIGGER_RULES, WorkflowConfig, type WorkflowEdge } from './config'
import { type StepView, topologicalOrder, viewSteps } from './view'

const StepStateEnum = builder.enumType('WorkflowStepState', {
  description:
    'A step as the workflow sees it: PENDING until decided; UPSTREAM_FAILED did not run because a parent failed',
  values: [
    'PENDING',
    'QUEUED',
    'WAITING',
    'RUNNING',
    'SUCCEEDED',
    'FAILED',
    'CANCELLED',
    'TIMED_OUT',
    'SKIPPED',
    'UPSTREAM_FAILED',
  ] as const,
})
type StepState = (typeof StepStateEnum)['$inferType']

const SkipCauseEnum = builder.enumType('WorkflowSkipCause', {
  values: [
    'BRANCH_NOT_TAKEN',
    'UPSTREAM_SKIPPED',
    'UPSTREAM_FAILED',
    'RULE',
    'CONDITION',
    'CANCELLED',
    'WORKFLOW_ENDED',
  ] as const,
})
builder.enumType('WorkflowTriggerRule', { values: TRIGGER_RULES })
const EdgeConditionEnum = builder.enumType('WorkflowEdgeCondition', { values: EDGE_CONDITIONS })

interface StepOfRun {
  view: StepView<RunRow>
  visible: RunRow[]
}

function stateOf(v: StepView): StepState {
  if (v.rows.length === 0) return 'PENDING'
  if (v.status === 'ACTIVE') {
    const states = v.rows.map((r) => r.state)
    return states.includes('RUNNING') ? 'RUNNING' : states.includes('WAITING') ? 'WAITING' : 'QUEUED'
  }
  if (v.rows.length === 1 && v.rows[0]!.step_item === null) {
    const r = v.rows[0]!
    return r.state === 'SKIPPED' && r.skip_cause === 'UPSTREAM_FAILED'
      ? 'UPSTREAM_FAILED'
      : (r.state as StepState)
  }
  return v.outcome === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED'
}

const time = (rows: RunRow[], pick: (r: RunRow) => Date | null, latest: boolean): Date | null => {
  const ts = rows
    .map(pick)
    .filter((d): d is Date => d !== null)
    .map((d) => new Date(d).getTime())
  if (ts.length === 0) return null
  return new Date(latest ? Math.max(...ts) : Math.min(...ts))
}

const WorkflowStepRunType = builder.objectRef<StepOfRun>('WorkflowStepRun').implement({
  description: 'One step of a workflow run, in its current attempt',
  fields: (t) => ({
    name: t.string({ resolve: (s) => s.view.step.name }),
    index: t.int({ resolve: (s) => s.view.index }),
    automationId: t.id({ nullable: true, resolve: (s) => s.view.step.automationId ?? null }),
    inlineSql: t.boolean({ resolve: (s) => s.view.step.sql !== undefined }),
    rule: t.string({ resolve: (s) => s.view.step.rule }),
    condition: t.string({ nullable: true, resolve: (s) => s.view.step.condition ?? null }),
    state: t.field({ type: StepStateEnum, resolve: (s) => stateOf(s.view) }),
    warning: t.string({
      nullable: true,
      description: 'Set when the step failed but ignores failure: downstream saw it as a success',
      resolve: (s) =>
        s.view.outcome === 'FAILED' && s.view.step.ignoreFailure
          ? 'failed; the failure is ignored downstream'
          : null,
    }),
    skipCause: t.field({
      type: SkipCauseEnum,
      nullable: true,
      resolve: (s) => {
        const r = s.view.rows[0]
        return r?.state === 'SKIPPED' && r.skip_cause ? (r.skip_cause as 'RULE') : null
      },
    }),
    skipReason: t.string({
      nullable: true,
      description: 'Why the step did not run: which parent, which rule, which condition',
      resolve: (s) => {
        const r = s.view.rows[0]
        return r?.state === 'SKIPPED' ? r.error : null
      },
    }),
    error: t.string({
      nullable: true,
      resolve: (s) => s.view.rows.find((r) => r.state !== 'SKIPPED' && r.error)?.error ?? null,
    }),
    attempt: t.int({ resolve: (s) => Math.max(0, ...s.view.rows.map((r) => r.attempt)) }),
    items: t.int({
      nullable: true,
      description: 'forEach: how many items',
      resolve: (s) => s.view.items?.length ?? null,
    }),
    outputs: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (s) => (s.visible.length === s.view.rows.length ? s.view.outputs : null),
    }),
    startedAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (s) => time(s.view.rows, (r) => r.started_at, false),
    }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (s) => (s.view.status === 'SETTLED' ? time(s.view.rows, (r) => r.finished_at, true) : null),
    }),
    runs: t.field({
      type: [RunType],
      description: 'The runs of this step you may see (forEach: one per item)',
      resolve: (s) => s.visible,
    }),
  }),
})

const WorkflowEdgeType = builder.objectRef<WorkflowEdge>('WorkflowEdge').implement({
  fields: (t) => ({
    from: t.exposeString('from'),
    to: t.exposeString('to'),
    condition: t.field({ type: EdgeConditionEnum, resolve: (e) => e.condition }),
  }),
})

async function configOf(ctx: Context, run: RunRow): Promise<WorkflowConfig | null> {
  if (run.kind !== 'WORKFLOW') return null
  const def = await ctx.services.engine.definition(ctx.services.db, run.version_id)
  return WorkflowConfig.parse(def.config)
}

builder.objectFields(RunType, (t) => ({
  steps: t.field({
    type: [WorkflowStepRunType],
    nullable: true,
    description: 'WORKFLOW runs: every step of the current attempt, with its state, skip reason and runs',
    resolve: async (run, _a, ctx) => {
      const config = await configOf(ctx, run)
      if (!config) return null
      const children = await ctx.services.db.query<RunRow>(
        `select ${RUN_COLUMNS} from runs where parent_run_id = $1 and parent_attempt = $2 order by step, id`,
        [run.id, run.attempt],
      )
      const { steps } = viewSteps(config, topologicalOrder(config), children, run.parameters)
      return Promise.all(
        steps.map(async (view) => {
          const visible: RunRow[] = []
          for (const r of view.rows) if (await canViewRun(ctx, r)) visible.push(r)
          return { view, visible }
        }),
      )
    },
  }),
  edges: t.field({
    type: [WorkflowEdgeType],
    nullable: true,
    description: 'WORKFLOW runs: the edges of the version it runs (for drawing its graph)',
    resolve: async (run, _a, ctx) => (await configOf(ctx, run))?.edges ?? null,
  }),
}))
