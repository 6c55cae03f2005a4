import { z } from 'zod'
import { WAREHOUSE_ID } from '../../data/domain'
import { DatasourceRef } from '../../data/load/spec'

/** Airflow's trigger rules, with its semantics (table in docs/DESIGN.md, "Workflow trigger rules"). */
export const TRIGGER_RULES = [
  'ALL_SUCCESS',
  'ALL_FAILED',
  'ALL_DONE',
  'ONE_SUCCESS',
  'ONE_FAILED',
  'ONE_DONE',
  'NONE_FAILED',
  'NONE_FAILED_MIN_ONE_SUCCESS',
  'NONE_SKIPPED',
  'ALWAYS',
] as const
export type TriggerRule = (typeof TRIGGER_RULES)[number]

/** What an edge lets through of its parent (Integrate.io's on-success / on-failure / on-completion). */
export const EDGE_CONDITIONS = ['SUCCESS', 'FAILURE', 'COMPLETION'] as const
export type EdgeCondition = (typeof EDGE_CONDITIONS)[number]

const StepName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must start with a letter or _ and hold only letters, digits and _')

/** `${...}` templates passed to the step's automation (or bound in an inline SQL statement). */
const StepParameters = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'parameter names hold letters, digits and _'),
  z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]),
)

export const WorkflowStep = z
  .object({
    name: StepName,
    /** The automation this step runs; or `sql` for an inline statement (the SQL kind's rules). */
    automationId: z.uuid('must be an automation id').optional(),
    sql: z
      .object({
        /** `warehouse` (default), or a PostgreSQL datasource, read-only, as the SQL kind does. */
        datasource: DatasourceRef.default(WAREHOUSE_ID),
        statement: z.string().trim().min(1, 'the statement is empty').max(100_000),
        maxRows: z.number().int().min(0).max(1000).default(100),
      })
      .optional(),
    parameters: StepParameters.default({}),
    rule: z.enum(TRIGGER_RULES).default('ALL_SUCCESS'),
    /** Evaluated after the rule says "run"; false skips the step (reason: condition). */
    condition: z.string().trim().min(1).max(4000).optional(),
    /** The step's failure counts as success downstream and is shown as a warning. */
    ignoreFailure: z.boolean().default(false),
    /** Attempts of the step's run (overrides the automation's retry policy). */
    retries: z.number().int().min(0).max(19).optional(),
    timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
    /** One run of the step per item of a list (an earlier output or a parameter). */
    forEach: z
      .object({
        items: z.string().trim().min(1).max(500),
        concurrency: z.number().int().min(1).max(100).default(5),
      })
      .optional(),
    /** Saves the first value (or first row) of the step's result rows into a workflow variable. */
    saveAs: z
      .object({
        variable: StepName,
        value: z.enum(['FIRST_VALUE', 'FIRST_ROW']).default('FIRST_VALUE'),
      })
      .optional(),
  })
  .refine((s) => (s.automationId === undefined) !== (s.sql === undefined), {
    message: 'a step runs either an automation (automationId) or an inline statement (sql), not both',
    path: ['automationId'],
  })
export type WorkflowStep = z.output<typeof WorkflowStep>
/** A step as saved (defaults not filled in yet): what the dashboard's editor writes. */
export type WorkflowStepInput = z.input<typeof WorkflowStep>

export const WorkflowEdge = z.object({
  from: StepName,
  to: StepName,
  condition: z.enum(EDGE_CONDITIONS).default('SUCCESS'),
})
export type WorkflowEdge = z.output<typeof WorkflowEdge>

export const WorkflowConfig = z.object({
  steps: z.array(WorkflowStep).min(1, 'a workflow needs at least one step').max(500),
  edges: z.array(WorkflowEdge).max(5000).default([]),
  variables: z
    .array(
      z.object({
        name: StepName,
        default: z.union([z.string(), z.number(), z.boolean(), z.null()]).default(null),
      }),
    )
    .max(200)
    .default([]),
  /** Steps of one run of the workflow executing at once, across every worker. */
  concurrency: z.number().int().min(1).max(1000).default(100),
})
export type WorkflowConfig = z.output<typeof WorkflowConfig>
