import { createAutomation, runAutomation, waitForRun, type RunDetail } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { LOOPBACK_EGRESS, type TestServer, startTestServer } from '../helpers/server'

export interface DataFixture {
  s: TestServer
  org: TestOrg
  admin: string
  editor: string
  viewer: string
  /** Creates an automation of `kind` and runs it to its end. */
  run(kind: string, config: Record<string, unknown>, extra?: Record<string, unknown>): Promise<RunDetail>
  /** Runs one statement on the warehouse through the SQL kind; fails the test if it fails. */
  sql(statement: string): Promise<RunDetail>
  gql<T>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>
  stop(): Promise<void>
}

let n = 0

/**
 * A server with one organization (admin, editor, viewer) signed in. Its datasources and
 * downloads are servers on this machine, so loopback is allowed unless `env` says otherwise.
 */
export async function dataFixture(env?: Record<string, string>): Promise<DataFixture> {
  const s = await startTestServer({ env: { SWITCHYARD_EGRESS_ALLOW: LOOPBACK_EGRESS, ...env } })
  const org = await createOrg(s.db)
  const admin = await s.login(org.users.admin!.email, org.users.admin!.password)
  const editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  const viewer = await s.login(org.users.viewer!.email, org.users.viewer!.password)
  const run: DataFixture['run'] = async (kind, config, extra = {}) => {
    const id = await createAutomation(s, editor, { name: `${kind}-${++n}`, kind, config, ...extra })
    return waitForRun(s, editor, await runAutomation(s, editor, id, extra.runParameters), undefined, 60_000)
  }
  return {
    s,
    org,
    admin,
    editor,
    viewer,
    run,
    async sql(statement) {
      const r = await run('SQL', { statement })
      if (r.state !== 'SUCCEEDED') throw new Error(`SQL failed: ${r.error}`)
      return r
    },
    async gql<T>(query: string, variables?: Record<string, unknown>, token = editor) {
      const r = await s.gql<T>(query, variables, { token })
      if (r.errors) throw new Error(JSON.stringify(r.errors))
      return r.data as T
    },
    stop: () => s.stop(),
  }
}
