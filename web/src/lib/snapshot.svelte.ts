/**
 * A plain deep copy of (possibly reactive) state, typed as its input. `$state.snapshot`'s own
 * type recurses through the `Json` type until TypeScript gives up.
 */
export function snapshot<T>(value: T): T {
  return $state.snapshot(value) as unknown as T
}
