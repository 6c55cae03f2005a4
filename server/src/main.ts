import { parseArgs } from 'node:util'
import { startApp } from './app'
import { ConfigError, loadConfig } from './config'
import { coerceError } from './errors'
import { createLogger, wantsPrettyLogs } from './log'

/**
 * `switchyard [--role api,worker,scheduler]`: starts this node. The first
 * SIGINT/SIGTERM drains (requests and runs finish), the second forces.
 */
async function main() {
  const { values } = parseArgs({ options: { role: { type: 'string' } }, allowPositionals: false })
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env, values.role)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`switchyard: ${err.message}`)
      process.exit(2)
    }
    throw err
  }
  const log = createLogger(config.logLevel, 'switchyard', {
    pretty: wantsPrettyLogs(config.logFormat, process.stdout.isTTY === true),
  })
  const app = await startApp(config, log)
  let signals = 0
  const onSignal = (sig: string) => {
    signals++
    if (signals > 1) {
      log.warn({ sig }, 'second signal: exiting now')
      process.exit(1)
    }
    log.info({ sig }, 'draining; send the signal again to force')
    app.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err: coerceError(err) }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  const lines = [
    '',
    `  Switchyard is running (${config.roles.join(', ')}) on ${config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`}`,
  ]
  if (app.url) lines.push(`  Dashboard: ${app.url}/`, `  GraphQL:   ${app.url}/graphql`)
  if (app.seed.created) {
    lines.push(`  Sign in as ${app.seed.adminEmail}`)
    lines.push(
      app.seed.generatedPassword
        ? `  with the generated password: ${app.seed.generatedPassword}   (shown once; set SWITCHYARD_ADMIN_PASSWORD to choose it)`
        : '  with the password from SWITCHYARD_ADMIN_PASSWORD',
    )
  }
  console.log(`${lines.join('\n')}\n`)
  // Tests and scripts wait for this exact line.
  if (app.port !== undefined) console.log(`SWITCHYARD_READY port=${app.port}`)
  else console.log('SWITCHYARD_READY')
}

main().catch((err) => {
  console.error('switchyard: failed to start:', coerceError(err).message)
  process.exit(1)
})
