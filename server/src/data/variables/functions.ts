/** A value of the expression language. Dates stay Dates until they leave it (then ISO strings). */
export type Value = number | string | boolean | null | Date

/** A mistake in an expression (syntax, unknown name, wrong argument): the message says which. */
export class ExpressionError extends Error {
  override name = 'ExpressionError'
}

/** A value as text: for messages, and (with `plain`) for string concatenation. */
export function show(v: Value, plain = false): string {
  if (v instanceof Date) return v.toISOString()
  if (typeof v === 'string') return plain ? v : JSON.stringify(v)
  return String(v)
}

const UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'] as const
type Unit = (typeof UNITS)[number]
const MS: Record<Exclude<Unit, 'month' | 'year'>, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
}

function date(v: Value, fn: string): Date {
  if (v instanceof Date) return v
  if (typeof v === 'string' || typeof v === 'number') {
    const d = new Date(v)
    if (!Number.isNaN(d.getTime())) return d
  }
  throw new ExpressionError(`${fn}() needs a date, got ${show(v)}`)
}
function number(v: Value, fn: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  throw new ExpressionError(`${fn}() needs a number, got ${show(v)}`)
}
function text(v: Value, fn: string): string {
  if (typeof v === 'string') return v
  throw new ExpressionError(`${fn}() needs a string, got ${show(v)}`)
}
function unit(v: Value, fn: string): Unit {
  const u = String(v).replace(/s$/, '') as Unit
  if (!UNITS.includes(u)) throw new ExpressionError(`${fn}() unit must be one of ${UNITS.join(', ')}`)
  return u
}

/** Adds n units in UTC; months and years keep the day of month when it exists, else clamp to the month's end. */
function add(d: Date, n: number, u: Unit): Date {
  if (u !== 'month' && u !== 'year') return new Date(d.getTime() + n * MS[u])
  const months = u === 'year' ? n * 12 : n
  const out = new Date(d)
  const day = out.getUTCDate()
  out.setUTCDate(1)
  out.setUTCMonth(out.getUTCMonth() + months)
  const last = new Date(Date.UTC(out.getUTCFullYear(), out.getUTCMonth() + 1, 0)).getUTCDate()
  out.setUTCDate(Math.min(day, last))
  return out
}

function startOf(d: Date, u: Unit): Date {
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  if (u === 'year') return new Date(Date.UTC(y, 0, 1))
  if (u === 'month') return new Date(Date.UTC(y, m, 1))
  const day = new Date(Date.UTC(y, m, d.getUTCDate()))
  // Weeks start on Monday (ISO 8601).
  if (u === 'week') return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * MS.day)
  if (u === 'day') return day
  return new Date(Math.floor(d.getTime() / MS[u]) * MS[u])
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

function format(d: Date, pattern: string): string {
  return pattern.replace(/YYYY|MM|DD|HH|mm|ss/g, (t) =>
    t === 'YYYY'
      ? pad(d.getUTCFullYear(), 4)
      : t === 'MM'
        ? pad(d.getUTCMonth() + 1)
        : t === 'DD'
          ? pad(d.getUTCDate())
          : t === 'HH'
            ? pad(d.getUTCHours())
            : t === 'mm'
              ? pad(d.getUTCMinutes())
              : pad(d.getUTCSeconds()),
  )
}

/** A function of the language: its arity, checked before it runs, and its body. */
interface Fn {
  min: number
  max: number
  run(args: Value[], now: Date, name: string): Value
}

const fn = (min: number, max: number, run: Fn['run']): Fn => ({ min, max, run })
const one = <T>(conv: (v: Value, fn: string) => T, f: (x: T) => Value): Fn =>
  fn(1, 1, (a, _now, name) => f(conv(a[0]!, name)))
const adder = (u: Unit): Fn => fn(2, 2, (a, _now, name) => add(date(a[0]!, name), number(a[1]!, name), u))
const strings = (f: (a: string, b: string, c: string) => Value, n: number): Fn =>
  fn(n, n, (a, _now, name) => f(text(a[0]!, name), text(a[1] ?? '', name), text(a[2] ?? '', name)))

