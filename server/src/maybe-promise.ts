/**
 * A value, or its promise while it is worked out. The live fan-out hands these out: the
 * subscribers of one event all resume in the same wave of microtasks, so a value already
 * known is handed out as such, not as a promise each of them awaits.
 */
export type MaybePromise<T> = T | Promise<T>

/** fn applied to the value: at once when it is known, after it settles when not. */
export function mapMaybe<T, R>(value: MaybePromise<T>, fn: (v: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}

/** Replaces `entry.value`, while a promise, by what it resolves to; `failed` runs if it rejects. */
export function settle<T>(entry: { value: MaybePromise<T> }, failed: () => void): void {
  if (entry.value instanceof Promise)
    entry.value.then((v) => {
      entry.value = v
    }, failed)
}
