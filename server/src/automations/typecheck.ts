import type { Definition } from './definition'

/** A TypeScript type error in a script, reported at save as a warning (the script still saves). */
export interface CodeWarning {
  line: number
  message: string
}

/** What a SCRIPT sees (README › Concepts), as declarations for the checker. */
const SCRIPT_API = `
declare const params: Record<string, any>
declare const variables: Record<string, any> & { secret: Record<string, string> }
declare const triggered_by_user: string | null
declare const run: { id: string; automationId: string; attempt: number; triggerSource: string }
declare function log(...values: unknown[]): void
declare function setOutput(key: string, value: unknown): void
declare function fail(message: string): never
`

// The script body runs inside an async function (top-level await and return both work):
// it is checked the same way, and lines are counted from the body's first line.
const PREFIX = 'export async function __script() {\n'

/**
 * Type-checks a TypeScript script against the script API and the standard library
 * (ES2022 and the fetch/DOM types). Loaded on first use: the compiler is large, and only
 * an editor asking for warnings needs it.
 */
export async function typeWarnings(code: string): Promise<CodeWarning[]> {
  const ts = (await import('typescript')).default
  const options: import('typescript').CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    noEmit: true,
    skipLibCheck: true,
    types: [],
  }
  const files = new Map([
    ['/script.ts', `${PREFIX}${code}\n}\n`],
    ['/script-api.d.ts', SCRIPT_API],
  ])
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const readFile = host.readFile.bind(host)
  host.getSourceFile = (name, language, ...rest) => {
    const own = files.get(name)
    return own !== undefined
      ? ts.createSourceFile(name, own, language)
      : getSourceFile(name, language, ...rest)
  }
  host.fileExists = (name) => files.has(name) || fileExists(name)
  host.readFile = (name) => files.get(name) ?? readFile(name)
  const program = ts.createProgram([...files.keys()], options, host)
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === '/script.ts' && d.start !== undefined)
    .map((d) => ({
      // 0-based in the wrapped file, whose line 0 is the wrapper: the user's own line number.
      line: d.file!.getLineAndCharacterOfPosition(d.start!).line,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }))
    .filter((w) => w.line >= 1)
}

/** Warnings for a saved version: only TypeScript scripts have any. */
export function warningsFor(def: Pick<Definition, 'kind' | 'config'>): Promise<CodeWarning[]> {
  const c = def.config as { language?: string; code?: string }
  if (def.kind !== 'SCRIPT' || c.language !== 'typescript' || typeof c.code !== 'string')
    return Promise.resolve([])
  return typeWarnings(c.code)
}
