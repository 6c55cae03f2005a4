import type { Json, JsonObject } from '$lib/api/types'

/** Config keys each kind form edits; issues on other `config.*` paths are shown in the JSON view. */
export const FORM_FIELDS: Record<string, readonly string[]> = {
  SCRIPT: ['language', 'code', 'memoryMb', 'timeoutMs'],
  SQL: ['statement', 'maxRows', 'timeoutMs'],
  HTTP_REQUEST: ['method', 'url', 'headers', 'body', 'timeoutMs', 'expectStatus'],
  CHAIN: ['children'],
  NOOP: [],
}

export function hasForm(kind: string): boolean {
  return kind in FORM_FIELDS
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
