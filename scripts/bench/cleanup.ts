/** Steps that undo what the bench started, run once, in reverse order of registration. */
export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<unknown> | unknown }> = [];
  private running: Promise<void> | undefined;

  add(name: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ name, run });
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          process.stderr.write(`cleanup (${step.name}) failed: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    })();
    return this.running;
  }
}
