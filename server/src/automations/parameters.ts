import { ValidationError } from '../errors'
import type { ParameterDecl, ParameterType } from './definition'

/**
 * Checks run parameters against the automation's declarations: unknown names,
 * missing required ones, wrong types and values outside a parameter's allowed
 * values are refused; defaults fill the gaps.
 */
export function resolveParameters(decls: readonly ParameterDecl[], given: unknown): Record<string, unknown> {
  if (given != null && (typeof given !== 'object' || Array.isArray(given))) {
    throw new ValidationError('invalid parameters: must be a JSON object of name: value', [
      { path: 'parameters', message: 'must be a JSON object' },
    ])
  }
  const input = (given ?? {}) as Record<string, unknown>
  const issues: { path: string; message: string }[] = []
  const out: Record<string, unknown> = {}
  const known = new Set(decls.map((d) => d.name))
  for (const name of Object.keys(input)) {
    if (!known.has(name)) issues.push({ path: `parameters.${name}`, message: 'is not a declared parameter' })
  }
  for (const d of decls) {
    const v = input[d.name]
    if (v === undefined || v === null) {
      if (d.default !== undefined) out[d.name] = d.default
      else if (d.required) issues.push({ path: `parameters.${d.name}`, message: 'is required' })
      continue
    }
    const problem = typeProblem(d.type, v) ?? allowedProblem(d, v)
    if (problem) issues.push({ path: `parameters.${d.name}`, message: problem })
    else out[d.name] = v
  }
  if (issues.length > 0) {
    throw new ValidationError(
      `invalid parameters: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      issues,
    )
  }
  return out
}

/** Why `v` is not a value of `type`, or null. */
export function typeProblem(type: ParameterType, v: unknown): string | null {
  switch (type) {
    case 'STRING':
      return typeof v === 'string' ? null : 'must be a string'
    case 'NUMBER':
      return typeof v === 'number' && Number.isFinite(v) ? null : 'must be a number'
    case 'BOOLEAN':
      return typeof v === 'boolean' ? null : 'must be true or false'
    case 'DATE':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? null : 'must be an ISO-8601 date string'
    case 'JSON':
      return null
  }
}

function allowedProblem(d: ParameterDecl, v: unknown): string | null {
  if (!d.allowedValues || d.allowedValues.includes(v)) return null
  return `must be one of: ${d.allowedValues.map(String).join(', ')}`
}
