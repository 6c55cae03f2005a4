/** Why a run was stopped. LOST: our lease is gone, someone else owns the run now. */
export interface StopReason {
  kind: 'CANCELLED' | 'TIMED_OUT' | 'LOST'
  message: string
}

/**
 * How a worker stops one executing run: the executor races the kind against the stop
 * (see race), and the AbortSignal a kind may listen to is made only when the kind asks for it. Most
 * runs finish without ever being stopped or looked at, and a burn-down of short runs
 * paid an AbortController, a listener and a promise per run for nothing.
 */
export class RunStop {
  #reason: StopReason | undefined
  #controller: AbortController | undefined
  #reject: ((reason: StopReason) => void) | undefined

  /** The first reason given, or undefined while the run may go on. */
  get reason(): StopReason | undefined {
    return this.#reason
  }

  /** Aborted with the reason once the run is stopped; made on first use. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#reason) this.#controller.abort(this.#reason)
    }
    return this.#controller.signal
  }

  /**
   * What `work` settles to, or a rejection with the reason as soon as the run is stopped,
   * whichever comes first: a kind that ignores its signal is still cut off.
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.#reason) {
      work.catch(() => {})
      return Promise.reject(this.#reason)
    }
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject
      work.then(resolve, reject)
    })
  }

  /** Stops the run; later reasons are ignored (the first one is what the run records). */
  stop(reason: StopReason): void {
    if (this.#reason) return
    this.#reason = reason
    this.#controller?.abort(reason)
    this.#reject?.(reason)
  }
}
