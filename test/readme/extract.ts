/**
 * Reads the examples out of README.md, for test/readme/readme.test.ts to run in order.
 *
 * The convention, for anyone adding a README section (its examples are tested too):
 *
 * - Every fenced ```graphql block is run: each operation in it, in order, as the
 *   signed-in admin of the demo installation `npm start` creates. A subscription is
 *   validated against the schema, not opened (it would wait for events).
 * - A fenced ```sh block that calls `curl` is run by bash, the whole block, after the
 *   sh blocks before it (their variables and functions carry over, as in one shell).
 *   `localhost:4000` and `https://switchyard.example.com` mean the test's server.
 *   Comment lines (`# 202 {...}`) are for the reader. sh blocks without curl
 *   (`npm start`, the bench) are instructions, not API examples, and are not run.
 * - Write what the reader must fill in as a placeholder in angle brackets:
 *   `"<automation id>"`, `"<run id>"`, `"<admin password>"`. The test fills it from
 *   what earlier answers held:
 *     - every object with an `id` binds "<its type, in words> id" (`Automation` →
 *       `<automation id>`, `EmbedToken` → `<embed token id>`); the latest answer wins;
 *     - every string field binds its name in words (`webhookUrl` → `<webhook url>`,
 *       `token` → `<token>`); a webhook URL also binds `<hook token>`;
 *     - `<admin email>` and `<admin password>` are the first admin's.
 *   In sh, the same bindings are environment variables in capitals (`$HOOK_TOKEN`,
 *   `$AUTOMATION_ID`), and `<words>` is replaced too.
 * - Before each block, the test waits for the runs started so far to end, as a reader
 *   would look at one answer before going on to the next example.
 * - Answers are checked: a GraphQL error fails the test, and so does any object whose
 *   `__typename` is an error type (the test asks every selection for `__typename`), so
 *   an example that only selects the success type cannot pass silently. A curl must
 *   answer 2xx.
 * - `<!-- readme-test: not run: <why> -->` on the line before a fence leaves that block
 *   out, saying why (for an example that needs a system outside the test). Use sparingly.
 */
import { readFileSync } from 'node:fs'

export interface Example {
  lang: 'graphql' | 'sh'
  code: string
  /** 1-based line of the opening fence, for failure messages. */
  line: number
  /** The section heading the example sits under. */
  section: string
  /** Set by a `not run` marker. */
  notRun?: string
}

const FENCE = /^```(\w*)\s*$/
const MARKER = /^<!--\s*readme-test:\s*(.+?)\s*-->$/

/** Every graphql block, and every sh block that calls curl, in README order. */
export function extractExamples(path: string): Example[] {
  const lines = readFileSync(path, 'utf8').split('\n')
  const out: Example[] = []
  let section = ''
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.startsWith('#')) section = line.replace(/^#+\s*/, '')
    const open = FENCE.exec(line)
    if (!open) continue
    const lang = open[1]
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!)
    const code = body.join('\n')
    const marker = start > 0 ? MARKER.exec(lines[start - 1]!.trim()) : null
    const notRun = marker?.[1]?.startsWith('not run:') ? marker[1].slice('not run:'.length).trim() : undefined
    if (lang === 'graphql' || (lang === 'sh' && /\bcurl\b/.test(code))) {
      out.push({ lang, code, line: start + 1, section, ...(notRun ? { notRun } : {}) })
    }
  }
  return out
}

/** `webhookUrl` → `webhook url`, `EmbedToken` → `embed token`. */
export function words(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase()
}

/** `hook token` → `HOOK_TOKEN`. */
export const envName = (binding: string) => binding.toUpperCase().replace(/[^A-Z0-9]+/g, '_')

/** Placeholders a block uses: `<automation id>` → `automation id`. */
export function placeholders(code: string): string[] {
  return [...code.matchAll(/<([a-z][a-z0-9 ]*[a-z0-9])>/g)].map((m) => m[1]!)
}

/**
 * Records what an answer binds (see the convention above): ids by their object's type,
 * string fields by their name.
 */
export function bindFrom(value: unknown, bindings: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const v of value) bindFrom(v, bindings)
    return
  }
  if (!value || typeof value !== 'object') return
  const o = value as Record<string, unknown>
  for (const [k, v] of Object.entries(o)) {
    if (k === 'id' && typeof v === 'string' && typeof o.__typename === 'string') {
      bindings.set(`${words(o.__typename)} id`, v)
    } else if (typeof v === 'string' && k !== '__typename' && k !== 'id') {
      bindings.set(words(k), v)
      const hook = /\/hooks\/([^/?#]+)$/.exec(v)
      if (hook) bindings.set('hook token', hook[1]!)
    } else {
      bindFrom(v, bindings)
    }
  }
}

/** Objects in an answer whose `__typename` is one of `errorTypes`, with their path. */
export function errorObjects(
  value: unknown,
  errorTypes: ReadonlySet<string>,
  path = 'data',
): { path: string; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => errorObjects(v, errorTypes, `${path}[${i}]`))
  if (!value || typeof value !== 'object') return []
  const o = value as Record<string, unknown>
  if (typeof o.__typename === 'string' && errorTypes.has(o.__typename)) return [{ path, value }]
  return Object.entries(o).flatMap(([k, v]) => errorObjects(v, errorTypes, `${path}.${k}`))
}
