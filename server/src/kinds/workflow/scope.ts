import { ExpressionError, type Value, evaluateExpression } from '../../data/variables/expression'

/**
 * What a step's condition, parameters and forEach list may read, as plain JSON:
 * `params.<name>`, `variables.<name>`, `steps.<name>.outputs.<key>`, `steps.<name>.outcome`,
 * `stepOutcome_<name>` (Dataiku's words: SUCCESS, WARNING, FAILED, SKIPPED) and, inside a forEach step, `item` and `itemIndex`.
 */
export interface StepScope {
  params: Record<string, unknown>
  variables: Record<string, unknown>
  steps: Record<
    string,
    { outcome: string; outputs: Record<string, unknown> | null; ignoredFailure?: boolean }
  >
  item?: unknown
  itemIndex?: number
}

/** `stepOutcome_<name>` speaks Dataiku's words: SUCCESS, WARNING (a failure ignored), FAILED, SKIPPED. */
const DATAIKU_OUTCOME: Record<string, string> = {
  SUCCEEDED: 'SUCCESS',
  WARNING: 'WARNING',
  FAILED: 'FAILED',
  SKIPPED: 'SKIPPED',
  UPSTREAM_FAILED: 'SKIPPED',
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}/g

/** Resolves a dotted name in the scope; throws ExpressionError naming what is missing. */
export function lookup(scope: StepScope, name: string): unknown {
  if (name.startsWith('stepOutcome_')) {
    const step = scope.steps[name.slice('stepOutcome_'.length)]
    if (!step) throw new ExpressionError(`${name}: no earlier step of that name has ended`)
    return DATAIKU_OUTCOME[step.ignoredFailure ? 'WARNING' : step.outcome] ?? step.outcome
  }
  if (name === 'item' && 'item' in scope) return scope.item
  if (name === 'itemIndex' && scope.itemIndex !== undefined) return scope.itemIndex
  const [head, ...path] = name.split('.')
  let at: unknown =
    head === 'params'
      ? scope.params
      : head === 'variables'
        ? scope.variables
        : head === 'steps'
          ? scope.steps
          : undefined
  if (at === undefined) {
    throw new ExpressionError(
      `${name}: unknown name (use params., variables., steps.<name>.outputs. or stepOutcome_<name>)`,
    )
  }
  for (const [i, key] of path.entries()) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) {
      throw new ExpressionError(`${name}: ${[head, ...path.slice(0, i + 1)].join('.')} is not set`)
    }
    at = (at as Record<string, unknown>)[key]
  }
  return at
}

/** A JSON value as a value of the expression language (lists and objects become JSON text). */
function asValue(v: unknown): Value {
  if (v === undefined || v === null) return null
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v
  return JSON.stringify(v)
}

/** Evaluates a run condition with the variables' expression evaluator (never eval). */
export function evaluateCondition(expression: string, scope: StepScope, now = new Date()): boolean {
  return Boolean(evaluateExpression(expression, { lookup: (n) => asValue(lookup(scope, n)), now }))
}

/**
 * Resolves a step parameter: exactly `${ref}` keeps the referenced JSON value (a list stays a
 * list); text around references makes a string. `${secret.NAME}` is left for the step itself.
 */
export function resolveTemplate(template: unknown, scope: StepScope): unknown {
  if (typeof template !== 'string') return template
  const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\}$/.exec(template)
  if (whole && !whole[1]!.startsWith('secret.')) return lookup(scope, whole[1]!)
  return template.replace(REFERENCE, (text, name: string) => {
    if (name.startsWith('secret.')) return text
    const v = lookup(scope, name)
    return typeof v === 'string' ? v : JSON.stringify(v)
  })
}

/** The names a template reads (for checks at save). */
export function templateReferences(template: unknown): string[] {
  if (typeof template !== 'string') return []
  return [...template.matchAll(REFERENCE)].map((m) => m[1]!).filter((n) => !n.startsWith('secret.'))
}

/** The value a step saves into a workflow variable: the first row, or its first value. */
export function savedValue(
  outputs: Record<string, unknown> | null,
  mode: 'FIRST_VALUE' | 'FIRST_ROW',
): unknown {
  const rows = outputs?.rows
  const first = Array.isArray(rows) && rows.length > 0 ? (rows[0] as Record<string, unknown>) : null
  if (!first) return null
  return mode === 'FIRST_ROW' ? first : (Object.values(first)[0] ?? null)
}
