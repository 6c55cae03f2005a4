import { error } from '@sveltejs/kit'
import { getRun } from '$lib/runs/queries'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params }) => {
  const run = await getRun(params.id, fetch)
  if (!run) error(404, 'This run does not exist or is not visible to you.')
  return { run }
}