/** The functions expressions may call. All dates are UTC. */
export const FUNCTIONS: Record<string, Fn> = {
  now: fn(0, 0, (_a, now) => new Date(now)),
  today: fn(0, 0, (_a, now) => startOf(now, 'day')),
  date: one(date, (d) => d),
  addSeconds: adder('second'),
  addMinutes: adder('minute'),
  addHours: adder('hour'),
  addDays: adder('day'),
  addMonths: adder('month'),
  addYears: adder('year'),
  startOf: fn(2, 2, (a, _now, name) => startOf(date(a[0]!, name), unit(a[1]!, name))),
  formatDate: fn(1, 2, (a, _now, name) =>
    format(date(a[0]!, name), a[1] === undefined ? 'YYYY-MM-DD' : text(a[1], name)),
  ),
  dateDiff: fn(2, 3, (a, _now, name) => {
    const [from, to] = [date(a[0]!, name), date(a[1]!, name)]
    const u = unit(a[2] ?? 'day', name)
    if (u === 'month' || u === 'year') {
      const months =
        (to.getUTCFullYear() - from.getUTCFullYear()) * 12 + to.getUTCMonth() - from.getUTCMonth()
      return u === 'year' ? Math.trunc(months / 12) : months
    }
    return Math.trunc((to.getTime() - from.getTime()) / MS[u])
  }),
  year: one(date, (d) => d.getUTCFullYear()),
  month: one(date, (d) => d.getUTCMonth() + 1),
  day: one(date, (d) => d.getUTCDate()),
  weekday: one(date, (d) => ((d.getUTCDay() + 6) % 7) + 1),
  upper: one(text, (s) => s.toUpperCase()),
  lower: one(text, (s) => s.toLowerCase()),
  trim: one(text, (s) => s.trim()),
  length: one(text, (s) => s.length),
  substr: fn(2, 3, (a, _now, name) => {
    const s = text(a[0]!, name)
    const start = number(a[1]!, name)
    return a[2] === undefined ? s.slice(start) : s.slice(start, start + number(a[2], name))
  }),
  replace: strings((s, search, by) => s.split(search).join(by), 3),
  contains: strings((s, part) => s.includes(part), 2),
  startsWith: strings((s, part) => s.startsWith(part), 2),
  endsWith: strings((s, part) => s.endsWith(part), 2),
  padStart: fn(2, 3, (a, _now, name) => {
    const n = number(a[1]!, name)
    if (n > 10_000) throw new ExpressionError('padStart() length at most 10000')
    return show(a[0]!, true).padStart(n, a[2] === undefined ? ' ' : text(a[2], name))
  }),
  concat: fn(0, 100, (a) => a.map((v) => (v === null ? '' : show(v, true))).join('')),
  string: fn(1, 1, (a) => (a[0] === null ? '' : show(a[0]!, true))),
  number: fn(1, 1, (a) => {
    const v = a[0]!
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : Number.NaN
    if (Number.isNaN(n)) throw new ExpressionError(`number() cannot read ${show(v)}`)
    return n
  }),
  abs: one(number, Math.abs),
  floor: one(number, Math.floor),
  ceil: one(number, Math.ceil),
  round: fn(1, 2, (a, _now, name) => {
    const f = 10 ** (a[1] === undefined ? 0 : number(a[1], name))
    return Math.round(number(a[0]!, name) * f) / f
  }),
  min: fn(1, 100, (a, _now, name) => Math.min(...a.map((v) => number(v, name)))),
  max: fn(1, 100, (a, _now, name) => Math.max(...a.map((v) => number(v, name)))),
  coalesce: fn(1, 100, (a) => a.find((v) => v !== null && v !== '') ?? null),
  if: fn(3, 3, (a) => (a[0] ? a[1]! : a[2]!)),
}

/** Calls a function of the language by name, checking its arity first. */
export function callFunction(name: string, args: Value[], now: Date): Value {
  const f = FUNCTIONS[name]!
  if (args.length < f.min || args.length > f.max) {
    const n = f.min === f.max ? f.min : `${f.min} to ${f.max}`
    throw new ExpressionError(`${name}() takes ${n} argument(s), got ${args.length}`)
  }
  return f.run(args, now, name)
}
