import type { Context } from '../graphql/context'
import { type FolderAccess, loadFolderAccess } from './permissions'
import type { UserViewer } from './viewer'

/** The viewer's folder access, loaded once per request. */
export function folderAccess(ctx: Context): Promise<FolderAccess> {
  const key = 'folderAccess'
  let p = ctx.memo.get(key) as Promise<FolderAccess> | undefined
  if (!p) {
    p = loadFolderAccess(ctx.services.db, ctx.viewer as UserViewer)
    ctx.memo.set(key, p)
  }
  return p
}
