import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  buildSchema,
  type FieldNode,
  isInterfaceType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  parse,
  print,
  validate,
  visit,
} from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestServer, startTestServer } from '../helpers/server'
import { bindFrom, envName, errorObjects, extractExamples, placeholders } from './extract'

// The convention the README's examples follow is written at the top of ./extract.ts.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ADMIN_EMAIL = 'admin@switchyard.local'
const ADMIN_PASSWORD = 'readme-password'

const schema = buildSchema(readFileSync(join(root, 'server', 'schema.graphql'), 'utf8'))
const errorInterface = schema.getType('Error')
if (!isInterfaceType(errorInterface)) throw new Error('schema.graphql has no Error interface')
const ERROR_TYPES: ReadonlySet<string> = new Set(schema.getPossibleTypes(errorInterface).map((t) => t.name))

const examples = extractExamples(join(root, 'README.md'))
const bindings = new Map<string, string>([
  ['admin email', ADMIN_EMAIL],
  ['admin password', ADMIN_PASSWORD],
])

let s: TestServer
let adminToken: string
let shellDir: string
/** Names the README's sh blocks assigned or defined so far: they carry over to the next block. */
const shellVariables = new Set<string>()
const shellFunctions = new Set<string>()

beforeAll(async () => {
  // The installation a reader has after `npm start`: the demo organization and its admin.
  s = await startTestServer({
    env: {
      SWITCHYARD_SEED_DEMO: 'true',
      SWITCHYARD_ADMIN_EMAIL: ADMIN_EMAIL,
      SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    },
  })
  adminToken = await s.login(ADMIN_EMAIL, ADMIN_PASSWORD)
  shellDir = mkdtempSync(join(tmpdir(), 'sy-readme-'))
}, 120_000)

afterAll(async () => {
  await s?.stop()
  if (shellDir) rmSync(shellDir, { recursive: true, force: true })
})

/** Replaces every `<words>` placeholder by its binding; `quote` escapes the value for where it lands. */
function fill(code: string, where: string, quote: (v: string) => string = (v) => v): string {
  return code.replace(/<([a-z][a-z0-9 ]*[a-z0-9])>/g, (whole, name: string) => {
    const value = bindings.get(name)
    if (value === undefined) {
      throw new Error(
        `${where} uses ${whole}, but no earlier example's answer bound it (bound so far: ${[...bindings.keys()].join(', ')})`,
      )
    }
    return quote(value)
  })
}

/** Asks every selection set for `__typename`, so an error answer always names its type. */
function withTypenames(op: OperationDefinitionNode): OperationDefinitionNode {
  const typename: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }
  return visit(op, {
    SelectionSet: {
      leave(node: SelectionSetNode): SelectionSetNode {
        const has = node.selections.some((sel) => sel.kind === Kind.FIELD && sel.name.value === '__typename')
        return has ? node : { ...node, selections: [typename, ...node.selections] }
      },
    },
  })
}

/** Empty objects in an answer: a union answered by a type the example did not select. */
function emptyObjects(value: unknown, path = 'data'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => emptyObjects(v, `${path}[${i}]`))
  if (!value || typeof value !== 'object') return []
  const entries = Object.entries(value)
  if (entries.length === 0) return [path]
  return entries.flatMap(([k, v]) => emptyObjects(v, `${path}.${k}`))
}

function checkAnswer(where: string, body: { data?: unknown; errors?: unknown }) {
  expect(body.errors, `${where}: errors`).toBeUndefined()
  expect(errorObjects(body.data, ERROR_TYPES), `${where}: answered with an error type`).toEqual([])
  expect(emptyObjects(body.data), `${where}: an empty answer (an unselected type)`).toEqual([])
}

async function runGraphQL(code: string, where: string) {
  // Placeholders sit inside string literals, so the block parses as written; each
  // operation is filled just before it runs, with what the operations before it bound.
  const doc = parse(code)
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue
    const label = `${where}, operation «${print(def).replace(/\s+/g, ' ').slice(0, 90)}»`
    const filled = (d: OperationDefinitionNode) =>
      parse(fill(print(d), label, (v) => JSON.stringify(v).slice(1, -1)))
    if (def.operation === 'subscription') {
      // A subscription has one root field, so no __typename beside it.
      const problems = validate(schema, filled(def))
      expect(
        problems.map((p) => p.message),
        label,
      ).toEqual([])
      continue
    }
    const body = await s.gql(print(filled(withTypenames(def))), undefined, { token: adminToken })
    checkAnswer(label, body)
    bindFrom(body.data, bindings)
  }
}

