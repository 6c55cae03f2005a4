import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Queryable } from '../../db/database'

/** Files live in the database in chunks of this size, so any node can read them and memory stays bounded. */
export const CHUNK_BYTES = 1024 * 1024

export interface DataFileRow {
  id: string
  org_id: string
  name: string
  size: number
  sha256: string | null
  content_type: string | null
  created_at: Date
}

export const FILE_COLUMNS = 'id, org_id, name, size, sha256, content_type, created_at'

/**
 * Stores a stream as a file, chunk by chunk. `check` sees the first bytes
 * before anything is written and may throw to refuse the file.
 */
export async function storeFile(
  db: Queryable,
  f: {
    orgId: string
    name: string
    contentType: string | null
    createdBy: string | null
    /** SWITCHYARD_MAX_FILE_BYTES */
    maxBytes: number
  },
  body: AsyncIterable<Buffer | Uint8Array | string>,
  check?: (head: Buffer) => void,
): Promise<DataFileRow> {
  const [row] = await db.query<{ id: string }>(
    'insert into data_files (org_id, name, content_type, created_by) values ($1, $2, $3, $4) returning id',
    [f.orgId, f.name, f.contentType, f.createdBy],
  )
  const id = row!.id
  const hash = createHash('sha256')
  let pending: Buffer[] = []
  let pendingBytes = 0
  let size = 0
  let seq = 0
  // A refused file is still read to its end (and dropped), so an HTTP client gets the answer, not a reset.
  let refused: Error | undefined
  const flush = async () => {
    if (pendingBytes === 0) return
    const chunk = Buffer.concat(pending)
    pending = []
    pendingBytes = 0
    if (refused) return
    if (seq === 0) {
      try {
        check?.(chunk)
      } catch (err) {
        refused = err as Error
        return
      }
    }
    // Base64 text, not a binary parameter: PGlite's binary parameter path costs ~0.5 s per MiB.
    await db.query(
      "insert into data_file_chunks (file_id, seq, data) values ($1, $2, decode($3, 'base64'))",
      [id, seq++, chunk.toString('base64')],
    )
  }
  try {
    for await (const part of body) {
      const buf =
        typeof part === 'string'
          ? Buffer.from(part)
          : Buffer.from(part.buffer, part.byteOffset, part.byteLength)
      size += buf.length
      if (size > f.maxBytes)
        throw new Error(`the file is larger than ${f.maxBytes} bytes (SWITCHYARD_MAX_FILE_BYTES)`)
      if (refused) continue
      hash.update(buf)
      pending.push(buf)
      pendingBytes += buf.length
      if (pendingBytes >= CHUNK_BYTES) await flush()
    }
    await flush()
    if (refused) throw refused
    if (size === 0) throw new Error('the file is empty')
    const [done] = await db.query<DataFileRow>(
      `update data_files set size = $2, sha256 = $3, complete = true where id = $1 returning ${FILE_COLUMNS}`,
      [id, size, hash.digest('hex')],
    )
    // int8 comes back as a string on both drivers.
    return { ...done!, size: Number(done!.size) }
  } catch (err) {
    await db.query('delete from data_files where id = $1', [id]).catch(() => {})
    throw err
  }
}

export async function getFile(db: Queryable, orgId: string, id: string): Promise<DataFileRow | undefined> {
  const [row] = await db.query<DataFileRow>(
    `select ${FILE_COLUMNS} from data_files where id = $1 and org_id = $2 and complete`,
    [id, orgId],
  )
  return row
}

/** Reads a stored file back as a stream, one chunk in memory at a time. */
export function readFile(db: Queryable, fileId: string): Readable {
  async function* chunks() {
    for (let seq = 0; ; seq++) {
      // Base64 again: both drivers pass text through untouched, and PGlite parses bytea hex byte by byte.
      const [row] = await db.query<{ data: string }>(
        "select encode(data, 'base64') as data from data_file_chunks where file_id = $1 and seq = $2",
        [fileId, seq],
      )
      if (!row) return
      yield Buffer.from(row.data, 'base64')
    }
  }
  return Readable.from(chunks(), { objectMode: false })
}
