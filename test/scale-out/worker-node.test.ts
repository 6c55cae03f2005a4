import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrap, cleanEnv, type StartedNode, startNode } from '../first-use/bootstrap'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { createOrg } from '../helpers/fixtures'
import { TEST_SECRET_KEY, type TestServer, startTestServer } from '../helpers/server'

// Scale-out as the README documents it: `npm start -- --role worker` from the top of the
// checkout, beside an API node on the same PostgreSQL (needs DATABASE_URL: helpers/suites.ts).
let api: TestServer
let worker: StartedNode | undefined
const dataDir = mkdtempSync(join(tmpdir(), 'sy-worker-'))

beforeAll(async () => {
  api = await startTestServer({ env: { SWITCHYARD_ROLES: 'api,scheduler' } })
}, 120_000)

afterAll(async () => {
  await worker?.stop()
  await api?.stop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('npm start -- --role worker', () => {
  const env = () =>
    cleanEnv({
      DATABASE_URL: api.databaseUrl!,
      SWITCHYARD_SECRET_KEY: TEST_SECRET_KEY,
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
    })

  it('starts a worker-only node that executes the runs an API node queued', async () => {
    const org = await createOrg(api.db)
    const token = await api.login(org.users.admin!.email, org.users.admin!.password)
    const id = await createAutomation(api, token, {
      name: 'on the worker node',
      kind: 'SQL',
      config: { statement: 'select 41 + 1 as answer' },
    })
    const runId = await runAutomation(api, token, id)
    worker = await startNode(env(), ['--role', 'worker'])
    // A worker serves no HTTP: no port, and no dashboard built for it.
    expect(worker.port).toBeUndefined()
    expect(worker.stdout()).toContain('Switchyard is running (worker)')
    const run = await waitForRun(api, token, runId)
    expect(run.state).toBe('SUCCEEDED')
  })

  it('resets a password on PostgreSQL with the same command as on the embedded database', async () => {
    const r = bootstrap('reset-password', ['--password', 'a-new-passphrase'], env())
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('is changed; their sessions were signed out')
  })
})
