import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'

/** A 256-bit key for one purpose, derived from the installation's secret key (never the key itself). */
export function deriveKey(secretKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'switchyard', purpose, 32))
}

/**
 * Encrypts with AES-256-GCM. `context` (e.g. the datasource id) is bound as
 * associated data, so a sealed value copied onto another row does not open.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`
}

/** Decrypts what seal() produced; throws when the key, the context or the bytes are wrong. */
export function open(key: Buffer, sealed: string, context: string): string {
  const [version, data] = sealed.split('.')
  if (version !== VERSION || !data) throw new Error('unknown secret format')
  const raw = Buffer.from(data, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  decipher.setAAD(Buffer.from(context))
  decipher.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
}
