import { listKinds } from '$lib/automations/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => ({ kinds: await listKinds(fetch) })
