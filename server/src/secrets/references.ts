/** Secret names are identifiers, like parameters: `${secret.WAREHOUSE_TOKEN}`. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** `${secret.NAME}` in a text (a connection string, a header); capture group 1 is the name. */
const REFERENCE = /\$\{secret\.([A-Za-z_][A-Za-z0-9_]*)\}/g

/** Names `${secret.NAME}` references in one text, sorted and without repeats. */
export function secretNamesIn(text: string): string[] {
  return [...new Set([...text.matchAll(REFERENCE)].map((m) => m[1]!))].sort()
}

/**
 * Replaces each `${secret.NAME}` in `text` by `encode(value)`: a connection
 * string gets values URL-encoded, so a password with `@` or `/` stays a password.
 * Every name must be in `secrets` (openSecrets fails on a missing one first).
 */
export function fillSecrets(
  text: string,
  secrets: ReadonlyMap<string, string>,
  encode: (value: string) => string = (v) => v,
): string {
  return text.replace(REFERENCE, (_m, name: string) => encode(secrets.get(name) ?? ''))
}

/** The text with each reference swapped by `swap(name, index)`: how a connection string with references is parsed. */
export function swapSecretReferences(text: string, swap: (name: string, index: number) => string): string {
  let i = 0
  return text.replace(REFERENCE, (_m, name: string) => swap(name, i++))
}

/**
 * Where a run's resolved secrets travel with its parameters: a symbol key, so
 * JSON.stringify, Object.entries and the run record never see them.
 */
export const SECRETS = Symbol('secrets')

export type WithSecrets<T> = T & { readonly [SECRETS]?: ReadonlyMap<string, string> }

/** Names a definition's config refers to: `${secret.NAME}` anywhere, and `secret.NAME` in a script's code. */
export function secretReferences(kind: string, config: unknown): string[] {
  const names = new Set<string>()
  const scan = (v: unknown, inCode: boolean) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\$\{secret\.([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]!)
      if (inCode) for (const m of v.matchAll(/\bsecret\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!)
    } else if (Array.isArray(v)) for (const x of v) scan(x, false)
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) scan(x, kind === 'SCRIPT' && k === 'code')
  }
  scan(config, false)
  return [...names].sort()
}

/** The run's parameters with its secrets attached (invisible to serialisation). */
export function withSecrets<T extends object>(
  parameters: T,
  secrets: ReadonlyMap<string, string>,
): WithSecrets<T> {
  return Object.assign({ ...parameters }, { [SECRETS]: secrets })
}

/** The secrets attached to a run's parameters, as a plain object (for a script's input). */
export function secretsOf(parameters: object): Record<string, string> {
  return Object.fromEntries((parameters as WithSecrets<object>)[SECRETS] ?? [])
}

/**
 * Replaces every secret value in `text` by `***`, longest first (so a secret
 * that contains another is hidden whole). Values shorter than 4 characters
 * are not redacted: they would blank out ordinary text.
 */
export function redactor(secrets: ReadonlyMap<string, string>): (text: string) => string {
  const values = [...new Set(secrets.values())]
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length)
  if (values.length === 0) return (text) => text
  return (text) => {
    let out = text
    for (const v of values) out = out.split(v).join('***')
    return out
  }
}

/** Applies a redactor to every string inside a JSON value (run outputs). */
export function redactDeep<T>(value: T, redact: (s: string) => string): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T
  return value
}
