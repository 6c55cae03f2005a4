import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RUN, createAutomation, runAutomation, waitForRun } from '../helpers/automations'
import { RETRY, type Setup, UPDATE, restrictedFolder, setup } from './helpers'

// Issue 12, points 1-3: nobody runs with rights they don't have.
let x: Setup
beforeAll(async () => {
  x = await setup({ admin: 'ADMIN', editor: 'EDITOR', editor2: 'EDITOR', viewer: 'VIEWER', gone: 'EDITOR' })
})
afterAll(() => x?.s.stop())

const q = <T>(query: string, vars: Record<string, unknown>, who: string) =>
  x.s.gql<T>(query, vars, { token: x.tokens[who] })
const runAsOf = async (id: string) => {
  const r = await q<{ automation: { runAsUser: { id: string } | null } }>(
    'query($id: ID!) { automation(id: $id) { runAsUser { id } } }',
    { id },
    'admin',
  )
  return r.data!.automation.runAsUser?.id ?? null
}
type Update = {
  updateAutomation: { __typename: string; runAsUserId?: string; automation?: { runAsUser: { id: string } } }
}

describe('borrowed rights (point 1)', () => {
  it("an EDITOR saving an admin's automation is refused unless they take over run-as; the ADMIN may save it", async () => {
    const id = await createAutomation(x.s, x.tokens.admin!, { name: 'payroll', kind: 'NOOP', config: {} })
    expect(await runAsOf(id)).toBe(x.org.users.admin!.id)
    // Omitting runAsUserId used to save null, and the run then borrowed the creator's rights.
    const refused = await q<Update>(
      UPDATE,
      { id, i: { name: 'payroll', kind: 'NOOP', config: { log: 'x' } } },
      'editor',
    )
    expect(refused.data!.updateAutomation.__typename).toBe('RunAsForbiddenError')
    expect(refused.data!.updateAutomation.runAsUserId).toBe(x.org.users.admin!.id)
    expect(await runAsOf(id)).toBe(x.org.users.admin!.id)
    // Naming another user is refused too; naming yourself takes the automation over.
    const other = await q<Update>(
      UPDATE,
      { id, i: { name: 'payroll', kind: 'NOOP', config: {}, runAsUserId: x.org.users.editor2!.id } },
      'editor',
    )
    expect(other.data!.updateAutomation.__typename).toBe('ForbiddenError')
    const mine = await q<Update>(
      UPDATE,
      { id, i: { name: 'payroll', kind: 'NOOP', config: {}, runAsUserId: x.org.users.editor!.id } },
      'editor',
    )
    expect(mine.data!.updateAutomation.__typename).toBe('UpdateAutomationSuccess')
    expect(await runAsOf(id)).toBe(x.org.users.editor!.id)
    // The ADMIN saves it without naming run-as: it keeps running as the editor.
    const kept = await q<Update>(UPDATE, { id, i: { name: 'payroll', kind: 'NOOP', config: {} } }, 'admin')
    expect(kept.data!.updateAutomation.__typename).toBe('UpdateAutomationSuccess')
    expect(await runAsOf(id)).toBe(x.org.users.editor!.id)
    const back = await q<Update>(
      UPDATE,
      { id, i: { name: 'payroll', kind: 'NOOP', config: {}, runAsUserId: x.org.users.editor2!.id } },
      'admin',
    )
    expect(back.data!.updateAutomation.__typename).toBe('UpdateAutomationSuccess')
    expect(await runAsOf(id)).toBe(x.org.users.editor2!.id)
    // A VIEWER may not save at all.
    const viewer = await q<Update>(UPDATE, { id, i: { name: 'payroll', kind: 'NOOP', config: {} } }, 'viewer')
    expect(viewer.data!.updateAutomation.__typename).toBe('ForbiddenError')
  })

  it('a new automation runs as its creator, stored explicitly', async () => {
    const id = await createAutomation(x.s, x.tokens.editor!, { name: 'mine', kind: 'NOOP', config: {} })
    expect(await runAsOf(id)).toBe(x.org.users.editor!.id)
    const r = await q<{ createAutomation: { __typename: string } }>(
      'mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename } }',
      { i: { name: 'as admin', kind: 'NOOP', config: {}, runAsUserId: x.org.users.admin!.id } },
      'editor',
    )
    expect(r.data!.createAutomation.__typename).toBe('ForbiddenError')
  })

  it('falls back to the first admin only when the run-as user was deleted, and the run says so', async () => {
    const id = await createAutomation(x.s, x.tokens.admin!, {
      name: 'shared button',
      kind: 'NOOP',
      config: {},
      allowAllUsersToRun: true,
      runAsUserId: x.org.users.gone!.id,
    })
    const FALLBACK =
      'query($id: ID!) { run(id: $id) { runAs { id } runAsFallback runAsFallbackFrom { id } } }'
    type F = {
      run: { runAs: { id: string }; runAsFallback: boolean; runAsFallbackFrom: { id: string } | null }
    }
    const before = await runAutomation(x.s, x.tokens.viewer!, id)
    const r1 = await q<F>(FALLBACK, { id: before }, 'admin')
    expect(r1.data!.run).toEqual({
      runAs: { id: x.org.users.gone!.id },
      runAsFallback: false,
      runAsFallbackFrom: null,
    })
    const del = await q<{ deleteUser: { __typename: string } }>(
      'mutation($id: ID!) { deleteUser(id: $id) { __typename } }',
      { id: x.org.users.gone!.id },
      'admin',
    )
    expect(del.data!.deleteUser.__typename).toBe('DeleteUserSuccess')
    const after = await runAutomation(x.s, x.tokens.viewer!, id)
    const r2 = await q<F>(FALLBACK, { id: after }, 'admin')
    expect(r2.data!.run).toEqual({
      runAs: { id: x.org.users.admin!.id },
      runAsFallback: true,
      runAsFallbackFrom: { id: x.org.users.gone!.id },
    })
  })
})

