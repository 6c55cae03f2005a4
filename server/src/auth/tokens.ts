import { createHash, randomBytes } from 'node:crypto'

/** Prefixes tell a token's purpose at a glance (and to secret scanners). */
export const TokenPrefix = {
  SESSION: 'sys_',
  API: 'syp_',
  EMBED: 'sye_',
  WEBHOOK: 'syw_',
  INVITE: 'syi_',
} as const
export type TokenPrefix = (typeof TokenPrefix)[keyof typeof TokenPrefix]

/** A new random secret with its prefix. Shown once; only its hash is stored. */
export function newToken(prefix: TokenPrefix): string {
  return prefix + randomBytes(32).toString('base64url')
}

/**
 * Tokens are looked up by their SHA-256: the lookup compares hashes, never the
 * secret itself, so response time tells nothing about how much of a guess matched.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
