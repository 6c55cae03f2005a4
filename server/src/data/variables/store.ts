import { z } from 'zod'
import type { Queryable } from '../../db/database'
import { ValidationError } from '../../errors'
import { parseInput } from '../../validation'
import { parse } from './expression'

export interface VariableRow {
  id: string
  org_id: string
  automation_id: string | null
  name: string
  value: unknown
  expression: string | null
  updated_at: Date
  updated_by: string | null
}

const COLUMNS = 'id, org_id, automation_id, name, value, expression, updated_at, updated_by'

export const VariableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must start with a letter or _ and hold only letters, digits and _')

export const VariableInput = z
  .object({
    name: VariableName,
    value: z.unknown().optional(),
    expression: z.string().trim().min(1).max(4000).optional(),
  })
  .refine((v) => (v.value === undefined) !== (v.expression === undefined), {
    message: 'give either a value or an expression',
    path: ['value'],
  })
  .refine((v) => v.value === undefined || JSON.stringify(v.value).length <= 100_000, {
    message: 'at most 100,000 characters of JSON',
    path: ['value'],
  })

/** Checks an expression parses, so a typo is refused when saved rather than at the next run. */
export function checkExpression(expression: string, path = 'expression'): void {
  try {
    parse(expression)
  } catch (err) {
    throw new ValidationError(`invalid ${path}: ${(err as Error).message}`, [
      { path, message: (err as Error).message },
    ])
  }
}

/** Creates or replaces a variable of the organization (automationId null) or of an automation. */
export async function setVariable(
  q: Queryable,
  v: { orgId: string; automationId: string | null; by: string | null; input: unknown },
): Promise<VariableRow> {
  const input = parseInput(VariableInput, v.input)
  if (input.expression !== undefined) checkExpression(input.expression)
  const conflict = v.automationId
    ? '(automation_id, name) where automation_id is not null'
    : '(org_id, name) where automation_id is null'
  const [row] = await q.query<VariableRow>(
    `insert into variables (org_id, automation_id, name, value, expression, updated_by)
     values ($1, $2, $3, $4::jsonb, $5, $6)
     on conflict ${conflict} do update set value = excluded.value, expression = excluded.expression,
       updated_by = excluded.updated_by, updated_at = now()
     returning ${COLUMNS}`,
    [
      v.orgId,
      v.automationId,
      input.name,
      input.value === undefined ? null : JSON.stringify(input.value),
      input.expression ?? null,
      v.by,
    ],
  )
  return row!
}

export async function deleteVariable(
  q: Queryable,
  orgId: string,
  automationId: string | null,
  name: string,
): Promise<VariableRow | undefined> {
  const [row] = await q.query<VariableRow>(
    `delete from variables where org_id = $1 and automation_id is not distinct from $2 and name = $3 returning ${COLUMNS}`,
    [orgId, automationId, name],
  )
  return row
}

/** Variables of the organization, and of one automation when given. */
export function listVariables(
  q: Queryable,
  orgId: string,
  automationId: string | null,
): Promise<VariableRow[]> {
  return q.query<VariableRow>(
    `select ${COLUMNS} from variables where org_id = $1 and (automation_id is null or automation_id = $2)
     order by automation_id nulls first, name`,
    [orgId, automationId],
  )
}
