// Relative, not $lib: the browser suite imports this file to check the forms against the kinds' schemas.
import type { Json, JsonObject } from '../api/types'

/** Config keys each kind form edits; issues on other `config.*` paths are shown in the JSON view. */
export const FORM_FIELDS: Record<string, readonly string[]> = {
  SCRIPT: ['language', 'code', 'memoryMb', 'timeoutMs'],
  SQL: ['datasource', 'statement', 'maxRows', 'timeoutMs'],
  HTTP_REQUEST: ['method', 'url', 'headers', 'body', 'timeoutMs', 'expectStatus'],
  CHAIN: ['children'],
  NOOP: [],
  SQL_TO_STORAGE: ['source', 'target', 'timeoutMs'],
  SYNC_SOURCE: ['source', 'target', 'timeoutMs'],
  FILE_IMPORT: ['source', 'options', 'target', 'timeoutMs'],
  ETL_STEP: ['source', 'transform', 'target', 'timeoutMs'],
  PIVOT: ['source', 'pivot', 'target', 'timeoutMs'],
  CONCATENATE: ['sources', 'sourceColumn', 'target', 'timeoutMs'],
  COMPUTE_METRICS: ['target', 'metrics', 'timeoutMs'],
  RUN_CHECKS: ['checks', 'failOn', 'timeoutMs'],
  ALARM: [
    'source',
    'operator',
    'threshold',
    'message',
    'reporters',
    'failWhenTriggered',
    'notifyOn',
    'timeoutMs',
  ],
  SET_VARIABLES: ['scope', 'automationId', 'variables', 'timeoutMs'],
}

/** A kind's config schema as the server publishes it (JSON Schema), when it has properties to draw. */
export function schemaForm(schema: Json | undefined): JsonObject | null {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return null
  const props = schema.properties
  return props && typeof props === 'object' && Object.keys(props).length > 0 ? schema : null
}

/** A kind has a form: a hand-made one, or one drawn from its schema. */
export function hasForm(kind: string, schema?: Json): boolean {
  return kind in FORM_FIELDS || schemaForm(schema) !== null
}

/** Config keys the form of a kind edits: the hand-made form's, or every key of its schema. */
export function formFields(kind: string, schema?: Json): readonly string[] {
  return FORM_FIELDS[kind] ?? Object.keys((schemaForm(schema)?.properties as JsonObject | undefined) ?? {})
}

export function text(value: Json | undefined, fallback = ''): string {
  return typeof value === 'string' ? value : fallback
}

export function numberOrEmpty(value: Json | undefined): number | '' {
  return typeof value === 'number' ? value : ''
}

/** Sets a numeric key, or removes it when the input is empty so the kind's default applies. */
export function setNumber(config: JsonObject, key: string, value: string): void {
  if (value.trim() === '' || Number.isNaN(Number(value))) delete config[key]
  else config[key] = Number(value)
}

/** "Name: value" lines to a header record and back. */
export function headersToText(value: Json | undefined): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ''
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join('\n')
}

export function textToHeaders(input: string): JsonObject {
  const headers: JsonObject = {}
  for (const line of input.split('\n')) {
    const at = line.indexOf(':')
    if (at <= 0) continue
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim()
  }
  return headers
}

/** Inserts two spaces on Tab in code areas instead of leaving the field. */
export function indentOnTab(event: KeyboardEvent & { currentTarget: HTMLTextAreaElement }): void {
  if (event.key !== 'Tab' || event.shiftKey) return
  event.preventDefault()
  const area = event.currentTarget
  area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end')
  area.dispatchEvent(new Event('input', { bubbles: true }))
}
