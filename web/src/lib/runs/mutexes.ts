import { RUN_FIELDS } from '$lib/api/fragments'
import { request } from '$lib/api/graphql'
import type { Mutex } from '$lib/api/types'

export async function loadMutexes(fetchFn?: typeof fetch): Promise<Mutex[]> {
  const data = await request<{ mutexes: Mutex[] }>(
    `query Mutexes { mutexes { name holder { ${RUN_FIELDS} } waiting { ${RUN_FIELDS} } automations { id name } } }`,
    {},
    fetchFn,
  )
  return data.mutexes
}
