import { type Message, transform } from 'esbuild'
import { createSourceMapLookup } from './sourcemap'
import { ScriptError } from './types'

/** Names in scope of a JS/TS script, in the order runner.mjs passes them. */
export const SCRIPT_PARAMETERS = [
  'params',
  'variables',
  'triggered_by_user',
  'run',
  'log',
  'setOutput',
  'fail',
  'console',
] as const

// Alone on the first line, so the user's line n is line n + 1 of what we compile.
const HEADER = `(async function (${SCRIPT_PARAMETERS.join(', ')}) {`

/** What the runner executes, and how to read its error positions in the user's terms. */
export interface CompiledScript {
  source: string
  /** Maps a 1-based line/column of `source` to one in the user's code, if it lies there. */
  toUserPosition(line: number, column: number): UserPosition | undefined
}

function isTransformFailure(err: unknown): err is Error & { errors: Message[] } {
  return err instanceof Error && Array.isArray((err as { errors?: unknown }).errors)
}

/** A position in the user's code, 1-based; `pastEnd` when the error fell on our closing line. */
export interface UserPosition {
  line: number
  column: number
  pastEnd?: boolean
}

/** Takes the user's 1-based line and a 0-based column; returns 1-based both, or nothing on our header. */
function clampToUser(code: string, line: number, column: number): UserPosition | undefined {
  const lines = code.split('\n')
  if (line < 1) return undefined
  // An unclosed block is reported on our closing line; the end of the user's code is what to fix.
  if (line > lines.length) {
    return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1, pastEnd: true }
  }
  return { line, column: column + 1 }
}

/** " (line 3, column 5)", with a hint when the code ended too early. */
export function describePosition(at: UserPosition | undefined): string {
  if (!at) return ''
  const hint = at.pastEnd ? '; the script ends inside an open block, bracket or expression' : ''
  return ` (line ${at.line}, column ${at.column}${hint})`
}

/**
 * Wraps a script body in the async function the runner calls and, for TypeScript, strips
 * the types with esbuild, whose syntax errors come back at once with line and column.
 * JavaScript skips esbuild (half the latency of a warm run): V8 compiles it in the
 * sandbox and the runner reports a syntax error's position the same way.
 */
export async function compileScript(
  language: 'javascript' | 'typescript',
  code: string,
): Promise<CompiledScript> {
  const wrapped = `${HEADER}\n${code}\n})`
  if (language === 'javascript') {
    return { source: wrapped, toUserPosition: (line, column) => clampToUser(code, line - 1, column - 1) }
  }
  let result: Awaited<ReturnType<typeof transform>>
  try {
    result = await transform(wrapped, {
      loader: 'ts',
      sourcefile: 'script.ts',
      sourcemap: true,
      target: 'node20',
      logLevel: 'silent',
    })
  } catch (err) {
    if (!isTransformFailure(err)) throw err
    const first = err.errors[0]
    const location = first?.location
    // esbuild lines are 1-based and columns 0-based; line 1 is our header.
    const at = location ? clampToUser(code, location.line - 1, location.column) : undefined
    throw new ScriptError('FAILED', `SyntaxError: ${first?.text ?? err.message}${describePosition(at)}`, {
      line: at?.line,
      column: at?.column,
      cause: err,
    })
  }
  const lookup = createSourceMapLookup((JSON.parse(result.map) as { mappings: string }).mappings)
  return {
    source: result.code,
    toUserPosition: (line, column) => {
      const original = lookup({ line: line - 1, column: column - 1 })
      // Original 0-based line k of the wrapped text is the user's 1-based line k.
      return original ? clampToUser(code, original.line, original.column) : undefined
    },
  }
}
