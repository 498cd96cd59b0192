import { spawnSync } from 'node:child_process';
import type { AuditEvent, AuditVerification } from '../../src/audit/index.ts';
import { BIN } from './harness.ts';

/** Runs `concord audit <command> --config <file> ...` and answers its exit status and output. */
export function concordAudit(command: 'query' | 'verify', config: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const { status, stdout, stderr } = spawnSync(process.execPath, [BIN, 'audit', command, '--config', config, ...args], { encoding: 'utf8' });
  return { status, stdout, stderr };
}

/** The events `concord audit query` prints, one JSON line each. */
export function auditQuery(config: string, args: string[] = []): AuditEvent[] {
  const { status, stdout, stderr } = concordAudit('query', config, args);
  if (status !== 0) throw new Error(`concord audit query exited with ${String(status)}: ${stderr}`);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

/** What `concord audit verify` reports, with its exit status and message. */
export function auditVerify(config: string, args: string[] = []): { status: number | null; report: AuditVerification; stderr: string } {
  const { status, stdout, stderr } = concordAudit('verify', config, args);
  return { status, report: JSON.parse(stdout) as AuditVerification, stderr };
}
