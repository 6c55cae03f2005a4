import type { Role } from '../domain'

/** Who is asking: a signed-in user (session, API token) or an embed token. */
export type Viewer = UserViewer | EmbedViewer

export interface UserViewer {
  readonly type: 'user'
  readonly userId: string
  readonly orgId: string
  readonly role: Role
  readonly email: string
  /** How the request authenticated; sessions can log out, API tokens cannot. */
  readonly via: 'session' | 'api-token'
  readonly sessionHash?: string
}

/** An embed token acts for a run button: it may run only its automations and read only its own runs. */
export interface EmbedViewer {
  readonly type: 'embed'
  readonly tokenId: string
  readonly orgId: string
  readonly automationIds: readonly string[]
  readonly allowedOrigins: readonly string[]
}
