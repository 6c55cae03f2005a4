import { Transform } from 'node:stream'

/** A body over its cap; the message names the cap and the variable that sets it. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
  readonly code = 'BODY_TOO_LARGE'
}

function tooLarge(what: string, maxBytes: number, variable: string, seen?: number): BodyTooLargeError {
  const size = seen === undefined ? '' : ` (it declared ${seen} bytes)`
  return new BodyTooLargeError(
    `${what} is over the ${maxBytes}-byte cap${size}; raise ${variable} to accept larger ones`,
  )
}

export interface Cap {
  maxBytes: number
  /** The environment variable that sets the cap, named in the error. */
  variable: string
  /** What is being read, for the error: "the response of GET https://…". */
  what: string
}

/** Fails before reading a byte when the sender announces a length over the cap. */
export function checkDeclaredLength(contentLength: string | null, cap: Cap): void {
  const declared = contentLength === null ? Number.NaN : Number(contentLength)
  if (Number.isFinite(declared) && declared > cap.maxBytes) {
    throw tooLarge(cap.what, cap.maxBytes, cap.variable, declared)
  }
}

/**
 * Reads a body chunk by chunk into one Buffer, stopping as soon as it passes the cap
 * (leaving the loop cancels the stream, which closes the connection): never more than
 * `maxBytes` plus one chunk is held.
 */
export async function readCapped(body: AsyncIterable<Uint8Array> | null, cap: Cap): Promise<Buffer> {
  if (!body) return Buffer.alloc(0)
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > cap.maxBytes) throw tooLarge(cap.what, cap.maxBytes, cap.variable)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total)
}

/** A pass-through stream that errors once more than `maxBytes` went through it. */
export function capStream(cap: Cap): Transform {
  let total = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length
      if (total > cap.maxBytes) callback(tooLarge(cap.what, cap.maxBytes, cap.variable))
      else callback(null, chunk)
    },
  })
}
