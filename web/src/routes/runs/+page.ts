import { RUN_STATES, type RunState } from '$lib/api/types'
import { listRuns } from '$lib/runs/queries'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, url }) => {
  const states = (url.searchParams.get('state') ?? '')
    .split(',')
    .filter((s): s is RunState => (RUN_STATES as readonly string[]).includes(s))
  const runs = await listRuns({ first: 50, ...(states.length ? { states } : {}) }, fetch)
  return { runs, states }
}
