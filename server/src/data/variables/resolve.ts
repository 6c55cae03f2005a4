import type { Queryable } from '../../db/database'
import { ExpressionError, type Value, evaluateExpression } from './expression'
import { listVariables, type VariableRow } from './store'

/** A JSON value as the expression language sees it, and back. */
const toValue = (v: unknown): Value =>
  v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as Value) : JSON.stringify(v)
const fromValue = (v: Value): unknown => (v instanceof Date ? v.toISOString() : v)

/**
 * The values `${name}` sees in a run: organization variables, overridden by
 * the automation's, overridden by the run's parameters (nearest wins).
 * Expressions are evaluated lazily, on first use, so one broken variable
 * fails only the runs that use it; Dates become ISO strings.
 */
export function scopeValues(
  rows: readonly VariableRow[],
  parameters: Record<string, unknown>,
  now: Date,
): Record<string, unknown> {
  const org = new Map(rows.filter((r) => !r.automation_id).map((r) => [r.name, r]))
  const own = new Map(rows.filter((r) => r.automation_id).map((r) => [r.name, r]))
  const cache = new Map<string, Value>()
  const evaluating: string[] = []

  // `outer` resolves a name one scope further out: an automation variable may build on the organization's.
  const resolveName = (name: string, outer = false): Value => {
    if (!outer && name in parameters) return toValue(parameters[name])
    const row = (!outer && own.get(name)) || org.get(name)
    if (!row) throw new ExpressionError(`\${${name}} is not a variable or parameter of this run`)
    const key = row.id
    if (cache.has(key)) return cache.get(key)!
    if (row.expression === null) return toValue(row.value)
    if (evaluating.includes(key)) throw new ExpressionError(`variable ${name} refers to itself`)
    evaluating.push(key)
    try {
      const v = evaluateExpression(row.expression, {
        now,
        lookup: (n) => resolveName(n, n === name && row.automation_id !== null),
      })
      cache.set(key, v)
      return v
    } catch (err) {
      throw new ExpressionError(`variable ${name}: ${(err as Error).message}`)
    } finally {
      evaluating.pop()
    }
  }

  const out: Record<string, unknown> = {}
  for (const name of new Set([...org.keys(), ...own.keys(), ...Object.keys(parameters)])) {
    Object.defineProperty(out, name, { enumerable: true, get: () => fromValue(resolveName(name)) })
  }
  return out
}

/** Loads the variables a run of `automationId` sees and merges its parameters over them. */
export async function resolveVariables(
  q: Queryable,
  orgId: string,
  automationId: string,
  parameters: Record<string, unknown>,
  now = new Date(),
): Promise<Record<string, unknown>> {
  return scopeValues(await listVariables(q, orgId, automationId), parameters, now)
}
