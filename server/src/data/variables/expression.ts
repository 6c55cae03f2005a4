import { callFunction, ExpressionError, FUNCTIONS, type Value, show } from './functions'

/**
 * A small expression language for variables, parsed and evaluated here
 * (never `eval`): numbers, 'strings', true/false/null, names of other
 * variables, + - * / %, comparisons, && || !, `c ? a : b`, and the functions
 * of functions.ts (now(), addDays(...), upper(...)...).
 */
export { ExpressionError, type Value }

type Node =
  | { t: 'lit'; v: Value }
  | { t: 'var'; name: string }
  | { t: 'call'; name: string; args: Node[] }
  | { t: 'un'; op: string; a: Node }
  | { t: 'bin'; op: string; a: Node; b: Node }
  | { t: 'if'; c: Node; a: Node; b: Node }

interface Token {
  k: 'num' | 'str' | 'id' | 'op' | 'end'
  v: string
  at: number
}

const MAX_LENGTH = 4000
const MAX_DEPTH = 64
const OPS = [
  '${',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '!',
  '(',
  ')',
  ',',
  '?',
  ':',
  '}',
]

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let i = 0
  while (i < src.length) {
    const ch = src[i]!
    if (/\s/.test(ch)) {
      i++
      continue
    }
    const num = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i))
    if (num) {
      out.push({ k: 'num', v: num[0], at: i })
      i += num[0].length
      continue
    }
    // Dotted names (`steps.load.outputs.rowCount`) are one name: a workflow's scope resolves them.
    const id = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(i))
    if (id) {
      out.push({ k: 'id', v: id[0], at: i })
      i += id[0].length
      continue
    }
    if (ch === "'" || ch === '"') {
      let j = i + 1
      let s = ''
      while (j < src.length && src[j] !== ch) {
        if (src[j] === '\\' && j + 1 < src.length) j++
        s += src[j]
        j++
      }
      if (j >= src.length) throw new ExpressionError(`unclosed string starting at ${i + 1}`)
      out.push({ k: 'str', v: s, at: i })
      i = j + 1
      continue
    }
    const op = OPS.find((o) => src.startsWith(o, i))
    if (!op) throw new ExpressionError(`unexpected "${ch}" at ${i + 1}`)
    out.push({ k: 'op', v: op, at: i })
    i += op.length
  }
  out.push({ k: 'end', v: '', at: src.length })
  return out
}

const LEVELS: string[][] = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']]

