import type { IncomingMessage } from 'node:http'

/** The body went past its limit: the request is answered 413 and not read further. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`)
  }
}

/**
 * Reads a request body up to `limit` bytes, counting what arrives: a chunked
 * body (no Content-Length) or one that lies about its length is cut off at
 * the limit instead of being buffered whole.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLargeError(limit)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new BodyTooLargeError(limit)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
