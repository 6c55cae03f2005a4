import type { Role, User } from './api/types'

const RANK: Record<Role, number> = { VIEWER: 0, EDITOR: 1, ADMIN: 2 }

/** True when the signed-in user's role is `role` or higher (the server checks again). */
export function hasRole(me: User | null | undefined, role: Role): boolean {
  return me ? RANK[me.role] >= RANK[role] : false
}
