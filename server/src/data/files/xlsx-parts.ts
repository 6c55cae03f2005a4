import { posix } from 'node:path'
import { RunFailure } from '../../kinds/kind'
import { type FileLimits, overBytes, overCap } from './limits'
import { type XmlBounds, parseWholeXml, parseXml } from './xml'
import type { ZipParts } from './zip'

/**
 * The parts of an XLSX file read before its sheet: which part holds which
 * sheet, which cell styles are dates, and the shared strings. Each is parsed
 * into a compact form; only the shared strings are kept whole, within a cap.
 */
export interface Workbook {
  sheets: { name: string; part: string }[]
  date1904: boolean
  /** By cell style index (the `s` of a cell): true when its number format is a date or time. */
  dateStyles: boolean[]
  sharedStrings: string[]
}

export interface PartContext {
  zip: ZipParts
  file: string
  limits: FileLimits
}

/** Bounds for a part: nothing between two events longer than a cell, plus room for its tags. */
export function boundsFor(c: PartContext, part: string): XmlBounds {
  return {
    file: c.file,
    part,
    maxPending: c.limits.maxCellBytes + 4096,
    tooLong: () => overCap(c.file, `a value in ${part}`, 'maxCellBytes', c.limits),
  }
}

async function readPart(
  c: PartContext,
  part: string,
  h: Parameters<typeof parseWholeXml>[1],
): Promise<boolean> {
  const stream = await c.zip.open(part)
  if (!stream) return false
  await parseWholeXml(stream, h, boundsFor(c, part))
  return true
}

/** A relationship target resolved against the part that holds it, as a path inside the zip. */
function resolveTarget(from: string, target: string): string {
  if (target.startsWith('/')) return target.replace(/^\/+/, '')
  return posix.normalize(posix.join(posix.dirname(from), target))
}

function relsPathOf(part: string): string {
  return posix.join(posix.dirname(part), '_rels', `${posix.basename(part)}.rels`)
}

async function readRels(
  c: PartContext,
  part: string,
): Promise<{ id: string; type: string; target: string }[]> {
  const rels: { id: string; type: string; target: string }[] = []
  await readPart(c, relsPathOf(part), {
    open(name, a) {
      if (name === 'Relationship' && a.Id && a.Target && a.TargetMode !== 'External')
        rels.push({ id: a.Id, type: a.Type ?? '', target: resolveTarget(part, a.Target) })
    },
    text() {},
    close() {},
  })
  return rels
}

// Built-in number formats that show dates or times (ECMA-376 18.8.30, and the East Asian ones).
const DATE_FORMAT_IDS = new Set([
  14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54,
  55, 56, 57, 58,
])

/** A custom format is a date when a date or time code remains outside quotes, escapes and [colors]. */
export function isDateFormat(code: string): boolean {
  const bare = code
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/\[[^\]]*\]/g, '')
  return /[ymdhs]/i.test(bare.replace(/General/gi, ''))
}

async function readStyles(c: PartContext, part: string | undefined): Promise<boolean[]> {
  if (!part) return []
  const custom = new Map<number, boolean>()
  const styles: boolean[] = []
  let inCellXfs = false
  await readPart(c, part, {
    open(name, a) {
      if (name === 'numFmt') custom.set(Number(a.numFmtId), isDateFormat(a.formatCode ?? ''))
      else if (name === 'cellXfs') inCellXfs = true
      else if (name === 'xf' && inCellXfs) {
        const id = Number(a.numFmtId ?? 0)
        styles.push(custom.get(id) ?? DATE_FORMAT_IDS.has(id))
      }
    },
    text() {},
    close(name) {
      if (name === 'cellXfs') inCellXfs = false
    },
  })
  return styles
}

/**
 * Reads the shared strings, the one part held whole: a sheet refers to them
 * by index, in any order. Each string is capped like a cell, all of them
 * together by SWITCHYARD_MAX_XLSX_SHARED_STRINGS_BYTES; phonetic runs (rPh)
 * are not part of the text, as in Excel.
 */
async function readSharedStrings(c: PartContext, part: string | undefined): Promise<string[]> {
  if (!part) return []
  const stream = await c.zip.open(part)
  if (!stream) return []
  const strings: string[] = []
  let total = 0
  let text: string[] | undefined
  let inT = false
  let phonetic = 0
  let length = 0
  const h = {
    open(name: string) {
      if (name === 'si') {
        text = []
        length = 0
      } else if (name === 't') inT = true
      else if (name === 'rPh') phonetic++
    },
    text(t: string) {
      if (!text || !inT || phonetic > 0) return
      length += t.length
      if (length > c.limits.maxCellBytes)
        throw overCap(c.file, `shared string ${strings.length + 1}`, 'maxCellBytes', c.limits)
      text.push(t)
    },
    close(name: string) {
      if (name === 't') inT = false
      else if (name === 'rPh') phonetic--
      else if (name === 'si' && text) {
        const s = text.join('')
        text = undefined
        if (overBytes(s, c.limits.maxCellBytes))
          throw overCap(c.file, `shared string ${strings.length + 1}`, 'maxCellBytes', c.limits)
        // Bytes in memory, roughly: the characters plus what V8 keeps per string.
        total += s.length + 16
        if (total > c.limits.maxXlsxSharedStringsBytes)
          throw overCap(c.file, 'the size of its shared strings', 'maxXlsxSharedStringsBytes', c.limits)
        strings.push(s)
      }
    },
  }
  for await (const _ of parseXml(stream, h, boundsFor(c, part))) {
    // The handlers collect; nothing to hand out until the part is read.
  }
  return strings
}

/** Reads what every sheet needs: the sheet list, the date styles and the shared strings. */
export async function readWorkbook(c: PartContext): Promise<Workbook> {
  const root = await readRels(c, '')
  const main =
    root.find((r) => r.type.endsWith('/officeDocument'))?.target ??
    (c.zip.has('xl/workbook.xml') ? 'xl/workbook.xml' : undefined)
  if (!main || !c.zip.has(main))
    throw new RunFailure(`${c.file} is not an XLSX workbook: it has no workbook part (xl/workbook.xml)`)
  const rels = await readRels(c, main)
  const sheets: { name: string; part: string }[] = []
  let date1904 = false
  await readPart(c, main, {
    open(name, a) {
      if (name === 'workbookPr') date1904 = a.date1904 === '1' || a.date1904 === 'true'
      if (name !== 'sheet') return
      const id = Object.entries(a).find(([k]) => k === 'id' || k.endsWith(':id'))?.[1]
      const rel = rels.find((r) => r.id === id)
      if (a.name && rel) sheets.push({ name: a.name, part: rel.target })
    },
    text() {},
    close() {},
  })
  const styles = rels.find((r) => r.type.endsWith('/styles'))?.target
  const shared = rels.find((r) => r.type.endsWith('/sharedStrings'))?.target
  return {
    sheets,
    date1904,
    dateStyles: await readStyles(c, styles),
    sharedStrings: await readSharedStrings(c, shared),
  }
}
