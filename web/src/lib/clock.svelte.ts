/** A shared clock that ticks once a second while something reads it, for "x s ago" labels. */
let current = $state(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

export function now(): number {
  return current
}

/** Call from a component's $effect; returns the cleanup. */
export function useClock(): () => void {
  users++
  if (!timer) timer = setInterval(() => (current = Date.now()), 1_000)
  return () => {
    users--
    if (users === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  }
}
