// A minimal reader of source map v3 "mappings", enough to point a runtime error in the
// JavaScript esbuild produced from TypeScript back at the line the user wrote. Only
// the parent uses it, on the map esbuild hands back, so no dependency is worth adding.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** A 0-based position, as source maps count. */
export interface Position {
  line: number
  column: number
}

interface Segment {
  generatedColumn: number
  original: Position
}

function decodeVlq(segment: string): number[] {
  const values: number[] = []
  let value = 0
  let shift = 0
  for (const char of segment) {
    const digit = BASE64.indexOf(char)
    if (digit < 0) throw new Error(`invalid base64 digit "${char}" in source map`)
    value += (digit & 31) * 2 ** shift
    if (digit & 32) {
      shift += 5
      continue
    }
    values.push(value & 1 ? -(value - 1) / 2 : value / 2)
    value = 0
    shift = 0
  }
  return values
}

function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = []
  // Every field but the generated column is relative to the previous segment of the whole map.
  let originalLine = 0
  let originalColumn = 0
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = []
    let generatedColumn = 0
    for (const text of lineText.split(',')) {
      if (text === '') continue
      const fields = decodeVlq(text)
      generatedColumn += fields[0] ?? 0
      if (fields.length < 4) continue
      originalLine += fields[2] ?? 0
      originalColumn += fields[3] ?? 0
      segments.push({ generatedColumn, original: { line: originalLine, column: originalColumn } })
    }
    lines.push(segments)
  }
  return lines
}

/** Returns a lookup from generated to original positions for a map's `mappings` string. */
export function createSourceMapLookup(mappings: string): (generated: Position) => Position | undefined {
  let lines: Segment[][] | undefined
  return (generated) => {
    lines ??= decodeMappings(mappings)
    const segments = lines[generated.line]
    if (!segments || segments.length === 0) return undefined
    // The last segment starting at or before the column covers it.
    let match = segments[0]
    for (const segment of segments) {
      if (segment.generatedColumn > generated.column) break
      match = segment
    }
    return match?.original
  }
}
