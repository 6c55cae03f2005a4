import {
  ForbiddenError,
  MutexBusyError,
  NotFoundError,
  RunAsForbiddenError,
  ValidationError,
} from '../errors'
import { builder } from './builder'

/** Every expected failure implements this, so clients can always ask `... on Error { message }`. */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({ message: t.exposeString('message') }),
})

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object does not exist or is not visible to you',
  interfaces: [ErrorInterface],
})

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'You may see this object but not do this with it',
  interfaces: [ErrorInterface],
})

const Issue = builder.objectRef<{ path: string; message: string }>('ValidationIssue').implement({
  fields: (t) => ({ path: t.exposeString('path'), message: t.exposeString('message') }),
})

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; `issues` names each bad field and why',
  interfaces: [ErrorInterface],
  fields: (t) => ({ issues: t.field({ type: [Issue], resolve: (e) => e.issues }) }),
})

builder.objectType(MutexBusyError, {
  name: 'MutexBusyError',
  description: 'The mutex was busy and its policy is SKIP; the run was recorded as SKIPPED',
  interfaces: [ErrorInterface],
  fields: (t) => ({ mutex: t.exposeString('mutex'), runId: t.exposeID('runId') }),
})

builder.objectType(RunAsForbiddenError, {
  name: 'RunAsForbiddenError',
  description:
    'The automation runs as another user; only an admin or that user may save it (or set runAsUserId to yourself)',
  interfaces: [ErrorInterface],
  fields: (t) => ({ runAsUserId: t.exposeID('runAsUserId', { nullable: true }) }),
})

/** The error types most mutations can return. */
export const COMMON_ERRORS = [NotFoundError, ForbiddenError, ValidationError]
