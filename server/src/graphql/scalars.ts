import { GraphQLScalarType, Kind, type ValueNode } from 'graphql'

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

export const DateTimeResolver = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC',
  serialize: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
  parseValue: (v) => {
    const d = new Date(String(v))
    if (Number.isNaN(d.getTime()))
      throw new TypeError(`DateTime: "${String(v)}" is not an ISO-8601 timestamp`)
    return d
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new TypeError('DateTime: expected an ISO-8601 string')
    const d = new Date(ast.value)
    if (Number.isNaN(d.getTime()))
      throw new TypeError(`DateTime: "${ast.value}" is not an ISO-8601 timestamp`)
    return d
  },
})
