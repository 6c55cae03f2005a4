import { listQuality } from '$lib/data/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => listQuality(50, fetch)
