import { randomBytes } from 'node:crypto';

export type UnitRole = 'operational' | 'recovery';
export type UnitMode = 'imprint' | 'normal';
export type RegisterName = 'new' | 'current' | 'old';
export type RegisterState = 'empty' | 'full-uncommitted' | 'full-committed' | 'valid';
export const REGISTER_NAMES: readonly RegisterName[] = ['new', 'current', 'old'];

export const MAX_ADMINS = 8;
export const MAX_ADMIN_NAME = 30;

export interface Admin {
  name: string;
  /** Base64 of the administrator's P-256 public key (SPKI DER). */
  publicKey: string;
}

export interface Register {
  state: RegisterState;
  /** Hex verification pattern of the value held; absent when empty. */
  pattern?: string;
  /** The backend's name for the key object; never leaves the unit. */
  handle?: string;
}

/** Everything a unit knows besides its secrets; a backend keeps it sealed with them. */
export interface UnitState {
  version: 1;
  id: string;
  role: UnitRole;
  mode: UnitMode;
  admins: Admin[];
  /** 0 while in imprint mode, then 1..8. */
  signatureThreshold: number;
  revocationThreshold: number;
  registers: Record<RegisterName, Register>;
  /** What the next signed command must be bound to; replaced by every accepted command. */
  nonce: string;
  /** Counts register changes, so callers can drop material cached under a register that changed. */
  generation: number;
}

export const emptyRegister = (): Register => ({ state: 'empty' });
export const freshNonce = (): string => randomBytes(16).toString('hex');

export function initialState(id: string, role: UnitRole): UnitState {
  return {
    version: 1,
    id,
    role,
    mode: 'imprint',
    admins: [],
    signatureThreshold: 0,
    revocationThreshold: 0,
    registers: { new: emptyRegister(), current: emptyRegister(), old: emptyRegister() },
    nonce: freshNonce(),
    generation: 0,
  };
}

/** What the management API shows of a unit: no handles. */
export interface UnitInfo {
  id: string;
  role: UnitRole;
  backend: string;
  mode: UnitMode;
  admins: Admin[];
  signatureThreshold: number;
  revocationThreshold: number;
  registers: Record<RegisterName, { state: RegisterState; pattern?: string }>;
  nonce: string;
  /** Base64 uncompressed P-256 point of the unit's transport key, for master key transfers. */
  transportKey: string;
}

export function publicRegisters(state: UnitState): UnitInfo['registers'] {
  const view = (r: Register) => (r.pattern ? { state: r.state, pattern: r.pattern } : { state: r.state });
  return { new: view(state.registers.new), current: view(state.registers.current), old: view(state.registers.old) };
}
