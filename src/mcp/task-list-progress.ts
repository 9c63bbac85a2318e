import { formatDuration } from "../units.js";
import { describeBudget, type TaskList, type TaskListEvent } from "../tasks/index.js";
import { FractionalSteps, type ProgressReporter } from "./progress.js";
import { firstLine, taskActivityMessage } from "./progress-messages.js";

/**
 * run_task_list's progress: `progress` counts the tasks finished (completed, failed or skipped)
 * of `total`; signs of life of the running tasks move it by fractions in between (FractionalSteps),
 * so that every notification is an increase, as the spec requires.
 */
export class TaskListProgress {
  private readonly total: number;
  private readonly steps = new FractionalSteps();
  private finished = 0;
  /** Labels of the tasks running now, by task id, for the heartbeat. */
  private readonly running = new Map<string, string>();

  constructor(
    private readonly progress: ProgressReporter,
    private readonly list: TaskList,
  ) {
    this.total = list.tasks.length;
  }

  /** The run's events as notifications. */
  readonly onEvent = (ev: TaskListEvent): void => {
    switch (ev.type) {
      case "tasklist.started":
        // A resumed run: what its earlier run finished counts, so that progress still ends at total.
        this.finished = ev.already_done.length;
        this.send(this.steps.step(this.finished), `${this.total} task(s): ${this.list.name}${ev.resumed ? ` (resumed, ${this.finished} already done)` : ""}`);
        break;
      case "task.started":
        this.running.set(ev.task_id, this.label(ev.index, ev.title));
        this.send(this.steps.tick(), `${this.label(ev.index, ev.title)} started${ev.attempt > 1 ? ` (attempt ${ev.attempt})` : ""}`);
        break;
      case "task.activity": {
        const message = taskActivityMessage(ev.activity);
        if (message) this.send(this.steps.tick(), `task ${ev.index}/${this.total}: ${message}`);
        break;
      }
      case "task.completed":
        this.running.delete(ev.outcome.id);
        this.send(this.steps.step(++this.finished), `${this.label(ev.outcome.index, ev.outcome.title)} completed`);
        break;
      case "task.failed":
        if (ev.will_retry) {
          this.send(this.steps.tick(), `${this.label(ev.outcome.index, ev.outcome.title)} ${ev.outcome.status}; retrying`);
          break;
        }
        this.running.delete(ev.outcome.id);
        this.send(this.steps.step(++this.finished), `${this.label(ev.outcome.index, ev.outcome.title)} ${ev.outcome.status}${ev.outcome.message ? `: ${firstLine(ev.outcome.message, 120)}` : ""}`);
        break;
      case "task.skipped":
        this.send(this.steps.step(++this.finished), `${this.label(ev.index, ev.title)} skipped: ${ev.reason}`);
        break;
      case "task.merge":
        this.send(this.steps.tick(), `${this.label(ev.merge.index, ev.merge.title)} merge ${ev.merge.status}${ev.merge.message ? `: ${firstLine(ev.merge.message, 200)}` : ""}`);
        break;
      case "tasklist.budget":
        this.send(this.steps.tick(), `budget: ${describeBudget(ev.budget)}`);
        break;
      case "tasklist.completed":
        break;
    }
  };

  /** A sign of life every `ms` while the run goes on: what is finished, what runs. */
  heartbeat(ms: number): void {
    const startedAt = Date.now();
    this.progress.heartbeat(ms, () =>
      this.send(this.steps.tick(), `${this.finished}/${this.total} finished after ${formatDuration(Date.now() - startedAt)}${this.running.size ? `; running: ${[...this.running.values()].join(", ")}` : ""}`),
    );
  }

  private send(progress: number, message: string): void {
    this.progress.send(progress, this.total, message);
  }

  private label(index: number, title: string): string {
    return `task ${index}/${this.total} "${firstLine(title, 80)}"`;
  }
}
