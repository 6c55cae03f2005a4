import { GraphQLError } from 'graphql'
import { z } from 'zod'
import { ValidationError } from '../errors'
import { parseInput } from '../validation'

/** How metric and check history is paged: newest first, `before` an id from the previous page. */
const HistoryPage = z.object({
  // Clamped rather than refused, as it always was: a dashboard asking for more gets the most there is.
  first: z
    .number()
    .int()
    .nullish()
    .transform((n) => Math.min(Math.max(n ?? 50, 1), 1000)),
  // An int8 id as text: checked here so a bad cursor never reaches SQL as a cast error.
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/, 'must be the id of a history entry')
    .nullish()
    .transform((v) => v ?? null),
})
export type HistoryPage = z.output<typeof HistoryPage>

/**
 * Validates a history field's arguments. A list field has no typed error
 * result, so a bad cursor is a GraphQL error the client sees (not masked).
 */
export function historyPage(args: { first?: number | null; before?: string | number | null }): HistoryPage {
  try {
    return parseInput(
      HistoryPage,
      { first: args.first, before: args.before == null ? null : String(args.before) },
      'history page',
    )
  } catch (err) {
    if (err instanceof ValidationError)
      throw new GraphQLError(err.message, { extensions: { code: 'BAD_USER_INPUT' } })
    throw err
  }
}
