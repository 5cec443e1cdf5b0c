import { condition } from '@temporalio/workflow';

/**
 * A durable timer whose deadline can move while it runs: the `UpdatableTimer` of
 * temporalio/samples-typescript (timer-examples), with one addition: `until(done)` also stops waiting
 * when `done()` becomes true, the way `condition(fn, timeout)` does. Moving the deadline cancels the
 * running server timer and starts one for the new deadline.
 */
export class UpdatableTimer {
  #deadline: number;
  #moved = false;

  /** `deadline`: epoch milliseconds, in workflow time. */
  constructor(deadline: number) {
    this.#deadline = deadline;
  }

  get deadline(): number {
    return this.#deadline;
  }

  set deadline(value: number) {
    this.#deadline = value;
    this.#moved = true;
  }

  /**
   * Waits until `done()` is true or the deadline passes, following the deadline when it moves.
   * Like `condition(fn, timeout)`: resolves true if `done()` came first, false if the deadline passed.
   */
  async until(done: () => boolean): Promise<boolean> {
    for (;;) {
      this.#moved = false;
      // At least 1 ms: a deadline already past still goes through a (tiny) durable timer.
      const woken = await condition(() => this.#moved || done(), Math.max(this.#deadline - Date.now(), 1));
      if (!woken) return false;
      if (done()) return true;
    }
  }
}
