import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** Where a shell reads its commands: a terminal (prompt, line editing, history), piped stdin, or -c. */
export interface ShellInput {
  readonly interactive: boolean;
  /** The next line, or undefined at the end of the input. */
  next(prompt: string): Promise<string | undefined>;
  close(): void;
}

/** How both shells' help begins, as AWS's tools print it. */
export const HELP_HEADER = `
Help Commands Available:

Syntax: <command> -h

   Command               Description
   =======               ===========
   exit                  Exits this application
   help                  Displays this information
`;

/** Commands whose arguments hold passwords: they never reach the history file. */
const SECRET = /^\s*(loginHSM|createUser|changePswd)\b/i;
const HISTORY_SIZE = 500;

/** Commands from -c: separated by semicolons, as `cmd1; cmd2`. */
export function commandLineInput(commands: string): ShellInput {
  const lines = commands.split(';').map((line) => line.trim());
  return { interactive: false, next: () => Promise.resolve(lines.shift()), close: () => undefined };
}

/**
 * Commands from stdin: on a terminal with a prompt and readline's line editing, the history kept
 * in `historyFile` (0600, passwords left out); otherwise one command a line.
 */
export function stdinInput(historyFile = join(homedir(), '.concord', 'hsm-shell-history')): ShellInput {
  if (process.stdin.isTTY) {
    let history: string[] = [];
    try {
      history = readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).reverse();
    } catch {
      history = [];
    }
    const rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      history,
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
    });
    let ended = false;
    let waiting: ((line: string | undefined) => void) | undefined;
    rl.on('close', () => {
      ended = true;
      waiting?.(undefined);
    });
    return {
      interactive: true,
      next: (prompt) =>
        ended
          ? Promise.resolve(undefined)
          : new Promise((resolve) => {
              waiting = resolve;
              rl.question(prompt, resolve);
            }),
      close: () => {
        saveHistory(rl, historyFile);
        rl.close();
      },
    };
  }
  const rl = createInterface({ input: process.stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  return {
    interactive: false,
    next: async () => {
      const line = await lines.next();
      return line.done ? undefined : line.value;
    },
    close: () => {
      rl.close();
    },
  };
}

function saveHistory(rl: Interface, file: string): void {
  const kept = (rl as Interface & { history: string[] }).history.filter((line) => !SECRET.test(line));
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${[...kept].reverse().join('\n')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch {
    // A history that cannot be kept does not fail the shell.
  }
}
