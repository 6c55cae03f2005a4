import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

// scrypt parameters: N=2^15 costs ~50 ms on our 2-core machines, enough to make
// offline guessing expensive without making login slow.
const N = 32768
const R = 8
const P = 1
const KEYLEN = 32
const MAXMEM = 64 * 1024 * 1024

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )
}

/** Hashes a password as `scrypt$N$r$p$salt$key` (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, N, R, P)
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$')
}

// A real hash to compare against when the user does not exist, so a login for an
// unknown email takes as long as one for a known email.
let decoy: Promise<string> | undefined

/** Constant-time check of a password against a stored hash (or against a decoy when there is none). */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'))
  const target = stored ?? (await decoy)
  const [alg, n, r, p, salt, key] = target.split('$')
  if (alg !== 'scrypt' || !n || !r || !p || !salt || !key) return false
  const expected = Buffer.from(key, 'base64')
  const actual = await derive(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p))
  return timingSafeEqual(actual, expected) && stored != null
}
