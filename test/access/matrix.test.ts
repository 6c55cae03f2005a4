import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { schema } from '../../server/src/graphql/schema'
import { createAutomation } from '../helpers/automations'
import { type Setup, setup } from './helpers'

/**
 * The role × operation matrix: who gets past the role gate of every mutation.
 * `anyone` includes signed-out callers, `authenticated` embed tokens too,
 * `user` every signed-in user (VIEWER up), then EDITOR and ADMIN. Finer rules
 * (folder grants, run-as, own objects) have their own tests; this one keeps
 * every mutation, including the next one added, behind the gate it is meant to have.
 */
const MATRIX: Record<string, 'anyone' | 'authenticated' | 'user' | 'editor' | 'admin'> = {
  acceptInvite: 'anyone',
  login: 'anyone',
  logout: 'user',
  runAutomation: 'authenticated',
  cancelRun: 'authenticated',
  retryRun: 'authenticated',
  createApiToken: 'user',
  revokeApiToken: 'user',
  setVariable: 'user',
  deleteVariable: 'user',
  testDatasource: 'user',
  updateDatasource: 'user',
  deleteDatasource: 'user',
  grantDatasource: 'user',
  revokeDatasourceGrant: 'user',
  createAutomation: 'editor',
  updateAutomation: 'editor',
  deleteAutomation: 'editor',
  restoreAutomationVersion: 'editor',
  createTrigger: 'editor',
  updateTrigger: 'editor',
  deleteTrigger: 'editor',
  rotateWebhookToken: 'editor',
  setAutoTriggers: 'editor',
  createEmbedToken: 'editor',
  revokeEmbedToken: 'editor',
  deleteStorage: 'editor',
  createReporter: 'editor',
  updateReporter: 'editor',
  deleteReporter: 'editor',
  testReporter: 'editor',
  createPostgresDatasource: 'admin',
  createFolder: 'admin',
  deleteFolder: 'admin',
  grantFolder: 'admin',
  revokeFolderGrant: 'admin',
  createUser: 'admin',
  inviteUser: 'admin',
  setUserRole: 'admin',
  deleteUser: 'admin',
  // Past the role gate an editor still needs an admin's manageSecrets grant (tested below).
  setSecret: 'editor',
  deleteSecret: 'editor',
  setSecretManager: 'admin',
  createChannelConnection: 'admin',
  updateChannelConnection: 'admin',
  deleteChannelConnection: 'admin',
  testChannelConnection: 'admin',
}
const PRINCIPALS = ['anonymous', 'embed', 'viewer', 'editor', 'admin'] as const
const FIRST_ALLOWED: Record<(typeof MATRIX)[string], number> = {
  anyone: 0,
  authenticated: 1,
  user: 2,
  editor: 3,
  admin: 4,
}

const tag = (t: unknown) => Object.prototype.toString.call(t)
// Shapes of the graphql-js types read here (the test package does not depend on graphql itself).
type EnumType = { getValues(): { value: unknown }[] }
type InputType = { getFields(): Record<string, { name: string; type: unknown }> }

/** A value of a GraphQL input type that names nothing existing: a role gate is the only thing it can pass. */
function placeholder(typeName: string): unknown {
  const required = typeName.endsWith('!')
  const inner = required ? typeName.slice(0, -1) : typeName
  if (inner.startsWith('[')) return [placeholder(inner.slice(1, -1))]
  switch (inner) {
    case 'ID':
      return randomUUID()
    case 'String':
      return 'matrix_probe'
    case 'Int':
      return 1
    case 'Float':
      return 1
    case 'Boolean':
      return false
    case 'JSON':
      return {}
    case 'DateTime':
      return new Date(Date.now() + 86_400_000).toISOString()
  }
  const type = schema.getType(inner)
  if (tag(type) === '[object GraphQLEnumType]') return (type as unknown as EnumType).getValues()[0]!.value
  const fields = Object.values((type as unknown as InputType).getFields())
  return Object.fromEntries(
    fields.filter((f) => String(f.type).endsWith('!')).map((f) => [f.name, placeholder(String(f.type))]),
  )
}

