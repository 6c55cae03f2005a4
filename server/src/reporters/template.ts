import { Liquid } from 'liquidjs'
import { ValidationError, coerceError } from '../errors'

/**
 * Reporter templates are Liquid (liquidjs): a language for untrusted authors (no code
 * runs), with limits so a template cannot spin or fill memory. Two engines: HTML
 * bodies escape every output (`| raw` opts out), everything else is plain text.
 */
const LIMITS = {
  strictFilters: true,
  parseLimit: 100_000,
  renderLimit: 2_000,
  memoryLimit: 16 * 1024 * 1024,
} as const
const plain = new Liquid(LIMITS)
const html = new Liquid({ ...LIMITS, outputEscape: 'escape' })

// `| json` of something missing is `null`, not nothing: a JSON body must stay JSON.
for (const e of [plain, html])
  e.registerFilter('json', (v: unknown, space?: number) => JSON.stringify(v ?? null, null, space))

export type TemplateMode = 'plain' | 'html'
const engine = (mode: TemplateMode) => (mode === 'html' ? html : plain)

/** The message of a liquidjs error says `..., line:3, col:5`; ours leads with the line. */
function describe(err: unknown): { message: string; line: number | null } {
  const e = coerceError(err)
  const m = /,? line:(\d+), col:(\d+)/.exec(e.message)
  if (!m) return { message: e.message, line: null }
  return { message: `line ${m[1]}, column ${m[2]}: ${e.message.replace(m[0], '')}`, line: Number(m[1]) }
}

/** Parses a template so a mistake is refused at save, naming its line; throws ValidationError at `path`. */
export function checkTemplate(source: string, path: string, mode: TemplateMode = 'plain'): void {
  try {
    engine(mode).parse(source)
  } catch (err) {
    const { message } = describe(err)
    throw new ValidationError(`invalid ${path}: ${message}`, [{ path, message }])
  }
}

/** A template that failed while rendering (e.g. over its limits): the delivery fails, not retried. */
export class TemplateError extends Error {
  override name = 'TemplateError'
}

/** Renders a template with a context; errors name the line. */
export async function renderTemplate(
  source: string,
  context: Record<string, unknown>,
  mode: TemplateMode = 'plain',
): Promise<string> {
  try {
    return await engine(mode).parseAndRender(source, context)
  } catch (err) {
    throw new TemplateError(`template: ${describe(err).message}`)
  }
}
