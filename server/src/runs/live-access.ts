import { GraphQLError } from 'graphql'
import { authenticate } from '../auth/authenticate'
import type { Viewer } from '../auth/viewer'
import { coerceError } from '../errors'
import type { Context } from '../graphql/context'

/** Same person, same rights: anything else ends the subscription (the client signs in again). */
function sameViewer(a: Viewer, b: Viewer): boolean {
  if (a.type === 'embed') return b.type === 'embed' && a.tokenId === b.tokenId
  return b.type === 'user' && a.userId === b.userId && a.role === b.role && a.orgId === b.orgId
}

/**
 * Keeps a live subscription honest about who is watching: whenever credentials
 * or grants of the viewer's organization change (announced on the event bus by
 * every node: token revoked, user deleted, role or folder grant changed, signed
 * out) and after the bus reconnects, the credential is authenticated again. If it
 * no longer holds, or now means other rights, `lost` ends the stream; otherwise
 * the context's memo of grants is dropped, so the next run delivered is checked
 * against the grants as they are now. Returns the unsubscribe function.
 */
export function watchViewerAccess(ctx: Context, lost: (err: Error) => void): () => void {
  const viewer = ctx.viewer
  if (!viewer) return () => {}
  const { bus, db, log } = ctx.services
  let checking: Promise<void> | undefined
  let again = false
  const check = () => {
    if (checking) {
      again = true
      return
    }
    checking = (async () => {
      do {
        again = false
        try {
          const now = await authenticate(db, ctx.credential)
          if (!now || !sameViewer(viewer, now)) {
            lost(
              new GraphQLError('access changed: sign in again and resubscribe', {
                extensions: { code: 'UNAUTHENTICATED' },
              }),
            )
            return
          }
          ctx.memo.clear()
        } catch (err) {
          // The database is away: keep the stream; the bus reconnect will check again.
          log.warn({ err: coerceError(err) }, 're-checking a subscriber failed')
        }
      } while (again)
    })().finally(() => {
      checking = undefined
    })
  }
  const offAccess = bus.onAccess(viewer.orgId, check)
  const offReconnect = bus.onReconnect(check)
  return () => {
    offAccess()
    offReconnect()
  }
}
