import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import yauzl from 'yauzl'
import { coerceError } from '../../errors'
import { RunFailure } from '../../kinds/kind'
import { type FileLimits, overCap } from './limits'

// Every entry is kept as an object while the file is read; a spreadsheet has a
// few dozen, a workbook with thousands of sheets a few thousand.
const MAX_ENTRIES = 20_000

/** An XLSX file's zip container, each part expanded on demand within one shared budget. */
export interface ZipParts {
  has(path: string): boolean
  /** The part expanded, or undefined when the file has no such part. */
  open(path: string): Promise<Readable | undefined>
  close(): Promise<void>
}

const invalid = (name: string, why: string) => new RunFailure(`${name} is not a valid XLSX file: ${why}`)

/**
 * Spools the file to a temporary file and opens its zip directory. A zip is
 * read from its end (the central directory), so a stream cannot be read in
 * order without holding parts in memory; on disk, any part can be read in
 * any order (shared strings before the sheet that needs them), one buffer at
 * a time. The disk used is bounded by the file cap the input already carries.
 */
export async function openZip(input: Readable, name: string, limits: FileLimits): Promise<ZipParts> {
  const dir = await mkdtemp(join(tmpdir(), 'sy-xlsx-'))
  const removeDir = () => rm(dir, { recursive: true, force: true })
  try {
    const path = join(dir, 'file.xlsx')
    await pipeline(input, createWriteStream(path))
    const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(
        path,
        // validateEntrySizes: an entry that expands past the size it declares is an error, not more data.
        { lazyEntries: true, autoClose: false, validateEntrySizes: true },
        (err, z) => (err ? reject(invalid(name, err.message)) : resolve(z)),
      ),
    )
    const entries = await readDirectory(zip, name).catch(async (err) => {
      zip.close()
      throw err
    })
    return partsOf(zip, entries, { name, limits, close: removeDir })
  } catch (err) {
    await removeDir()
    throw coerceError(err)
  }
}

function readDirectory(zip: yauzl.ZipFile, name: string): Promise<Map<string, yauzl.Entry>> {
  if (zip.entryCount > MAX_ENTRIES)
    return Promise.reject(invalid(name, `it has ${zip.entryCount} parts; a spreadsheet has far fewer`))
  const entries = new Map<string, yauzl.Entry>()
  return new Promise((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => {
      entries.set(e.fileName.replace(/^\/+/, ''), e)
      zip.readEntry()
    })
    zip.once('end', () => resolve(entries))
    zip.once('error', (err: Error) => reject(invalid(name, err.message)))
    zip.readEntry()
  })
}

function partsOf(
  zip: yauzl.ZipFile,
  entries: Map<string, yauzl.Entry>,
  o: { name: string; limits: FileLimits; close: () => Promise<void> },
): ZipParts {
  const max = o.limits.maxXlsxExpandedBytes
  let expanded = 0
  const tooBig = () => overCap(o.name, 'the expanded size of its zip parts', 'maxXlsxExpandedBytes', o.limits)
  return {
    has: (path) => entries.has(path),
    async open(path) {
      const entry = entries.get(path)
      if (!entry) return undefined
      if (entry.isEncrypted())
        throw new RunFailure(`${o.name} is password-protected; save it without a password`)
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
        throw invalid(o.name, `${path} uses zip compression method ${entry.compressionMethod}`)
      // The declared size is checked first (and enforced by yauzl), so a declared bomb costs nothing.
      if (expanded + entry.uncompressedSize > max) throw tooBig()
      const raw = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, (err, s) => (err ? reject(invalid(o.name, err.message)) : resolve(s))),
      )
      const counted = new Transform({
        transform(chunk: Buffer, _enc, done) {
          expanded += chunk.length
          done(expanded > max ? tooBig() : null, chunk)
        },
      })
      raw.on('error', (err) => counted.destroy(invalid(o.name, `${path}: ${err.message}`)))
      counted.on('close', () => raw.destroy())
      return raw.pipe(counted)
    },
    async close() {
      zip.close()
      await o.close()
    },
  }
}
