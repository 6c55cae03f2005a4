// biome-ignore-all lint/suspicious/noTemplateCurlyInString: SQL and configs here hold Switchyard ${variables} on purpose
import { describe, expect, it } from 'vitest'
import { evaluateExpression } from '../../server/src/data/variables/expression'
import { scopeValues } from '../../server/src/data/variables/resolve'
import type { VariableRow } from '../../server/src/data/variables/store'

const now = new Date('2024-03-31T15:30:00Z')
const vars: Record<string, string | number | boolean | null> = { n: 4, name: 'ada', flag: true }
const ev = (src: string) =>
  evaluateExpression(src, {
    now,
    lookup: (k) => {
      if (!(k in vars)) throw new Error(`\${${k}} is not a variable or parameter of this run`)
      return vars[k]!
    },
  })

describe('expression evaluator', () => {
  it('does arithmetic with precedence, comparisons and logic', () => {
    expect(ev('1 + 2 * 3 - (4 - 2) / 2')).toBe(6)
    expect(ev('-n % 3')).toBe(-1)
    expect(ev('n >= 4 && !(n == 5) || false')).toBe(true)
    expect(ev('flag ? "yes" : "no"')).toBe('yes')
    expect(ev('${n} * 2')).toBe(8)
  })

  it('works with strings', () => {
    expect(ev("upper(name) + '-' + n")).toBe('ADA-4')
    expect(ev("replace(concat('a.b', '.c'), '.', '/')")).toBe('a/b/c')
    expect(ev("substr('switchyard', 6) + length(trim('  x '))")).toBe('yard1')
    expect(ev("padStart(string(7), 3, '0')")).toBe('007')
    expect(ev("contains(name, 'd') && startsWith(name, 'a') && endsWith(name, 'a')")).toBe(true)
    expect(ev("number('3.5') + round(2.345, 2)")).toBe(5.85)
  })

  it('does date arithmetic in UTC', () => {
    expect(ev('now()')).toEqual(now)
    expect(ev('formatDate(addDays(today(), -1))')).toBe('2024-03-30')
    expect(ev("formatDate(addMonths(now(), -1), 'YYYY-MM-DD HH:mm')")).toBe('2024-02-29 15:30')
    expect(ev("formatDate(startOf(now(), 'week'))")).toBe('2024-03-25')
    expect(ev("dateDiff('2024-01-01', now(), 'day')")).toBe(90)
    expect(ev('year(now()) * 100 + month(now())')).toBe(202403)
    expect(ev("addHours(date('2024-01-01T00:00:00Z'), 36) > addDays(date('2024-01-01'), 1)")).toBe(true)
  })

  it('fails with clear messages and never evaluates code', () => {
    expect(() => ev('nope + 1')).toThrow('${nope} is not a variable or parameter of this run')
    // A dotted name is one name (workflows read steps.x.outputs.y): as a call it is no function of the language.
    expect(() => ev('process.exit(1)')).toThrow('unknown function process.exit()')
    expect(() => ev('constructor("return 1")')).toThrow('unknown function constructor() at 1')
    expect(() => ev('toString()')).toThrow('unknown function toString() at 1')
    expect(() => ev('1 / 0')).toThrow('division by zero')
    expect(() => ev("'a' < 1")).toThrow('cannot compare "a" with 1')
    expect(() => ev('addDays(now())')).toThrow('addDays() takes 2 argument(s), got 1')
    expect(() => ev('(1')).toThrow('expected ")" at 3')
    expect(() => ev(`${'('.repeat(100)}1${')'.repeat(100)}`)).toThrow('nested too deeply')
    expect(() => ev("'unclosed")).toThrow('unclosed string')
  })
})

describe('variable scopes', () => {
  const row = (name: string, over: Partial<VariableRow>): VariableRow => ({
    id: `${name}-${over.automation_id ?? 'org'}`,
    org_id: 'o',
    automation_id: null,
    name,
    value: null,
    expression: null,
    updated_at: now,
    updated_by: null,
    ...over,
  })

  it('lets the nearest scope win and lets an automation build on the organization', () => {
    const values = scopeValues(
      [
        row('limit', { value: 10 }),
        row('region', { value: 'north' }),
        row('limit', { automation_id: 'a', expression: 'limit * 2' }),
        row('day', { expression: 'formatDate(addDays(today(), -1))' }),
        row('broken', { expression: '1 / 0' }),
      ],
      { region: 'south' },
      now,
    )
    expect(values.limit).toBe(20)
    expect(values.region).toBe('south')
    expect(values.day).toBe('2024-03-30')
    expect(() => values.broken).toThrow('variable broken: division by zero')
  })

  it('detects variables that refer to each other', () => {
    const values = scopeValues(
      [row('a', { expression: 'b + 1' }), row('b', { expression: 'a + 1' })],
      {},
      now,
    )
    expect(() => values.a).toThrow(/refers to itself/)
  })
})
