import { spawn } from 'node:child_process';
import { CLI } from './source-process';

/**
 * Runs the built CLI (`node dist/services/bin/tandem.js …`) to completion and
 * returns its exit code and output, for end-to-end assertions. Asynchronous
 * (not spawnSync) so the test process's own clients keep running meanwhile.
 */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`tandem ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 120_000} ms\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 120_000);
    proc.once('error', reject);
    // 'close', not 'exit': at 'exit' the child's stdout may still hold unread data (a large --json report came back cut).
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout, stderr });
    });
  });
}
