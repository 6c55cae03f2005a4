import { RESULT_ERRORS, mutate, type Outcome, request } from '$lib/api/graphql'
import type { Json, UserRef } from '$lib/api/types'

type Fetch = typeof fetch

/** One saved version, as `automationVersions` answers it. */
export interface AutomationVersion {
  version: number
  createdAt: string
  createdBy: UserRef | null
  definition: { [key: string]: Json }
}

export async function listVersions(automationId: string, fetchFn?: Fetch): Promise<AutomationVersion[]> {
  const data = await request<{ automationVersions: AutomationVersion[] }>(
    `query Versions($id: ID!) { automationVersions(automationId: $id) {
      version createdAt definition createdBy { id email } } }`,
    { id: automationId },
    fetchFn,
  )
  return data.automationVersions
}

export function restoreVersion(automationId: string, version: number): Promise<Outcome<{ version: number }>> {
  return mutate<{ version: number }>({
    query: `mutation Restore($id: ID!, $v: Int!) { restoreAutomationVersion(automationId: $id, version: $v) {
      ${RESULT_ERRORS} ... on RestoreAutomationVersionSuccess { automation { id version } } } }`,
    variables: { id: automationId, v: version },
    field: 'restoreAutomationVersion',
    key: 'automation',
  })
}

/**
 * What a version is, as text to compare: its config and its settings, keys sorted so
 * two versions line up field by field.
 */
export function versionText(definition: { [key: string]: Json }): string {
  const sorted = (v: Json): Json =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as { [key: string]: Json })[k]!)]),
          )
        : v
  return JSON.stringify(sorted(definition), null, 2)
}

/** One row of a side-by-side diff: a line on each side (null where that side has none). */
export interface DiffRow {
  left: { n: number; text: string } | null
  right: { n: number; text: string } | null
  change: 'same' | 'changed' | 'removed' | 'added'
}

/** Pairs removed and added lines into rows, so a changed line sits beside its new form. */
export function sideBySide(
  parts: readonly { value: string; added?: boolean; removed?: boolean }[],
): DiffRow[] {
  const rows: DiffRow[] = []
  let l = 0
  let r = 0
  const lines = (v: string) => v.replace(/\n$/, '').split('\n')
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (part.removed && parts[i + 1]?.added) {
      const old = lines(part.value)
      const now = lines(parts[i + 1]!.value)
      for (let k = 0; k < Math.max(old.length, now.length); k++) {
        const left = k < old.length ? { n: ++l, text: old[k]! } : null
        const right = k < now.length ? { n: ++r, text: now[k]! } : null
        rows.push({ left, right, change: left && right ? 'changed' : left ? 'removed' : 'added' })
      }
      i++
    } else if (part.removed) {
      for (const text of lines(part.value))
        rows.push({ left: { n: ++l, text }, right: null, change: 'removed' })
    } else if (part.added) {
      for (const text of lines(part.value))
        rows.push({ left: null, right: { n: ++r, text }, change: 'added' })
    } else {
      for (const text of lines(part.value))
        rows.push({ left: { n: ++l, text }, right: { n: ++r, text }, change: 'same' })
    }
  }
  return rows
}
