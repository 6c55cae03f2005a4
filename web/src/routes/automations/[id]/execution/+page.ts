import { listUsers } from '$lib/admin/users'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch }) => ({ users: await listUsers(fetch) })
