import { GraphQLError, GraphQLScalarType, Kind, type ValueNode, print } from 'graphql'

function literal(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value)
    case Kind.NULL:
      return null
    case Kind.LIST:
      return ast.values.map((v) => literal(v, variables))
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]))
    case Kind.VARIABLE:
      return variables?.[ast.name.value]
    default:
      return undefined
  }
}

export const JSONResolver = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
})

/** `2024-05-01`, `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.5+02:00`; a time without an offset is UTC. */
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/**
 * A timestamp from outside, strictly: `new Date` alone takes "1" for 2001 and
 * "2024-02-30" for March 1st. The error is a coded GraphQLError, so the client
 * reads it (after graphql-js's 'Expected type "DateTime".') instead of it being
 * masked as unexpected.
 */
function parseTimestamp(value: unknown): Date {
  const text = String(value)
  const m = typeof value === 'string' ? ISO_8601.exec(value) : null
  if (m) {
    const [, year, month, day, offset] = m
    const d = new Date(text.length > 10 && !offset ? `${text}Z` : text)
    // Date.UTC rolls a day the calendar lacks over into the next month: compare it back.
    const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
    if (
      !Number.isNaN(d.getTime()) &&
      calendar.getUTCMonth() + 1 === Number(month) &&
      calendar.getUTCDate() === Number(day)
    )
      return d
  }
  throw new GraphQLError(
    `"${text}" is not an ISO-8601 timestamp; write it like 2024-05-01 or 2024-05-01T12:00:00Z`,
    { extensions: { code: 'BAD_USER_INPUT' } },
  )
}

export const DateTimeResolver = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC (`2024-05-01T12:00:00Z`; a date alone is its midnight UTC)',
  serialize: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
  parseValue: parseTimestamp,
  parseLiteral: (ast) => parseTimestamp(ast.kind === Kind.STRING ? ast.value : print(ast)),
})
