import {
  type DocumentNode,
  type ExecutionArgs,
  type FragmentDefinitionNode,
  Kind,
  type SelectionSetNode,
  getOperationAST,
  print,
  visit,
} from 'graphql'
import type { Context } from '../graphql/context'
import { ROW_ONLY_RUN_FIELDS } from './graphql'

/**
 * The share key of a `runUpdated` subscription (see graphql/shared-execution.ts): subscribers
 * with the same key get the same bytes for the same run change. It is made of
 * - the document as printed and the operation name,
 * - the values of the variables the selection reads (not those of runUpdated's own
 *   arguments: they choose which runs arrive, not what a run renders as),
 * - the visibility class: `row` when every field selected renders from the run row alone
 *   (ROW_ONLY_RUN_FIELDS), so any viewer allowed to see the run gets the same result;
 *   otherwise the viewer itself (a user with a role, or an embed token), since fields such
 *   as `automation` or `triggeredBy` answer differently per viewer.
 * Whether a subscriber may see a run at all is decided per subscriber before sharing.
 * Anything else at the root (several fields, fragments, directives) is not shared.
 */
export function runUpdatedShareKey(printed: (d: DocumentNode) => string) {
  return (args: ExecutionArgs): string | undefined => {
    const op = getOperationAST(args.document, args.operationName)
    const root = op?.selectionSet.selections
    if (!op || root?.length !== 1) return undefined
    const field = root[0]!
    if (field.kind !== Kind.FIELD || field.name.value !== 'runUpdated' || field.directives?.length)
      return undefined
    if (!field.selectionSet) return undefined
    const fragments = new Map<string, FragmentDefinitionNode>()
    for (const d of args.document.definitions)
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d)

    const read = new Set<string>()
    const collect = (node: SelectionSetNode | FragmentDefinitionNode) =>
      visit(node, {
        Variable(v) {
          read.add(v.name.value)
        },
      })
    collect(field.selectionSet)
    for (const f of fragments.values()) collect(f)
    const variables = [...read].sort().map((name) => [name, args.variableValues?.[name] ?? null])

    const viewer = (args.contextValue as Context).viewer
    if (!viewer) return undefined
    const visibility = rowOnly(field.selectionSet, fragments)
      ? 'row'
      : viewer.type === 'embed'
        ? `embed:${viewer.tokenId}`
        : `user:${viewer.userId}:${viewer.role}`
    return JSON.stringify([visibility, variables, args.operationName ?? null, printed(args.document)])
  }
}

/** True when the selection on a Run reads only fields of the row (and any field of its attempts). */
function rowOnly(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): boolean {
  return set.selections.every((s) => {
    if (s.kind === Kind.INLINE_FRAGMENT) return rowOnly(s.selectionSet, fragments)
    if (s.kind === Kind.FRAGMENT_SPREAD) {
      const f = fragments.get(s.name.value)
      return f !== undefined && rowOnly(f.selectionSet, fragments)
    }
    return s.name.value === '__typename' || ROW_ONLY_RUN_FIELDS.has(s.name.value)
  })
}

/** print() once per parsed document (the parser cache hands out the same object for the same text). */
export function printOnce(): (d: DocumentNode) => string {
  const printedDocs = new WeakMap<DocumentNode, string>()
  return (d) => {
    let p = printedDocs.get(d)
    if (p === undefined) {
      p = print(d)
      printedDocs.set(d, p)
    }
    return p
  }
}
