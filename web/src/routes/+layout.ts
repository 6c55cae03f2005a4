import { redirect } from '@sveltejs/kit'
import { UnauthenticatedError, request } from '$lib/api/graphql'
import type { Folder, User } from '$lib/api/types'
import type { LayoutLoad } from './$types'

// A client-rendered app: the server only serves the shell and the API.
export const ssr = false

export const load: LayoutLoad = async ({ fetch, url, depends, untrack }) => {
  depends('app:session')
  const path = untrack(() => url.pathname)
  let me: User | null = null
  let folders: Folder[] = []
  try {
    const data = await request<{ me: User | null }>(
      'query Me { me { id email name role manageSecrets } }',
      {},
      fetch,
    )
    me = data.me
    if (me)
      folders = (await request<{ folders: Folder[] }>('query Folders { folders { id name } }', {}, fetch))
        .folders
  } catch (err) {
    if (!(err instanceof UnauthenticatedError)) throw err
  }
  // The sign-in page and invitation links are the only pages for people not signed in.
  if (!me && path !== '/login' && !path.startsWith('/invite/')) {
    const next = untrack(() => url.pathname + url.search)
    redirect(307, `/login?next=${encodeURIComponent(next)}`)
  }
  return { me, folders }
}
