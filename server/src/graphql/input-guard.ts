import { type ASTNode, type ASTVisitor, GraphQLError, type ValidationContext, visit } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import { BAD_TEXT, badTextPath } from '../http/text'

/** Where a string literal sits in the operation: `createAutomation.input.name`. */
function literalPath(ancestors: readonly (ASTNode | readonly ASTNode[])[]): string {
  const names: string[] = []
  for (const a of ancestors) {
    if (Array.isArray(a)) continue
    const n = a as ASTNode
    if (n.kind === 'Field' || n.kind === 'Argument' || n.kind === 'ObjectField') names.push(n.name.value)
  }
  return names.join('.')
}

/**
 * Refuses, before execution, any variable or string literal the database
 * cannot store (NUL, unpaired surrogates), naming the field: a clear
 * BAD_USER_INPUT instead of an unexpected error from the driver.
 */
export const inputGuard: Plugin = {
  onExecute({ args, setResultAndStopExecution }) {
    const bad = badInput(args.document, args.variableValues)
    if (bad) setResultAndStopExecution({ errors: [bad] })
  },
  onSubscribe({ args, setResultAndStopExecution }) {
    const bad = badInput(args.document, args.variableValues)
    if (bad) setResultAndStopExecution({ errors: [bad] })
  },
}

function badInput(document: ASTNode, variables: unknown): GraphQLError | undefined {
  let path = variables ? badTextPath(variables, '$') : null
  if (!path) {
    visit(document, {
      StringValue(node, _key, parent, _path, ancestors) {
        if (!path && badTextPath(node.value, 'x')) path = literalPath([...ancestors, parent as ASTNode])
      },
    })
  }
  if (!path) return undefined
  return new GraphQLError(`invalid input: ${path}: ${BAD_TEXT}`, {
    extensions: { code: 'BAD_USER_INPUT', field: path },
  })
}

/** With SWITCHYARD_GRAPHIQL=false: `__schema` and `__type` are refused (no introspection in production). */
export function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        context.reportError(
          new GraphQLError('introspection is switched off on this server (SWITCHYARD_GRAPHIQL=false)', {
            nodes: [node],
            extensions: { code: 'INTROSPECTION_DISABLED' },
          }),
        )
      }
    },
  }
}