/** Parses an expression into a tree, or throws ExpressionError naming the position. */
export function parse(src: string): Node {
  if (src.length > MAX_LENGTH) throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`)
  const toks = tokenize(src)
  let p = 0
  let depth = 0
  const peek = () => toks[p]!
  const isOp = (v: string) => peek().k === 'op' && peek().v === v
  const expect = (v: string) => {
    if (!isOp(v)) throw new ExpressionError(`expected "${v}" at ${peek().at + 1}`)
    p++
  }
  const expr = (): Node => {
    if (++depth > MAX_DEPTH) throw new ExpressionError('expression nested too deeply')
    const c = binary(0)
    let out = c
    if (isOp('?')) {
      p++
      const a = expr()
      expect(':')
      out = { t: 'if', c, a, b: expr() }
    }
    depth--
    return out
  }
  const binary = (level: number): Node => {
    if (level >= LEVELS.length) return unary()
    let a = binary(level + 1)
    while (peek().k === 'op' && LEVELS[level]!.includes(peek().v)) {
      const op = toks[p++]!.v
      a = { t: 'bin', op, a, b: binary(level + 1) }
    }
    return a
  }
  const unary = (): Node => {
    if (isOp('!') || isOp('-')) {
      const op = toks[p++]!.v
      if (++depth > MAX_DEPTH) throw new ExpressionError('expression nested too deeply')
      const a = unary()
      depth--
      return { t: 'un', op, a }
    }
    return primary()
  }
  const primary = (): Node => {
    const tok = toks[p++]!
    if (tok.k === 'num') return { t: 'lit', v: Number(tok.v) }
    if (tok.k === 'str') return { t: 'lit', v: tok.v }
    if (tok.k === 'op' && tok.v === '(') {
      const e = expr()
      expect(')')
      return e
    }
    if (tok.k === 'op' && tok.v === '${') {
      const name = toks[p++]!
      if (name.k !== 'id') throw new ExpressionError(`expected a name after \${ at ${name.at + 1}`)
      expect('}')
      return { t: 'var', name: name.v }
    }
    if (tok.k === 'id') {
      if (tok.v === 'true' || tok.v === 'false') return { t: 'lit', v: tok.v === 'true' }
      if (tok.v === 'null') return { t: 'lit', v: null }
      if (!isOp('(')) return { t: 'var', name: tok.v }
      p++
      const args: Node[] = []
      if (!isOp(')')) {
        args.push(expr())
        while (isOp(',')) {
          p++
          args.push(expr())
        }
      }
      expect(')')
      // Own properties only: `constructor`, `toString`... of Object.prototype are not functions of the language.
      if (!Object.hasOwn(FUNCTIONS, tok.v))
        throw new ExpressionError(`unknown function ${tok.v}() at ${tok.at + 1}`)
      return { t: 'call', name: tok.v, args }
    }
    throw new ExpressionError(
      tok.k === 'end' ? 'unexpected end of expression' : `unexpected "${tok.v}" at ${tok.at + 1}`,
    )
  }
  const tree = expr()
  if (peek().k !== 'end') throw new ExpressionError(`unexpected "${peek().v}" at ${peek().at + 1}`)
  return tree
}

export interface Scope {
  /** Value of a variable; throws for an unknown name. */
  lookup(name: string): Value
  now: Date
}

const num = (v: Value, op: string): number => {
  if (typeof v !== 'number') throw new ExpressionError(`${op} needs numbers, got ${show(v)}`)
  return v
}

function compare(op: string, a: Value, b: Value): boolean {
  const x = a instanceof Date ? a.getTime() : a
  const y = b instanceof Date ? b.getTime() : b
  if (op === '==') return x === y
  if (op === '!=') return x !== y
  if (typeof x !== typeof y || x === null || y === null) {
    throw new ExpressionError(`cannot compare ${show(a)} with ${show(b)}`)
  }
  const [l, r] = [x as number | string, y as number | string]
  return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r
}

/** Evaluates a parsed expression. */
export function evaluate(node: Node, scope: Scope): Value {
  const ev = (n: Node): Value => evaluate(n, scope)
  switch (node.t) {
    case 'lit':
      return node.v
    case 'var':
      return scope.lookup(node.name)
    case 'call':
      return callFunction(node.name, node.args.map(ev), scope.now)
    case 'un':
      return node.op === '!' ? !ev(node.a) : -num(ev(node.a), '-')
    case 'if':
      return ev(node.c) ? ev(node.a) : ev(node.b)
    case 'bin': {
      if (node.op === '&&') return Boolean(ev(node.a)) && Boolean(ev(node.b))
      if (node.op === '||') return Boolean(ev(node.a)) || Boolean(ev(node.b))
      const a = ev(node.a)
      const b = ev(node.b)
      if (node.op === '+' && (typeof a === 'string' || typeof b === 'string')) {
        const s = show(a, true) + show(b, true)
        if (s.length > 1_000_000) throw new ExpressionError('string longer than 1,000,000 characters')
        return s
      }
      if (['==', '!=', '<', '<=', '>', '>='].includes(node.op)) return compare(node.op, a, b)
      const [x, y] = [num(a, node.op), num(b, node.op)]
      if ((node.op === '/' || node.op === '%') && y === 0) throw new ExpressionError('division by zero')
      return node.op === '+'
        ? x + y
        : node.op === '-'
          ? x - y
          : node.op === '*'
            ? x * y
            : node.op === '/'
              ? x / y
              : x % y
    }
  }
}

/** Parses and evaluates in one step. */
export function evaluateExpression(src: string, scope: Scope): Value {
  return evaluate(parse(src), scope)
}

/** Every name an expression reads (for checks at save: a workflow step may read only what comes before it). */
export function referencedNames(src: string): string[] {
  const names = new Set<string>()
  const walk = (n: Node): void => {
    if (n.t === 'var') names.add(n.name)
    else if (n.t === 'call') n.args.forEach(walk)
    else if (n.t === 'un') walk(n.a)
    else if (n.t === 'bin') {
      walk(n.a)
      walk(n.b)
    } else if (n.t === 'if') {
      walk(n.c)
      walk(n.a)
      walk(n.b)
    }
  }
  walk(parse(src))
  return [...names]
}
