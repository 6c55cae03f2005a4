import { loadMutexes } from '$lib/runs/mutexes'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => ({ mutexes: await loadMutexes(fetch) })
