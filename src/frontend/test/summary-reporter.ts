// Prints one closing line, "frontend: N passed, N failed[, N skipped]", after
// vitest's own summary, in the plain form CI logs are read for.
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: TaskLike[];
}

function count(tasks: TaskLike[], totals: { passed: number; failed: number; skipped: number }) {
  for (const t of tasks) {
    if (t.tasks) {
      count(t.tasks, totals);
    }
    if (t.type !== 'test') {
      continue;
    }
    const state = t.result?.state;
    if (state === 'pass') {
      totals.passed++;
    } else if (state === 'fail') {
      totals.failed++;
    } else {
      totals.skipped++;
    }
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: TaskLike[] = [], errors: unknown[] = []) {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that failed to load has no tests but must still count as failed.
    totals.failed += files.filter((f) => f.result?.state === 'fail' && !f.tasks?.length).length + errors.length;
    const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : '';
    process.stdout.write(`frontend: ${totals.passed} passed, ${totals.failed} failed${skipped}\n`);
  }
}
