import type { Json, JsonObject, ParameterDeclaration, ParameterType } from '$lib/api/types'

/** A default as text in a form field: strings stay as typed, other values as JSON. */
export function valueToText(value: Json | undefined | null): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A run form's starting text per parameter: `given` (a link's values), else the default. */
export function initialTexts(
  parameters: readonly Pick<ParameterDeclaration, 'name' | 'default'>[],
  given: Record<string, string> = {},
): Record<string, string> {
  return Object.fromEntries(parameters.map((p) => [p.name, given[p.name] ?? valueToText(p.default)]))
}

/**
 * Text from a form field to a value of the declared type, or undefined when
 * empty. Text that does not parse is kept as is: the server names the problem.
 */
export function textToValue(type: ParameterType, text: string): Json | undefined {
  if (text.trim() === '') return undefined
  switch (type) {
    case 'NUMBER':
      return Number.isNaN(Number(text)) ? text : Number(text)
    case 'BOOLEAN':
      return text === 'true' ? true : text === 'false' ? false : text
    case 'JSON':
      try {
        return JSON.parse(text) as Json
      } catch {
        return text
      }
    default:
      return text
  }
}

/** Values typed in the run form, converted to each parameter's type; empty fields are left out. */
export function runParameters(
  declared: readonly ParameterDeclaration[],
  texts: Record<string, string>,
): JsonObject {
  const out: JsonObject = {}
  for (const p of declared) {
    const value = textToValue(p.type, texts[p.name] ?? '')
    if (value !== undefined) out[p.name] = value
  }
  return out
}

/** Types whose parameters may list allowed values (the server's ENUM_TYPES, automations/definition.ts). */
export const ENUM_TYPES: readonly ParameterType[] = ['STRING', 'NUMBER']

/** Allowed values as typed in the parameters editor: comma-separated; empty = any value. */
export function textToAllowed(type: ParameterType, text: string): Json[] | undefined {
  const values = text
    .split(',')
    .map((t) => textToValue(type, t.trim()))
    .filter((v) => v !== undefined)
  return values.length > 0 ? values : undefined
}

/** A parameter's allowed values as the texts of its select's options, or null when any value goes. */
export function optionTexts(p: { allowedValues?: readonly Json[] | null }): string[] | null {
  return p.allowedValues ? p.allowedValues.map(valueToText) : null
}

/**
 * What the run form can tell before asking the server, per parameter name: a
 * required field left empty, a value outside the allowed ones (a shared link's).
 */
export function fieldProblems(
  declared: readonly ParameterDeclaration[],
  texts: Record<string, string>,
): Record<string, string> {
  const problems: Record<string, string> = {}
  for (const p of declared) {
    const text = (texts[p.name] ?? '').trim()
    const options = optionTexts(p)
    if (text === '') {
      if (p.required) problems[p.name] = 'required'
    } else if (options && !options.includes(text)) {
      problems[p.name] = `must be one of: ${options.join(', ')}`
    }
  }
  return problems
}
