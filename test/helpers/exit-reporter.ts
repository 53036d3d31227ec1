/**
 * A node:test reporter that adds one thing to spec's output: when a test file's process fails outside its
 * tests (a crash, a signal, an exit code while every test passed), spec prints only 'test failed'. This
 * prints the file with the process's exit code and signal, so a crash (SIGSEGV, SIGABRT, SIGKILL) is told
 * apart from an error the file raised between its tests.
 */
import type { TestEvent } from 'node:test/reporters';

interface ProcessFailure {
  failureType?: string;
  exitCode?: number | null;
  signal?: string | null;
}

async function* exitReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    // Defensive: a reporter that throws would fail the whole pass.
    const error = event.data.details?.error as unknown;
    if (typeof error !== 'object' || error === null || !('exitCode' in error)) continue;
    const failure = error as ProcessFailure;
    if (failure.failureType !== 'testCodeFailure') continue;
    yield `✖ the process of ${event.data.name} ended outside its tests: exit code ${failure.exitCode ?? 'none'}, signal ${failure.signal ?? 'none'}\n`;
  }
}

// node loads a reporter as the module itself (CommonJS): the function is the export.
export = exitReporter;
