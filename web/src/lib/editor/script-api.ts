/**
 * What a SCRIPT sees (README › Concepts): the one list behind the editor's completion
 * and the hint under the code field, so the two never disagree.
 */
export const SCRIPT_API = [
  { label: 'params', type: 'variable', detail: 'object', info: "The run's parameters, by name" },
  {
    label: 'variables',
    type: 'variable',
    detail: 'object',
    info: 'Organization and automation variables; variables.secret.NAME',
  },
  {
    label: 'triggered_by_user',
    type: 'variable',
    detail: 'string | null',
    info: 'Email of who started the run (null for a schedule)',
  },
  {
    label: 'run',
    type: 'variable',
    detail: '{ id, automationId, attempt, triggerSource }',
    info: 'This run',
  },
  { label: 'log', type: 'function', detail: '(...values)', info: "A line in the run's log" },
  { label: 'setOutput', type: 'function', detail: '(key, value)', info: 'One output of the run' },
  { label: 'fail', type: 'function', detail: '(message)', info: 'Ends the run as FAILED with this message' },
] as const
