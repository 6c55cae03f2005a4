import type { IncomingMessage } from 'node:http'

/** The request body was larger than allowed. */
export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge'
}

// An oversized body is still read to its end (and dropped) up to this much, so the
// client gets the 413 instead of a reset connection; beyond it the socket is cut.
const DRAIN_LIMIT = 16 * 1024 * 1024

/** Reads a request body of at most `max` bytes, keeping nothing past the cap. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    // Not worth reading: the answer goes out with "connection: close" and the rest is dropped.
    if (declared > DRAIN_LIMIT)
      return reject(new BodyTooLarge(`the body is ${declared} bytes; the limit is ${max}`))
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= max) chunks.push(chunk)
      else if (size > DRAIN_LIMIT) req.destroy()
    })
    req.on('error', reject)
    req.on('end', () => {
      if (size > max) reject(new BodyTooLarge(`the body is ${size} bytes; the limit is ${max}`))
      else resolve(Buffer.concat(chunks))
    })
    req.on('close', () => {
      if (!req.complete) reject(new BodyTooLarge(`the body is over the limit of ${max} bytes`))
    })
  })
}
