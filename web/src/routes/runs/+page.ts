import { RequestError } from '$lib/api/graphql'
import type { Connection, Run, ValidationIssue } from '$lib/api/types'
import { filterArgs, filterFromUrl } from '$lib/runs/filter'
import { automationChoices, listRuns } from '$lib/runs/queries'
import type { PageLoad } from './$types'

const NO_RUNS: Connection<Run> = { edges: [], pageInfo: { hasNextPage: false, endCursor: null } }

export const load: PageLoad = async ({ fetch, url }) => {
  const filter = filterFromUrl(url.searchParams)
  const { args, issues } = filterArgs(filter)
  // A filter the server refuses (a range that ends before it starts) shows its issues
  // beside the fields, with no runs, rather than an error page.
  const runs = async (): Promise<{ runs: Connection<Run>; issues: ValidationIssue[] }> => {
    if (issues.length > 0) return { runs: NO_RUNS, issues }
    try {
      return { runs: await listRuns({ first: 50, ...args }, fetch), issues: [] }
    } catch (err) {
      if (err instanceof RequestError && err.issues.length > 0) return { runs: NO_RUNS, issues: err.issues }
      throw err
    }
  }
  const [page, automations] = await Promise.all([runs(), automationChoices(fetch)])
  return { ...page, filter, args, automations }
}
