import { z } from 'zod'
import { RunFailure } from '../../kinds/kind'
import { ColumnName, quoteIdent } from '../identifiers'
import { SourceSpec } from '../load/spec'
import { bind } from '../load/sources'

const Pick = z.object({ column: ColumnName, as: ColumnName.optional() })
const Scalar = z.union([z.string().max(10_000), z.number(), z.boolean()])

export const Filter = z
  .object({
    column: ColumnName,
    op: z.enum(['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT_IN', 'LIKE', 'IS_NULL', 'IS_NOT_NULL']),
    /** A value, a list for IN / NOT_IN, or "${name}" to bind a variable. */
    value: z.union([Scalar, z.array(Scalar).min(1).max(1000)]).optional(),
  })
  .refine((f) => f.op.startsWith('IS_') || f.value !== undefined, {
    message: 'needs a value',
    path: ['value'],
  })
  .refine((f) => !['IN', 'NOT_IN'].includes(f.op) || Array.isArray(f.value), {
    message: 'IN takes a list',
    path: ['value'],
  })

export const Aggregate = z.enum(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'COUNT_DISTINCT'])

/**
 * An ETL transform, applied in this order: computed columns and the join make
 * the rows (source alias `s`, joined source alias `j`), filters and `where`
 * keep some, then either group-by aggregates or the select list shape them.
 */
export const Transform = z.object({
  computed: z
    .array(z.object({ name: ColumnName, expression: z.string().trim().min(1).max(10_000) }))
    .max(100)
    .default([]),
  join: z
    .object({
      source: SourceSpec,
      type: z.enum(['INNER', 'LEFT']).default('INNER'),
      on: z
        .array(z.object({ left: ColumnName, right: ColumnName }))
        .min(1)
        .max(10),
      select: z.array(Pick).min(1, 'pick the joined columns to keep').max(500),
    })
    .optional(),
  filters: z.array(Filter).max(100).default([]),
  /** A SQL condition over the columns (`${name}` bound as parameters). */
  where: z.string().trim().min(1).max(10_000).optional(),
  groupBy: z
    .object({
      columns: z.array(ColumnName).max(50),
      aggregates: z
        .array(z.object({ fn: Aggregate, column: ColumnName.optional(), as: ColumnName }))
        .min(1)
        .max(100),
    })
    .optional(),
  /** Columns to keep, optionally renamed; empty keeps all. Ignored with groupBy. */
  select: z.array(Pick).max(500).default([]),
})
export type Transform = z.output<typeof Transform>

const VAR = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/

/** A filter value as a parameter; "${name}" binds the variable itself. */
function param(v: string | number | boolean, values: Record<string, unknown>, params: unknown[]): string {
  const m = typeof v === 'string' ? VAR.exec(v) : null
  if (m) return bind(`\${${m[1]}}`, values, params).text
  params.push(v)
  return `$${params.length}`
}

export function aggregateSql(fn: z.output<typeof Aggregate>, column: string | undefined): string {
  if (fn === 'COUNT') return column ? `count(${quoteIdent(column)})` : 'count(*)'
  if (!column) throw new RunFailure(`${fn} needs a column`)
  if (fn === 'COUNT_DISTINCT') return `count(distinct ${quoteIdent(column)})`
  return `${fn.toLowerCase()}(${quoteIdent(column)})`
}

/**
 * Builds the transform as one SELECT over `source` (and `joined`), every value a
 * parameter appended to `params`. User SQL fragments need no check: they run
 * in the organization's own warehouse, which is all they can see.
 */
export function compileTransform(
  t: Transform,
  rel: { source: string; joined?: string },
  values: Record<string, unknown>,
  params: unknown[],
): string {
  const extra: string[] = []
  for (const c of t.computed) {
    extra.push(`(${bind(c.expression, values, params).text}) as ${quoteIdent(c.name)}`)
  }
  let from = `${rel.source} as s`
  if (t.join) {
    if (!rel.joined) throw new Error('joined relation missing')
    for (const p of t.join.select) extra.push(`j.${quoteIdent(p.column)} as ${quoteIdent(p.as ?? p.column)}`)
    const on = t.join.on.map((o) => `s.${quoteIdent(o.left)} = j.${quoteIdent(o.right)}`).join(' and ')
    from += ` ${t.join.type === 'LEFT' ? 'left' : 'inner'} join ${rel.joined} as j on ${on}`
  }
  const rows = `select s.*${extra.map((e) => `, ${e}`).join('')} from ${from}`
  const where: string[] = t.filters.map((f) => {
    const col = `t.${quoteIdent(f.column)}`
    if (f.op === 'IS_NULL') return `${col} is null`
    if (f.op === 'IS_NOT_NULL') return `${col} is not null`
    if (f.op === 'IN' || f.op === 'NOT_IN') {
      const list = (f.value as (string | number | boolean)[]).map((v) => param(v, values, params)).join(', ')
      return `${col} ${f.op === 'IN' ? 'in' : 'not in'} (${list})`
    }
    const v = param(f.value as string | number | boolean, values, params)
    return f.op === 'LIKE' ? `${col}::text like ${v}` : `${col} ${f.op === '!=' ? '<>' : f.op} ${v}`
  })
  if (t.where) {
    where.push(`(${bind(t.where, values, params).text})`)
  }
  const filtered = `from (\n${rows}\n) as t${where.length > 0 ? ` where ${where.join(' and ')}` : ''}`
  if (t.groupBy) {
    const keys = t.groupBy.columns.map(quoteIdent)
    const aggs = t.groupBy.aggregates.map((a) => `${aggregateSql(a.fn, a.column)} as ${quoteIdent(a.as)}`)
    return `select ${[...keys, ...aggs].join(', ')} ${filtered}${keys.length > 0 ? ` group by ${keys.join(', ')}` : ''}`
  }
  const cols =
    t.select.length > 0
      ? t.select.map((p) => `${quoteIdent(p.column)} as ${quoteIdent(p.as ?? p.column)}`).join(', ')
      : '*'
  return `select ${cols} ${filtered}`
}
