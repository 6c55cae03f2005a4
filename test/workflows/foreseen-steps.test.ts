import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { type TestOrg, createOrg } from '../helpers/fixtures'
import { type TestServer, startTestServer } from '../helpers/server'
import { createWorkflow, runWorkflow, statesOf, stepOf } from './helpers'

// A completion resolves the automations a parent will likely start next (a chain's next
// step, a workflow's successors) together with its first statements, before the parent
// decides. These runs show that such a guess decides nothing: a refused step the parent
// does start fails as it always did, and a refused one it does not start leaves no trace
// (in particular no unhandled rejection, which fails this file).

let s: TestServer
let org: TestOrg
let admin: string
let editor: string
let ok: string
let bad: string
let locked: string

beforeAll(async () => {
  s = await startTestServer()
  org = await createOrg(s.db)
  admin = await s.login(org.users.admin!.email, org.users.admin!.password)
  editor = await s.login(org.users.editor!.email, org.users.editor!.password)
  ok = await createAutomation(s, editor, { name: 'ok', kind: 'NOOP', config: {} })
  bad = await createAutomation(s, editor, { name: 'bad', kind: 'NOOP', config: { fail: 'check failed' } })
  const folder = await s.gql<{ createFolder: { folder: { id: string } } }>(
    'mutation { createFolder(name: "Restricted") { ... on CreateFolderSuccess { folder { id } } } }',
    {},
    { token: admin },
  )
  const folderId = folder.data!.createFolder.folder.id
  const granted = await s.gql<{ grantFolder: { __typename: string } }>(
    `mutation { grantFolder(folderId: "${folderId}", userId: "${org.users.editor!.id}", permission: EDIT) { __typename } }`,
    {},
    { token: admin },
  )
  expect(granted.data?.grantFolder.__typename).toBe('GrantFolderSuccess')
  locked = await createAutomation(s, editor, { name: 'locked', kind: 'NOOP', config: {}, folderId })
})
afterAll(() => s?.stop())

/**
 * Lowers the editor's grant on the folder to VIEW after the flows were saved (they run as
 * the editor). A folder without grants is open to every role, so the grant stays.
 */
async function revokeEditor(): Promise<void> {
  await s.db.query("update folder_grants set permission = 'VIEW' where user_id = $1", [org.users.editor!.id])
}

describe('children resolved ahead of the decision', () => {
  let chain: string
  let started: string
  let notStarted: string

  beforeAll(async () => {
    // Saved while the editor may run `locked`; two ok steps first, so the parent has been
    // seen (and planned) by the time `locked` is the next step.
    chain = await createAutomation(s, editor, {
      name: 'to locked',
      kind: 'CHAIN',
      config: { children: [ok, ok, locked] },
    })
    started = await createWorkflow(s, editor, 'starts locked', {
      steps: [
        { name: 'first', automationId: ok },
        { name: 'second', automationId: ok },
        { name: 'third', automationId: locked },
      ],
      edges: [
        { from: 'first', to: 'second' },
        { from: 'second', to: 'third' },
      ],
    })
    notStarted = await createWorkflow(s, editor, 'skips locked', {
      steps: [
        { name: 'first', automationId: ok },
        { name: 'check', automationId: bad },
        { name: 'publish', automationId: locked },
        { name: 'alert', automationId: ok },
      ],
      edges: [
        { from: 'first', to: 'check' },
        { from: 'check', to: 'publish' },
        { from: 'check', to: 'alert', condition: 'FAILURE' },
      ],
    })
    await revokeEditor()
  })

  it('a chain whose next step its run-as user may no longer run fails at that step, saying why', async () => {
    const runId = await runAutomation(s, editor, chain)
    const run = await waitForRun(s, editor, runId)
    expect(run.state).toBe('FAILED')
    expect(run.error).toContain('step 3')
    expect(run.error).toContain('may not be run by')
  })

  it('a workflow step its run-as user may no longer run fails, and the workflow with it', async () => {
    const run = await runWorkflow(s, editor, started)
    expect(run.state).toBe('FAILED')
    expect(statesOf(run)).toEqual({ first: 'SUCCEEDED', second: 'SUCCEEDED', third: 'FAILED' })
    expect(stepOf(run, 'third').error).toContain('may not be run by')
  })

  it('a refused successor that the outcome does not start changes nothing', async () => {
    const run = await runWorkflow(s, editor, notStarted)
    // check's failure goes to alert (its FAILURE edge); publish, refused, never runs.
    expect(run.state).toBe('SUCCEEDED')
    expect(statesOf(run)).toEqual({
      first: 'SUCCEEDED',
      check: 'FAILED',
      publish: 'UPSTREAM_FAILED',
      alert: 'SUCCEEDED',
    })
    expect(stepOf(run, 'publish').skipReason).toBe('upstream failed: check FAILED')
  })
})
