import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { resetPassword } from '../accounts/reset-password'
import { ConfigError, loadConfig } from '../config'
import { openDatabase } from '../db/database'
import { migrate } from '../db/migrate'
import { coerceError } from '../errors'

/**
 * `npm run reset-password -- [email] [--password <new>]`: sets a user's password
 * (default: the first admin) from the server's shell, with the same environment as
 * `npm start`. Without --password (or SWITCHYARD_NEW_PASSWORD) one is generated and
 * printed once. The embedded database has one writer: stop the server first.
 */
async function main() {
  const { values, positionals } = parseArgs({
    options: { password: { type: 'string' } },
    allowPositionals: true,
  })
  const config = loadConfig(process.env)
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: join(config.dataDir, 'pgdata'),
  })
  try {
    await migrate(db)
    const reset = await resetPassword(db, {
      email: positionals[0],
      password: values.password ?? process.env.SWITCHYARD_NEW_PASSWORD,
    })
    console.log(
      reset.generatedPassword
        ? `switchyard: the password of ${reset.email} is now: ${reset.generatedPassword}   (shown once; their sessions were signed out)`
        : `switchyard: the password of ${reset.email} is changed; their sessions were signed out`,
    )
  } finally {
    await db.close()
  }
}

main().catch((err) => {
  const message = err instanceof ConfigError ? err.message : coerceError(err).message
  console.error(`switchyard: reset-password failed: ${message}`)
  process.exit(1)
})
