import { z } from 'zod'

/** Column types a file import may declare or infer, with the warehouse type each becomes. */
export const FileColumnType = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
} as const
export type FileColumnType = keyof typeof FileColumnType
export const FileColumnTypeSchema = z.enum(
  Object.keys(FileColumnType) as [FileColumnType, ...FileColumnType[]],
)

/** A value normalised to what PostgreSQL parses, or a reason it cannot be one. */
type Parsed = { ok: true; value: string } | { ok: false; why: string }

const INT = /^[+-]?\d+$/
const NUM = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const DATE = /^(\d{4})[-/](\d{2})[-/](\d{2})$/
const TS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$/i
const TRUE = new Set(['true', 't', 'yes', 'y', '1'])
const FALSE = new Set(['false', 'f', 'no', 'n', '0'])

const fail = (why: string): Parsed => ({ ok: false, why })

function validDate(y: string, m: string, d: string): boolean {
  const month = Number(m)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1) return false
  // Only the end of a month needs a calendar.
  if (day <= 28) return true
  const dt = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)))
  return (
    dt.getUTCFullYear() === Number(y) && dt.getUTCMonth() === Number(m) - 1 && dt.getUTCDate() === Number(d)
  )
}

/** Checks one non-empty raw value against a type; `decimal` is the file's decimal separator. */
export function parseValue(type: FileColumnType, raw: string, decimal: '.' | ','): Parsed {
  const v = raw.trim()
  switch (type) {
    case 'text':
      return { ok: true, value: raw }
    case 'integer':
    case 'bigint': {
      if (!INT.test(v)) return fail('is not an integer')
      const n = BigInt(v)
      const max = type === 'integer' ? 2n ** 31n : 2n ** 63n
      if (n >= max || n < -max) return fail(`is out of range for ${type}`)
      return { ok: true, value: v }
    }
    case 'numeric':
    case 'double': {
      // Thousands separators are never guessed: "1,234" in a comma-decimal file is 1.234, else an error.
      const s = decimal === ',' && !v.includes('.') ? v.replace(',', '.') : v
      return NUM.test(s) ? { ok: true, value: s } : fail('is not a number')
    }
    case 'boolean': {
      const l = v.toLowerCase()
      if (TRUE.has(l)) return { ok: true, value: 'true' }
      if (FALSE.has(l)) return { ok: true, value: 'false' }
      return fail('is not true/false')
    }
    case 'date': {
      const m = DATE.exec(v)
      if (!m || !validDate(m[1]!, m[2]!, m[3]!)) return fail('is not a date (YYYY-MM-DD)')
      return { ok: true, value: `${m[1]}-${m[2]}-${m[3]}` }
    }
    case 'timestamp':
    case 'timestamptz': {
      const m = TS.exec(v)
      if (!m || !validDate(m[1]!, m[2]!, m[3]!)) return fail('is not a timestamp (YYYY-MM-DD HH:MM:SS)')
      if (type === 'timestamp' && m[8]) return fail('has a time zone; declare the column timestamptz')
      return { ok: true, value: v }
    }
  }
}

// Tried in this order; the first type every sampled value fits wins. Integers
// become bigint so that a larger value later in the file still fits.
const CANDIDATES: FileColumnType[] = ['boolean', 'bigint', 'numeric', 'date', 'timestamptz', 'timestamp']

/** Infers a column's type from sampled values (empty values say nothing). */
export function inferType(values: readonly (string | null)[], decimal: '.' | ','): FileColumnType {
  const present = values.filter((v): v is string => v !== null && v.trim() !== '')
  if (present.length === 0) return 'text'
  for (const type of CANDIDATES) {
    if (type === 'boolean' && !present.every((v) => /^(true|false)$/i.test(v.trim()))) continue
    if (type === 'timestamptz' && !present.every((v) => /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(v.trim()))) continue
    if (present.every((v) => parseValue(type, v, decimal).ok)) return type
  }
  return 'text'
}
