import { constants, crc32, deflateRawSync } from 'node:zlib'

/**
 * Writes zip files by hand, for XLSX files no spreadsheet program would write:
 * parts that expand to gigabytes (a zip bomb) built without ever holding them
 * expanded, and parts that lie about their size.
 */
export interface ZipPart {
  name: string
  /** The part's bytes as stored: raw deflate (method 8) or as is (method 0). */
  data: Buffer
  method: 0 | 8
  crc: number
  /** Expanded size, as the zip declares it. */
  size: number
}

/** A part stored as is. */
export function storedPart(name: string, content: Buffer | string): ZipPart {
  const data = Buffer.from(content)
  return { name, data, method: 0, crc: crc32(data), size: data.length }
}

/** A small part, deflated. */
export function deflatedPart(name: string, content: string): ZipPart {
  const raw = Buffer.from(content)
  return { name, data: deflateRawSync(raw), method: 8, crc: crc32(raw), size: raw.length }
}

/**
 * A deflated part made of `head`, then `body` `times` over, then `tail`. After
 * a full flush deflate starts afresh, so the compressed body is the same bytes
 * each time: it is compressed once and repeated, and a gigabyte costs a
 * megabyte and no time. `declaredSize` makes the zip lie about the size.
 */
export function repeatedPart(
  name: string,
  p: { head: string; body: string; times: number; tail: string; declaredSize?: number },
): ZipPart {
  const flush = { finishFlush: constants.Z_FULL_FLUSH }
  const head = Buffer.from(p.head)
  const body = Buffer.from(p.body)
  const tail = Buffer.from(p.tail)
  const once = deflateRawSync(body, flush)
  const data = Buffer.concat([
    deflateRawSync(head, flush),
    ...Array.from({ length: p.times }, () => once),
    deflateRawSync(tail),
  ])
  let crc = crc32(head)
  for (let i = 0; i < p.times; i++) crc = crc32(body, crc)
  crc = crc32(tail, crc)
  const size = head.length + body.length * p.times + tail.length
  if (size >= 2 ** 32) throw new Error('zip64 sizes are not written by this helper')
  return { name, data, method: 8, crc, size: p.declaredSize ?? size }
}

/** The zip file of these parts (no zip64: every size below 4 GiB). */
export function zipOf(parts: readonly ZipPart[]): Buffer {
  const locals: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const p of parts) {
    const name = Buffer.from(p.name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(p.method, 8)
    local.writeUInt32LE(p.crc >>> 0, 14)
    local.writeUInt32LE(p.data.length, 18)
    local.writeUInt32LE(p.size, 22)
    local.writeUInt16LE(name.length, 26)
    locals.push(local, name, p.data)
    const entry = Buffer.alloc(46)
    entry.writeUInt32LE(0x02014b50, 0)
    entry.writeUInt16LE(20, 4)
    entry.writeUInt16LE(20, 6)
    entry.writeUInt16LE(0x0800, 8)
    entry.writeUInt16LE(p.method, 10)
    entry.writeUInt32LE(p.crc >>> 0, 16)
    entry.writeUInt32LE(p.data.length, 20)
    entry.writeUInt32LE(p.size, 24)
    entry.writeUInt16LE(name.length, 28)
    entry.writeUInt32LE(offset, 42)
    central.push(entry, name)
    offset += local.length + name.length + p.data.length
  }
  const directory = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(parts.length, 8)
  end.writeUInt16LE(parts.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'

/**
 * The parts of a minimal workbook with one sheet "S": give `sheet` and
 * `sharedStrings` (or leave them out to get small valid ones).
 */
export function workbookParts(o: { sheet?: ZipPart; sharedStrings?: ZipPart; extra?: ZipPart[] }): ZipPart[] {
  return [
    deflatedPart(
      '[Content_Types].xml',
      '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    ),
    deflatedPart(
      '_rels/.rels',
      `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="r1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
    ),
    deflatedPart(
      'xl/workbook.xml',
      `<workbook ${NS} xmlns:r="${REL}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    ),
    deflatedPart(
      'xl/_rels/workbook.xml.rels',
      `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
    ),
    o.sharedStrings ??
      deflatedPart('xl/sharedStrings.xml', `<sst ${NS}><si><t>a</t></si><si><t>b</t></si></sst>`),
    o.sheet ??
      deflatedPart(
        'xl/worksheets/sheet1.xml',
        `<worksheet ${NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row></sheetData></worksheet>`,
      ),
    ...(o.extra ?? []),
  ]
}

/** Shared strings part of `count` strings of `length` characters each. */
export function sharedStringsBomb(count: number, length: number, declaredSize?: number): ZipPart {
  return repeatedPart('xl/sharedStrings.xml', {
    head: `<sst ${NS}>`,
    body: `<si><t>${'x'.repeat(length)}</t></si>`,
    times: count,
    tail: '</sst>',
    ...(declaredSize !== undefined ? { declaredSize } : {}),
  })
}

/** Shared strings part of one string of `mib` MiB, written without building it. */
export function hugeSharedString(mib: number): ZipPart {
  return repeatedPart('xl/sharedStrings.xml', {
    head: `<sst ${NS}><si><t>`,
    body: 'x'.repeat(1024 * 1024),
    times: mib,
    tail: '</t></si></sst>',
  })
}

/** A sheet part that expands to about `mib` MiB of rows. */
export function sheetBomb(mib: number, declaredSize?: number): ZipPart {
  const row = '<row><c t="inlineStr"><is><t>y</t></is></c></row>'
  const perMiB = Math.floor((1024 * 1024) / row.length)
  return repeatedPart('xl/worksheets/sheet1.xml', {
    head: `<worksheet ${NS}><sheetData>`,
    body: row.repeat(perMiB),
    times: mib,
    tail: '</sheetData></worksheet>',
    ...(declaredSize !== undefined ? { declaredSize } : {}),
  })
}
