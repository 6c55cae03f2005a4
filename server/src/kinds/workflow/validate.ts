import { queryDatasourceProblem } from '../../data/datasources/access'
import { type ExpressionError, referencedNames } from '../../data/variables/expression'
import { ValidationError } from '../../errors'
import { loadOrgAutomations, pathToSelf } from '../contains'
import type { SaveCheck } from '../kind'
import type { WorkflowConfig } from './config'
import { NEEDS_A_PARENT } from './rules'
import { templateReferences } from './scope'

interface Issue {
  path: string
  message: string
}

/** Steps in a cycle, if any (Kahn's algorithm leaves them with parents never settled). */
function cycleSteps(config: WorkflowConfig): string[] {
  const indegree = new Map(config.steps.map((s) => [s.name, 0]))
  for (const e of config.edges) indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1)
  const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n)
  let seen = 0
  while (ready.length > 0) {
    const n = ready.pop()!
    seen++
    for (const e of config.edges.filter((x) => x.from === n)) {
      const d = indegree.get(e.to)! - 1
      indegree.set(e.to, d)
      if (d === 0) ready.push(e.to)
    }
  }
  return seen === config.steps.length ? [] : [...indegree].filter(([, d]) => d > 0).map(([n]) => n)
}

/**
 * The steps whose results a step may read: its ancestors. An ALWAYS step starts without
 * waiting for its parents, so it may read only what comes before them... which it cannot
 * rely on either: it reads only the workflow's parameters and variables.
 */
function ancestors(config: WorkflowConfig, name: string): Set<string> {
  const out = new Set<string>()
  const step = config.steps.find((s) => s.name === name)
  if (step?.rule === 'ALWAYS') return out
  const visit = (n: string) => {
    for (const e of config.edges) {
      if (e.to !== n || out.has(e.from)) continue
      out.add(e.from)
      visit(e.from)
    }
  }
  visit(name)
  return out
}

/** A name a step reads: refused when nothing before the step provides it. */
function checkName(
  config: WorkflowConfig,
  stepName: string,
  name: string,
  earlier: Set<string>,
  forEach: boolean,
): string | null {
  if (name === 'item' || name === 'itemIndex') return forEach ? null : `${name} exists only in a forEach step`
  const outcome = /^stepOutcome_(.+)$/.exec(name)
  const [head, second] = name.split('.')
  const stepRef = outcome ? outcome[1]! : head === 'steps' ? second : undefined
  if (stepRef !== undefined) {
    if (!config.steps.some((s) => s.name === stepRef)) return `${name}: there is no step "${stepRef}"`
    if (!earlier.has(stepRef)) return `${name}: step "${stepRef}" does not come before "${stepName}"`
    return null
  }
  if (head === 'variables') {
    const declared = config.variables.some((v) => v.name === second)
    const saved = config.steps.some((s) => earlier.has(s.name) && s.saveAs?.variable === second)
    return declared || saved
      ? null
      : `${name}: no variable "${second}" is declared or saved by an earlier step`
  }
  if (head === 'params') return null
  return `${name}: unknown name (use params., variables., steps.<name>.outputs. or stepOutcome_<name>)`
}

/** Everything the schema cannot say about a workflow: graph shape, references, children. */
export async function checkWorkflow(
  config: WorkflowConfig,
  { db, orgId, automationId, saver }: SaveCheck,
): Promise<void> {
  const issues: Issue[] = []
  const names = new Map<string, number>()
  config.steps.forEach((s, i) => {
    if (names.has(s.name))
      issues.push({ path: `config.steps.${i}.name`, message: `step "${s.name}" is defined twice` })
    names.set(s.name, i)
  })
  const edgeKeys = new Set<string>()
  config.edges.forEach((e, i) => {
    if (!names.has(e.from)) issues.push({ path: `config.edges.${i}.from`, message: `no step "${e.from}"` })
    if (!names.has(e.to)) issues.push({ path: `config.edges.${i}.to`, message: `no step "${e.to}"` })
    if (e.from === e.to)
      issues.push({ path: `config.edges.${i}`, message: `step "${e.from}" cannot follow itself` })
    const key = `${e.from}→${e.to}`
    if (edgeKeys.has(key))
      issues.push({ path: `config.edges.${i}`, message: `a second edge ${e.from} → ${e.to}` })
    edgeKeys.add(key)
  })
  if (issues.length === 0) {
    const cycle = cycleSteps(config)
    if (cycle.length > 0) {
      issues.push({
        path: 'config.edges',
        message: `steps ${cycle.join(', ')} form a cycle, so they are unreachable from any root`,
      })
    }
  }
  if (issues.length > 0) throw invalid(issues)

  const byId = await loadOrgAutomations(db, orgId)
  for (const [i, s] of config.steps.entries()) {
    const at = `config.steps.${i}`
    const incoming = config.edges.filter((e) => e.to === s.name)
    if (incoming.length === 0 && NEEDS_A_PARENT.includes(s.rule)) {
      issues.push({
        path: `${at}.rule`,
        message: `${s.rule} can never fire on a step without incoming edges`,
      })
    }
    const dead = incoming.filter(
      (e) => e.condition === 'FAILURE' && config.steps[names.get(e.from)!]!.ignoreFailure,
    )
    if (incoming.length > 0 && dead.length === incoming.length) {
      issues.push({
        path: at,
        message: `unreachable: it follows only ON FAILURE edges from steps that ignore failure (${dead.map((e) => e.from).join(', ')})`,
      })
    }
    const target = s.automationId ? byId.get(s.automationId) : undefined
    if (s.automationId && !target) {
      issues.push({ path: `${at}.automationId`, message: 'no such automation in this organization' })
    }
    const unusable = s.sql && (await queryDatasourceProblem(db, orgId, saver, s.sql.datasource))
    if (unusable) issues.push({ path: `${at}.sql.datasource`, message: `step "${s.name}": ${unusable}` })
    if (s.saveAs && !s.sql && target?.kind !== 'SQL') {
      issues.push({
        path: `${at}.saveAs`,
        message: 'only an SQL step (inline or of kind SQL) has rows to save',
      })
    }
    const earlier = ancestors(config, s.name)
    const reads: { path: string; names: string[] }[] = []
    if (s.condition) {
      try {
        reads.push({ path: `${at}.condition`, names: referencedNames(s.condition) })
      } catch (err) {
        issues.push({ path: `${at}.condition`, message: (err as ExpressionError).message })
      }
    }
    for (const [k, t] of Object.entries(s.parameters)) {
      reads.push({ path: `${at}.parameters.${k}`, names: templateReferences(t) })
    }
    if (s.forEach) {
      reads.push({ path: `${at}.forEach.items`, names: [s.forEach.items.replace(/^\$\{(.*)\}$/, '$1')] })
    }
    for (const r of reads) {
      for (const n of r.names) {
        const forEachScope = Boolean(s.forEach) && !r.path.endsWith('forEach.items')
        const problem = checkName(config, s.name, n, earlier, forEachScope)
        if (problem) issues.push({ path: r.path, message: problem })
      }
    }
  }
  if (automationId) {
    const children = config.steps.flatMap((s) => (s.automationId ? [s.automationId] : []))
    const cycle = pathToSelf(automationId, children, byId)
    if (cycle)
      issues.push({
        path: 'config.steps',
        message: `the workflow would contain itself through ${cycle.join(' → ')}`,
      })
  }
  if (issues.length > 0) throw invalid(issues)
}

function invalid(issues: Issue[]): ValidationError {
  const first = issues[0]!
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  return new ValidationError(`invalid config: ${first.path}: ${first.message}${more}`, issues)
}