function operation(name: string) {
  const field = schema.getMutationType()!.getFields()[name]!
  const args = field.args.filter((a) => String(a.type).endsWith('!'))
  const decl = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')
  const pass = args.map((a) => `${a.name}: $${a.name}`).join(', ')
  const named = schema.getType(String(field.type).replace(/[[\]!]/g, ''))
  const selection =
    tag(named) === '[object GraphQLScalarType]' ? '' : '{ __typename ... on Error { message } }'
  const query = `mutation${decl ? `(${decl})` : ''} { ${name}${pass ? `(${pass})` : ''} ${selection} }`
  return { query, variables: Object.fromEntries(args.map((a) => [a.name, placeholder(String(a.type))])) }
}

let x: Setup
const credentials: Record<string, { token?: string; headers?: Record<string, string> }> = {}
beforeAll(async () => {
  x = await setup({
    admin: 'ADMIN',
    editor: 'EDITOR',
    viewer: 'VIEWER',
    keeper: 'EDITOR',
    demoted: 'EDITOR',
  })
  const id = await createAutomation(x.s, x.tokens.editor!, {
    name: 'button',
    kind: 'NOOP',
    config: {},
    allowAllUsersToRun: true,
  })
  const e = await x.s.gql<{ createEmbedToken: { token: string } }>(
    'mutation($a: [ID!]!) { createEmbedToken(name: "m", automationIds: $a, allowedOrigins: ["*"]) { ... on CreateEmbedTokenPayload { token } } }',
    { a: [id] },
    { token: x.tokens.editor },
  )
  credentials.anonymous = {}
  credentials.embed = { token: e.data!.createEmbedToken.token, headers: { origin: 'https://bi.example' } }
  // API tokens, not sessions: the logout probe must not sign the matrix's own users out.
  for (const role of ['viewer', 'editor', 'admin']) {
    const t = await x.s.gql<{ createApiToken: { token: string } }>(
      'mutation { createApiToken(name: "matrix") { ... on CreateApiTokenPayload { token } } }',
      {},
      { token: x.tokens[role] },
    )
    credentials[role] = { token: t.data!.createApiToken.token }
  }
})
afterAll(() => x?.s.stop())

it('names every mutation of the schema', () => {
  const names = Object.keys(schema.getMutationType()!.getFields()).sort()
  expect(names).toEqual(Object.keys(MATRIX).sort())
})

describe.each(Object.entries(MATRIX))('%s', (name, gate) => {
  it(`lets ${gate} through the role gate, and nobody below`, async () => {
    const { query, variables } = operation(name)
    const outcomes: Record<string, string> = {}
    for (const who of PRINCIPALS) {
      const r = await x.s.gql<Record<string, { __typename?: string; message?: string } | boolean>>(
        query,
        variables,
        credentials[who],
      )
      const result = r.data?.[name]
      const error = r.errors?.[0]
      const refusedByRole =
        (typeof result === 'object' &&
          result?.__typename === 'ForbiddenError' &&
          /sign in/.test(result.message ?? '')) ||
        (error?.extensions?.code === 'FORBIDDEN' && /sign in/.test(error.message))
      expect(error?.extensions?.code, `${who}: ${JSON.stringify(r)}`).not.toBe('INTERNAL_SERVER_ERROR')
      // A credential that stopped working must not pass for "got through the gate".
      outcomes[who] =
        error?.extensions?.code === 'UNAUTHENTICATED'
          ? 'unauthenticated'
          : refusedByRole
            ? 'refused'
            : 'passed'
    }
    const expected = Object.fromEntries(
      PRINCIPALS.map((p, i) => [p, i >= FIRST_ALLOWED[gate] ? 'passed' : 'refused']),
    )
    expect(JSON.stringify(outcomes)).toBe(JSON.stringify(expected))
  })
})