describe('retry needs the run permission now (point 2)', () => {
  it('a VIEWER cannot retry their own run once "allow all users to run" is switched off', async () => {
    const input = { name: 'flaky button', kind: 'NOOP', config: { fail: 'boom' }, allowAllUsersToRun: true }
    const id = await createAutomation(x.s, x.tokens.editor!, input)
    const failed = await waitForRun(x.s, x.tokens.viewer!, await runAutomation(x.s, x.tokens.viewer!, id))
    expect(failed.state).toBe('FAILED')
    const ok = await q<{ retryRun: { __typename: string } }>(RETRY, { id: failed.id }, 'viewer')
    expect(ok.data!.retryRun.__typename).toBe('RetryRunSuccess')
    const off = await q<Update>(UPDATE, { id, i: { ...input, allowAllUsersToRun: false } }, 'editor')
    expect(off.data!.updateAutomation.__typename).toBe('UpdateAutomationSuccess')
    const refused = await q<{ retryRun: { __typename: string } }>(RETRY, { id: failed.id }, 'viewer')
    expect(refused.data!.retryRun.__typename).toBe('ForbiddenError')
    // The EDITOR may still run it, so may retry it.
    const editor = await q<{ retryRun: { __typename: string } }>(RETRY, { id: failed.id }, 'editor')
    expect(editor.data!.retryRun.__typename).toBe('RetryRunSuccess')
  })
})

describe('chains and folders (point 3)', () => {
  it('saving a chain needs view and run permission on every child', async () => {
    const secret = await restrictedFolder(x, 'Restricted', [
      `userId: "${x.org.users.editor2!.id}", permission: EDIT`,
    ])
    const viewOnly = await restrictedFolder(x, 'Read only', [
      `userId: "${x.org.users.editor2!.id}", permission: EDIT`,
      'role: EDITOR, permission: VIEW',
    ])
    const hidden = await createAutomation(x.s, x.tokens.editor2!, {
      name: 'salaries',
      kind: 'NOOP',
      config: {},
      folderId: secret,
    })
    const seen = await createAutomation(x.s, x.tokens.editor2!, {
      name: 'ledger',
      kind: 'NOOP',
      config: {},
      folderId: viewOnly,
    })
    const open = await createAutomation(x.s, x.tokens.editor!, {
      name: 'open step',
      kind: 'NOOP',
      config: {},
    })
    const CREATE =
      'mutation($i: AutomationInput!) { createAutomation(input: $i) { __typename ... on Error { message } } }'
    type C = { createAutomation: { __typename: string; message?: string } }
    const chain = (children: string[]) => ({
      name: `chain ${children.length} ${Math.random()}`,
      kind: 'CHAIN',
      config: { children },
    })
    const r1 = await q<C>(CREATE, { i: chain([open, hidden]) }, 'editor')
    expect(r1.data!.createAutomation.__typename).toBe('ValidationError')
    const r2 = await q<C>(CREATE, { i: chain([open, seen]) }, 'editor')
    expect(r2.data!.createAutomation).toMatchObject({
      __typename: 'ForbiddenError',
      message: expect.stringContaining('"ledger"'),
    })
    const r3 = await q<C>(CREATE, { i: chain([open, seen, hidden]) }, 'editor2')
    expect(r3.data!.createAutomation.__typename).toBe('CreateAutomationSuccess')
    const r4 = await q<C>(CREATE, { i: chain([open, hidden]) }, 'admin')
    expect(r4.data!.createAutomation.__typename).toBe('CreateAutomationSuccess')
  })

  it("a child that became forbidden to the chain's run-as user fails the chain, naming it", async () => {
    const folder = await restrictedFolder(x, 'Later restricted', [])
    const step1 = await createAutomation(x.s, x.tokens.editor!, {
      name: 'step one',
      kind: 'NOOP',
      config: {},
    })
    const step2 = await createAutomation(x.s, x.tokens.editor!, {
      name: 'guarded step',
      kind: 'NOOP',
      config: {},
      folderId: folder,
    })
    const chain = await createAutomation(x.s, x.tokens.editor!, {
      name: 'nightly',
      kind: 'CHAIN',
      config: { children: [step1, step2] },
    })
    const ok = await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, chain))
    expect(ok.state).toBe('SUCCEEDED')
    // The admin restricts the folder to someone else: the editor's chain may no longer run that step.
    const g = await x.s.gql<{ grantFolder: { __typename: string } }>(
      `mutation { grantFolder(folderId: "${folder}", userId: "${x.org.users.editor2!.id}", permission: EDIT) { __typename } }`,
      {},
      { token: x.tokens.admin },
    )
    expect(g.data!.grantFolder.__typename).toBe('GrantFolderSuccess')
    const failed = await waitForRun(x.s, x.tokens.editor!, await runAutomation(x.s, x.tokens.editor!, chain))
    expect(failed.state).toBe('FAILED')
    expect(failed.error).toContain('"guarded step"')
    expect(failed.children.map((c) => c.state)).toEqual(['SUCCEEDED', 'SKIPPED'])
    const first = await x.s.gql<{ runAutomation: { __typename: string } }>(
      RUN,
      { id: step2 },
      { token: x.tokens.editor },
    )
    expect(first.data!.runAutomation.__typename).toBe('NotFoundError')
  })
})