/** Waits until no run is queued, waiting or running (a minute at most, then the example runs anyway). */
async function runsSettled() {
  for (let i = 0; i < 600; i++) {
    const [r] = await s.db.query<{ n: number }>(
      "select count(*)::int as n from runs where state in ('QUEUED', 'WAITING', 'RUNNING')",
    )
    if (r!.n === 0) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function bash(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { cwd: shellDir, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    child.on('error', reject)
    child.on('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

const SEPARATOR = '--readme-body--'

/**
 * Runs one sh block in bash as a reader would, after the earlier blocks' variables and
 * functions. `curl` is wrapped to record each answer's status and body for the checks.
 */
async function runShell(code: string, where: string) {
  for (const m of code.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)=/gm)) shellVariables.add(m[1]!)
  for (const m of code.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{/gm)) shellFunctions.add(m[1]!)
  const block = fill(code, where)
    .replaceAll('https://switchyard.example.com', s.url)
    .replaceAll('localhost:4000', s.url)
  const bodies = join(shellDir, 'bodies.txt')
  const statuses = join(shellDir, 'statuses.txt')
  writeFileSync(bodies, '')
  writeFileSync(statuses, '')
  // Single-quoted: a bound value may hold `${secret.NAME}` or `$`, which bash must not expand.
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`
  const exports = [...bindings].map(([k, v]) => `export ${envName(k)}=${quote(v)}`)
  const save = [
    shellVariables.size > 0 ? `declare -p ${[...shellVariables].join(' ')} 2>/dev/null || true` : '',
    shellFunctions.size > 0 ? `declare -f ${[...shellFunctions].join(' ')}` : '',
  ]
  const script = [
    'set -e -o pipefail',
    `cd ${JSON.stringify(shellDir)}`,
    '[ -f state.sh ] && source state.sh',
    ...exports,
    `curl() { command curl -sS -w '%{stderr}%{http_code}\\n' "$@" 2>>${JSON.stringify(statuses)} | tee -a ${JSON.stringify(bodies)}; printf '\\n${SEPARATOR}\\n' >> ${JSON.stringify(bodies)}; }`,
    block,
    `{ ${save.filter(Boolean).join('; ')}; } > state.sh`,
  ].join('\n')
  writeFileSync(join(shellDir, 'example.sh'), script)
  // Not spawnSync: the server answering the curls runs in this process.
  const r = await bash(join(shellDir, 'example.sh'))
  expect(r.status, `${where}: bash exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0)
  const codes = readFileSync(statuses, 'utf8').trim().split('\n').filter(Boolean)
  expect(codes.length, `${where}: ran no curl`).toBeGreaterThan(0)
  for (const c of codes) expect(c, `${where}: an answer that is not 2xx\n${r.stdout}`).toMatch(/^2\d\d$/)
  for (const chunk of readFileSync(bodies, 'utf8').split(SEPARATOR)) {
    const text = chunk.trim()
    if (!text.startsWith('{')) continue
    const body = JSON.parse(text) as { data?: unknown; errors?: unknown }
    if ('data' in body || 'errors' in body) checkAnswer(`${where}: ${text.slice(0, 200)}`, body)
    bindFrom(body, bindings)
  }
}

describe('README examples, run in order', () => {
  it('has examples, and every placeholder is one the convention fills', () => {
    expect(examples.filter((e) => e.lang === 'graphql').length).toBeGreaterThan(5)
    expect(examples.filter((e) => e.lang === 'sh').length).toBeGreaterThan(2)
    for (const e of examples) for (const p of placeholders(e.code)) expect(p).toMatch(/^[a-z0-9 ]+$/)
    // A block left out must say why, in words a reader understands.
    for (const e of examples.filter((x) => x.notRun))
      expect(e.notRun!.length, `line ${e.line}`).toBeGreaterThan(10)
  })

  for (const e of examples) {
    const where = `README.md:${e.line} (${e.section})`
    if (e.notRun) continue
    it(`${where}: ${e.lang}`, async () => {
      await runsSettled()
      if (e.lang === 'graphql') await runGraphQL(e.code, where)
      else await runShell(e.code, where)
    })
  }
})