describe('managing secrets: admins, and editors an admin granted manageSecrets', () => {
  const SET = `mutation($n: String!) { setSecret(name: $n, value: "value-of-a-secret") {
    __typename ... on Error { message } } }`
  const DELETE = `mutation($n: String!) { deleteSecret(name: $n) { __typename ... on Error { message } } }`
  const GRANT = `mutation($u: ID!, $a: Boolean!) { setSecretManager(userId: $u, allowed: $a) {
    __typename ... on SetSecretManagerSuccess { user { manageSecrets } } ... on Error { message } } }`
  const set = async (who: string, name: string) =>
    (await x.s.gql<{ setSecret: { __typename: string } }>(SET, { n: name }, { token: x.tokens[who] })).data!
      .setSecret.__typename
  const grant = async (who: string, allowed: boolean) =>
    (
      await x.s.gql<{ setSecretManager: { __typename: string; user?: { manageSecrets: boolean } } }>(
        GRANT,
        { u: x.org.users[who]!.id, a: allowed },
        { token: x.tokens.admin },
      )
    ).data!.setSecretManager

  it('ADMIN yes, EDITOR without the grant no, EDITOR with it yes, VIEWER never', async () => {
    expect(await set('admin', 'BY_ADMIN')).toBe('SetSecretSuccess')
    expect(await set('keeper', 'BY_KEEPER')).toBe('ForbiddenError')
    expect(await set('viewer', 'BY_VIEWER')).toBe('ForbiddenError')
    expect(await grant('keeper', true)).toEqual({
      __typename: 'SetSecretManagerSuccess',
      user: { manageSecrets: true },
    })
    expect(await set('keeper', 'BY_KEEPER')).toBe('SetSecretSuccess')
    // Rotating one an admin created, and deleting it: the grant covers both.
    expect(await set('keeper', 'BY_ADMIN')).toBe('SetSecretSuccess')
    const del = await x.s.gql<{ deleteSecret: { __typename: string } }>(
      DELETE,
      { n: 'BY_KEEPER' },
      { token: x.tokens.keeper },
    )
    expect(del.data!.deleteSecret.__typename).toBe('DeleteSecretSuccess')
    // The other editor was granted nothing.
    expect(await set('editor', 'BY_EDITOR')).toBe('ForbiddenError')
    // Withdrawn, it stops at once.
    await grant('keeper', false)
    expect(await set('keeper', 'BY_KEEPER_AGAIN')).toBe('ForbiddenError')
    const names = await x.s.db.query<{ name: string }>(
      'select name from secrets where org_id = $1 order by name',
      [x.org.id],
    )
    expect(names.map((n) => n.name)).toEqual(['BY_ADMIN'])
  })

  it('a VIEWER never manages secrets, even holding the grant', async () => {
    expect(await grant('viewer', true)).toMatchObject({ __typename: 'ValidationError' })
    // An editor granted it, then made a viewer, keeps the flag but not the right.
    await grant('demoted', true)
    expect(await set('demoted', 'BY_DEMOTED')).toBe('SetSecretSuccess')
    await x.s.gql(
      'mutation($u: ID!) { setUserRole(id: $u, role: VIEWER) { __typename } }',
      {
        u: x.org.users.demoted!.id,
      },
      { token: x.tokens.admin },
    )
    const demoted = await x.s.login(x.org.users.demoted!.email, x.org.users.demoted!.password)
    const r = await x.s.gql<{ setSecret: { __typename: string } }>(
      SET,
      { n: 'BY_DEMOTED' },
      { token: demoted },
    )
    expect(r.errors?.[0]?.extensions?.code ?? r.data?.setSecret.__typename).toMatch(
      /FORBIDDEN|ForbiddenError/,
    )
    const [flag] = await x.s.db.query<{ manage_secrets: boolean }>(
      'select manage_secrets from users where id = $1',
      [x.org.users.demoted!.id],
    )
    expect(flag!.manage_secrets).toBe(true)
    const shown = await x.s.gql<{ users: { id: string; manageSecrets: boolean }[] }>(
      '{ users { id manageSecrets } }',
      {},
      { token: x.tokens.admin },
    )
    expect(shown.data!.users.find((u) => u.id === x.org.users.demoted!.id)!.manageSecrets).toBe(false)
  })

  it('only an admin grants it', async () => {
    for (const who of ['editor', 'viewer']) {
      const r = await x.s.gql<{ setSecretManager: { __typename: string; message: string } }>(
        GRANT,
        { u: x.org.users[who]!.id, a: true },
        { token: x.tokens[who] },
      )
      expect(r.data?.setSecretManager.__typename ?? r.errors?.[0]?.extensions?.code).toMatch(
        /ForbiddenError|FORBIDDEN/,
      )
    }
  })
})
