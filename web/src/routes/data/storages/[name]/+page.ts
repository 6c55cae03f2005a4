import { error } from '@sveltejs/kit'
import { STORAGE_PAGE_SIZE, getStorage, storageRows } from '$lib/data/api'
import type { PageLoad } from './$types'

export const load: PageLoad = async ({ fetch, params, url }) => {
  const offset = Math.max(0, Number(url.searchParams.get('offset')) || 0)
  const sort = url.searchParams.get('sort')
  const orderBy = sort ? [{ column: sort.replace(/^-/, ''), descending: sort.startsWith('-') }] : []
  const [storage, rows] = await Promise.all([
    getStorage(params.name, fetch),
    storageRows({ name: params.name, offset, limit: STORAGE_PAGE_SIZE, orderBy }, fetch),
  ])
  if (!storage) error(404, 'This storage does not exist in your warehouse.')
  return { storage, rows, offset, sort }
}
