import { getTableColumns } from 'drizzle-orm'
import { runs } from '../db/schema/runs'
import type { RunState } from '../domain'

/** `claimToken` → `claim_token`: the engine reads rows as SQL returns them. */
type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : S

type Selected = typeof runs.$inferSelect

/**
 * A row of `runs` as the engine reads it: the drizzle schema's columns under their
 * SQL names, with the JSON and state columns narrowed to what the engine writes.
 */
export type RunRow = {
  [K in keyof Omit<Selected, 'state' | 'parameters' | 'outputs'> as Snake<K & string>]: Selected[K]
} & {
  state: RunState
  parameters: Record<string, unknown>
  outputs: Record<string, unknown> | null
}

/** Every column of `runs`, in schema order, for `select ${RUN_COLUMNS}` and `returning`. */
export const RUN_COLUMNS: string = Object.values(getTableColumns(runs))
  .map((c) => c.name)
  .join(', ')

/** The same list qualified by a table alias, for joins and UPDATE ... FROM. */
export const runColumnsOf = (alias: string): string =>
  Object.values(getTableColumns(runs))
    .map((c) => `${alias}.${c.name}`)
    .join(', ')

/**
 * What an orchestrator reads of its children (OrchestrationContext.children): a workflow
 * reads all of them at every move-on, so only the columns that decide its steps.
 */
const CHILD_FIELDS = [
  'id',
  'parentRunId',
  'state',
  'step',
  'stepItem',
  'parentAttempt',
  'skipCause',
  'outputs',
  'error',
  'finishedAt',
] as const satisfies readonly (keyof Selected)[]

export type ChildRow = Pick<RunRow, Snake<(typeof CHILD_FIELDS)[number]>>

/** The child columns qualified by a table alias. */
export const childColumnsOf = (alias: string): string =>
  CHILD_FIELDS.map((f) => `${alias}.${getTableColumns(runs)[f].name}`).join(', ')
