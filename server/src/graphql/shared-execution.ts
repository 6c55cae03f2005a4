import { createRequire } from 'node:module'
import type { ExecutionArgs, ExecutionResult } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import { type MaybePromise, settle } from '../maybe-promise'
import type { Context } from './context'

// The executor of the graphql build the schema was made with. graphql ships a CommonJS and an
// ES build without an exports map: Node loads the CommonJS one for every package (Pothos,
// yoga), a bundler-style resolver (vitest) may hand our own modules the other, and execute()
// refuses a schema from the other build. require() names the one Node loads everywhere.
const { createSourceEventStream, execute, getOperationAST } = createRequire(import.meta.url)(
  'graphql',
) as typeof import('graphql')

/**
 * What makes two subscribers' executions of one event identical: the selection (document,
 * operation, the variables it reads) and who may tell apart what it returns (the
 * visibility class). Undefined: the subscription is executed for its subscriber alone.
 */
export type ShareKeyOf = (args: ExecutionArgs) => string | undefined

/** A result, or its promise while the execution waits for a resolver (see MaybePromise). */
type Known = MaybePromise<ExecutionResult>

/** How many executions the fan-out ran and how many deliveries reused one (tests, metrics). */
export interface SharedExecutionStats {
  executions: number
  reused: number
  /** Deliveries sent as the bytes serialized once for their execution. */
  sentSerialized: number
}

/**
 * Where a subscription's pre-serialized results go, bypassing the per-subscriber result stream
 * (envelop's wrapper, graphql-ws's loop): the WebSocket layer frames them with the operation's id.
 */
export interface LiveSink {
  /** Sends one result's JSON; false when the caller must wait for `drained` before the next. */
  deliver(json: string): boolean
  drained(): Promise<void>
}

/**
 * Live subscriptions executed once per event for all their subscribers: each subscriber
 * keeps its own source stream (its subscribe resolver, its visibility check against
 * current grants, its coalescing when it lags), but the GraphQL execution of an event and
 * its serialization are shared by every subscriber with the same share key that was handed
 * the same event object. Nothing is kept by time: a shared result lives as long as the
 * event it was executed for is referenced by some subscriber's queue.
 */
export interface SharedExecution {
  /** The envelop plugin that routes shareable subscriptions through the shared executor. */
  readonly plugin: Plugin
  /**
   * Gives the operation executed with `contextValue` a sink: its clean shared results are
   * delivered there as the bytes serialized once, and only the others (errors, results of
   * unshared executions) travel its result stream. Without one (subscriptions over HTTP) every
   * result travels the stream. So plugins' per-result hooks (onSubscribeResult) see only what
   * travels the stream: error masking still sees every result with errors.
   */
  attach(contextValue: object, sink: LiveSink): void
  readonly stats: SharedExecutionStats
}

export function createSharedExecution(shareKeyOf: ShareKeyOf): SharedExecution {
  const stats: SharedExecutionStats = { executions: 0, reused: 0, sentSerialized: 0 }
  // event payload (one object per event, see RunReads) → share key → its execution, replaced
  // by the result itself once known: the subscribers of one event all resume in the same
  // wave of microtasks, so a result known at once (every resolver synchronous, as for a row)
  // must be handed out as such, not as a promise each of them awaits.
  const executions = new WeakMap<object, Map<string, { value: Known }>>()
  const json = new WeakMap<object, string>()
  const sinks = new WeakMap<object, LiveSink>()

  // A result with errors is masked per subscriber (a new object), so only clean ones are sent as is.
  const serialize = (r: ExecutionResult) => {
    if (!r.errors) json.set(r, JSON.stringify(r))
    return r
  }
  const executeShared = (args: ExecutionArgs, key: string, payload: unknown): Known => {
    // Payloads that are not objects cannot be told apart per event: execute them alone.
    if (typeof payload !== 'object' || payload === null)
      return Promise.resolve(execute({ ...args, rootValue: payload }))
    let byKey = executions.get(payload)
    if (!byKey) {
      byKey = new Map()
      executions.set(payload, byKey)
    }
    const hit = byKey.get(key)
    if (hit) {
      stats.reused++
      return hit.value
    }
    stats.executions++
    // What graphql-js's subscribe does per event, once: execute with the event as the root value.
    const r = execute({ ...args, rootValue: payload })
    if (typeof (r as Partial<PromiseLike<unknown>>).then !== 'function') {
      byKey.set(key, { value: serialize(r as ExecutionResult) })
      return r as ExecutionResult
    }
    const entry: { value: Known } = { value: Promise.resolve(r).then(serialize) }
    settle(entry, () => {})
    byKey.set(key, entry)
    return entry.value
  }

  const subscribeShared =
    (key: string) =>
    async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
      const source = await createSourceEventStream(args)
      if (!(Symbol.asyncIterator in source)) return source as ExecutionResult
      const events = source as AsyncIterableIterator<unknown>
      // Not a generator: return() must reach the source at once, even while next() waits for an
      // event; an event that arrives after it is not executed.
      let closed = false
      const close = () => {
        closed = true
        // Not awaited: a source generator waiting for its next event finishes only then.
        Promise.resolve(events.return?.()).catch(() => {})
      }
      const sink = sinks.get(args.contextValue as object)
      const results: AsyncIterableIterator<ExecutionResult> = {
        async next() {
          // Shared results go to the sink in this loop, in order: the stream is handed only
          // what the sink cannot take, and the loop waits until it is consumed.
          for (;;) {
            const r = closed ? undefined : await events.next()
            if (!r || r.done || closed) return { done: true, value: undefined }
            const known = executeShared(args, key, r.value)
            const result = known instanceof Promise ? await known : known
            if (closed) return { done: true, value: undefined }
            const bytes = sink ? json.get(result) : undefined
            if (!sink || bytes === undefined) return { done: false, value: result }
            stats.sentSerialized++
            if (!sink.deliver(bytes)) await sink.drained()
          }
        },
        async return() {
          close()
          return { done: true, value: undefined }
        },
        async throw(err: unknown) {
          close()
          throw err
        },
        [Symbol.asyncIterator]() {
          return this
        },
      }
      return results
    }

  const plugin: Plugin<Context> = {
    onSubscribe({ args, setSubscribeFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'subscription') return
      const key = shareKeyOf(args)
      if (key !== undefined) setSubscribeFn(subscribeShared(key) as never)
    },
  }
  return {
    plugin: plugin as Plugin,
    attach(contextValue, sink) {
      sinks.set(contextValue, sink)
    },
    stats,
  }
}
