import { defineKind } from '../kind'
import { WorkflowConfig } from './config'
import { workflowOrchestrator } from './orchestrator'
import { checkWorkflow } from './validate'

/**
 * A DAG of steps joined by edges with conditions (SUCCESS, FAILURE, COMPLETION) and
 * Airflow's trigger rules. Like CHAIN, the run only gives up its worker slot; its
 * orchestrator decides each step as its parents settle (see orchestrator.ts).
 */
export const workflow = defineKind({
  kind: 'WORKFLOW',
  description: 'Runs steps as a graph: edges on success, failure or completion, joins with trigger rules.',
  configSchema: WorkflowConfig,
  async execute() {
    return { orchestrate: true }
  },
  orchestrator: workflowOrchestrator,
  checkSave: checkWorkflow,
})
