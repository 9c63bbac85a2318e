/**
 * Process slots (CC_EXECUTOR_MAX_PROCESSES): one per running process, whoever started it — a
 * command, a claude task, each running task of a task list (a parallel group takes one per task).
 * Requests that must answer at once take a slot or are refused (tryTake); tasks of a running list
 * wait for one (acquire), first come first served.
 */
export class ProcessSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Every slot is taken (a new request would be refused). */
  get full(): boolean {
    return this.used >= this.max;
  }

  /** A slot now, or undefined when all are taken. Call the returned function exactly once to give it back. */
  tryTake(): (() => void) | undefined {
    if (this.used >= this.max || this.waiting.length > 0) return undefined;
    return this.grant();
  }

  /**
   * A slot as soon as one is free. `abandon` (e.g. the task was canceled while waiting) resolves
   * the wait with undefined instead, taking no slot.
   */
  acquire(abandon?: Promise<unknown>): Promise<(() => void) | undefined> {
    if (this.used < this.max && this.waiting.length === 0) return Promise.resolve(this.grant());
    return new Promise((resolve) => {
      const turn = () => resolve(this.grant());
      this.waiting.push(turn);
      void abandon?.then(() => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          resolve(undefined);
        }
      });
    });
  }

  private grant(): () => void {
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      this.waiting.shift()?.();
    };
  }
}
