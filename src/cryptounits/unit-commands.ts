import type { TransferBinding } from './key-transfer.ts';
import { isP256PublicKey, type CommandArgs, type CommandName } from './signed-command.ts';
import { CryptoUnitError } from './unit-error.ts';
import { emptyRegister, initialState, MAX_ADMIN_NAME, MAX_ADMINS, type Register, type RegisterName, type UnitState } from './unit-state.ts';
import type { UnitVault } from './unit-vault.ts';
import { PATTERN_LENGTH } from './wrapped-key.ts';

const IMPRINT_ALLOWED: readonly CommandName[] = ['admin-add', 'admin-remove', 'thresholds-set', 'zeroize'];

/** How many administrators must sign a command on a unit in this mode with these thresholds (what concord tke asks for). */
export function signaturesNeeded(
  unit: Pick<UnitState, 'mode' | 'signatureThreshold' | 'revocationThreshold'>,
  command: CommandName,
  args: CommandArgs,
): number {
  // A unit in imprint mode holds no master key (no command loads one there) and has no
  // threshold yet, so adding, removing administrators and zeroizing take none, as in IBM's TKE;
  // leaving imprint mode takes as many as the signature threshold it sets.
  if (unit.mode === 'imprint') return command === 'thresholds-set' ? Number(args.signature) : 0;
  return command === 'admin-remove' ? unit.revocationThreshold : unit.signatureThreshold;
}

/** signaturesNeeded, once the unit has refused a command its present state does not allow. */
export function requiredSignatures(state: UnitState, command: CommandName, args: CommandArgs): number {
  if (state.mode === 'imprint') {
    if (!IMPRINT_ALLOWED.includes(command)) {
      throw new CryptoUnitError(
        'InvalidState',
        `Unit ${state.id} is in imprint mode: add administrators with 'concord tke cryptounit-admin-add' and set its thresholds with 'concord tke cryptounit-thrhld-set' first.`,
      );
    }
    if (command === 'thresholds-set') thresholdArgs(state, args);
  }
  return signaturesNeeded(state, command, args);
}

/** The unit's next state after a command whose signatures were checked; vault work for master keys happens here. */
export async function applyCommand(
  state: UnitState,
  command: CommandName,
  args: CommandArgs,
  vault: UnitVault,
): Promise<{ next: UnitState; result?: Record<string, string> }> {
  const registers = state.registers;
  switch (command) {
    case 'admin-add': {
      const name = stringArg(args, 'name');
      const publicKey = stringArg(args, 'publicKey');
      if (name.length === 0 || name.length > MAX_ADMIN_NAME) invalid(`An administrator name has 1 to ${MAX_ADMIN_NAME} characters.`);
      if (!isP256PublicKey(publicKey)) invalid('An administrator public key is a P-256 key (base64 SPKI DER).');
      if (state.admins.some((a) => a.publicKey === publicKey)) invalid(`That key is already an administrator of unit ${state.id}.`);
      if (state.admins.length >= MAX_ADMINS) invalid(`Unit ${state.id} already has ${MAX_ADMINS} administrators; remove one first.`);
      return { next: { ...state, admins: [...state.admins, { name, publicKey }] } };
    }
    case 'admin-remove': {
      const publicKey = stringArg(args, 'publicKey');
      if (!state.admins.some((a) => a.publicKey === publicKey)) invalid(`That key is not an administrator of unit ${state.id}.`);
      const admins = state.admins.filter((a) => a.publicKey !== publicKey);
      if (admins.length < Math.max(state.signatureThreshold, state.revocationThreshold)) {
        refuse(
          `Removing the administrator would leave unit ${state.id} fewer administrators than its thresholds; lower them with 'concord tke cryptounit-thrhld-set' first.`,
        );
      }
      return { next: { ...state, admins } };
    }
    case 'thresholds-set': {
      const { signature, revocation } = thresholdArgs(state, args);
      return { next: { ...state, mode: 'normal', signatureThreshold: signature, revocationThreshold: revocation } };
    }
    case 'mk-generate': {
      if (state.role !== 'recovery') refuse(`Unit ${state.id} is operational; new master keys are created in a recovery unit.`);
      requireState(state, 'new', ['empty']);
      const { handle, pattern } = await vault.generateKey();
      return { next: withRegister(state, 'new', { state: 'full-uncommitted', pattern: pattern.toString('hex'), handle }) };
    }
    case 'mk-export': {
      const name = registerArg(args, ['new', 'current']);
      const register = registers[name];
      if (register.state === 'empty') refuse(`The ${name} master key register of unit ${state.id} is empty; there is nothing to transfer.`);
      const binding = { exporter: state.id, importer: unitIdArg(args, 'importerUnit'), nonce: nonceArg(args, 'importerNonce') };
      const wrapped = await vault.exportKey(register.handle!, transportArg(args), binding);
      return { next: state, result: { wrapped: wrapped.toString('base64'), pattern: register.pattern! } };
    }
    case 'mk-load': {
      requireState(state, 'new', ['empty']);
      const pattern = patternArg(args);
      const handle = await importValue(state, args, vault);
      return { next: withRegister(state, 'new', { state: 'full-uncommitted', pattern, handle }) };
    }
    case 'mk-commit':
      requireState(state, 'new', ['full-uncommitted']);
      return { next: withRegister(state, 'new', { ...registers.new, state: 'full-committed' }) };
    case 'mk-set': {
      requireState(state, 'new', ['full-committed']);
      const old = registers.current.state === 'valid' ? registers.current : emptyRegister();
      return { next: { ...state, registers: { new: emptyRegister(), current: { ...registers.new, state: 'valid' }, old } } };
    }
    case 'mk-recover': {
      const pattern = patternArg(args);
      const handle = await importValue(state, args, vault);
      const current = registers.current;
      // The value it replaces stays usable from the old register until stored keys are re-wrapped.
      const old = current.state === 'valid' && current.pattern !== pattern ? current : registers.old;
      return { next: { ...state, registers: { ...registers, current: { state: 'valid', pattern, handle }, old } } };
    }
    case 'zeroize':
      return { next: { ...initialState(state.id, state.role), generation: state.generation } };
  }
}

/** Takes in a wrapped master key, which the exporter bound to this unit and this command's nonce. */
function importValue(state: UnitState, args: CommandArgs, vault: UnitVault): Promise<string> {
  const binding: TransferBinding = { exporter: unitIdArg(args, 'exporterUnit'), importer: state.id, nonce: state.nonce };
  return vault.importKey(transportArg(args, 'exporter'), bufferArg(args, 'wrapped'), binding);
}

function thresholdArgs(state: UnitState, args: CommandArgs): { signature: number; revocation: number } {
  const signature = intArg(args, 'signature');
  const revocation = intArg(args, 'revocation');
  for (const value of [signature, revocation]) {
    if (value < 1 || value > MAX_ADMINS) invalid(`Thresholds are between 1 and ${MAX_ADMINS}.`);
    if (value > state.admins.length) invalid(`Unit ${state.id} has ${state.admins.length} administrator(s); a threshold cannot be higher.`);
  }
  return { signature, revocation };
}

function requireState(state: UnitState, name: RegisterName, allowed: Register['state'][]): void {
  const actual = state.registers[name].state;
  if (allowed.includes(actual)) return;
  const hint: Record<string, string> = {
    'full-uncommitted': 'commit it (auto-mk-rotate resumes where it stopped)',
    'full-committed': 'set it as current (auto-mk-rotate resumes where it stopped)',
    empty: 'load a master key into it first',
  };
  refuse(
    `The ${name} master key register of unit ${state.id} is ${actual}, not ${allowed.join(' or ')}: ${hint[actual] ?? 'check the unit with cryptounit-compare'}.`,
  );
}

const withRegister = (state: UnitState, name: RegisterName, register: Register): UnitState => ({
  ...state,
  registers: { ...state.registers, [name]: register },
});

function invalid(message: string): never {
  throw new CryptoUnitError('InvalidRequest', message);
}

function refuse(message: string): never {
  throw new CryptoUnitError('InvalidState', message);
}

function stringArg(args: CommandArgs, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') invalid(`Argument '${name}' must be a string.`);
  return value;
}

function intArg(args: CommandArgs, name: string): number {
  const value = args[name];
  if (typeof value !== 'number' || !Number.isInteger(value)) invalid(`Argument '${name}' must be an integer.`);
  return value;
}

function bufferArg(args: CommandArgs, name: string): Buffer {
  return Buffer.from(stringArg(args, name), 'base64');
}

function transportArg(args: CommandArgs, name = 'importer'): Buffer {
  const key = bufferArg(args, name);
  if (key.length !== 65 || key[0] !== 4) invalid(`Argument '${name}' must be a unit transport key (uncompressed P-256 point).`);
  return key;
}

function unitIdArg(args: CommandArgs, name: string): string {
  const id = stringArg(args, name);
  if (id.length === 0 || id.length > 64) invalid(`Argument '${name}' must be a crypto unit ID.`);
  return id;
}

function nonceArg(args: CommandArgs, name: string): string {
  const nonce = stringArg(args, name);
  if (!/^[0-9a-f]{32}$/.test(nonce)) invalid(`Argument '${name}' must be a crypto unit nonce.`);
  return nonce;
}

function patternArg(args: CommandArgs): string {
  const pattern = stringArg(args, 'pattern');
  if (!new RegExp(`^[0-9a-f]{${PATTERN_LENGTH * 2}}$`).test(pattern)) invalid("Argument 'pattern' must be a verification pattern.");
  return pattern;
}

function registerArg(args: CommandArgs, allowed: RegisterName[]): RegisterName {
  const value = stringArg(args, 'register');
  if (!allowed.includes(value as RegisterName)) invalid(`Argument 'register' must be one of ${allowed.join(', ')}.`);
  return value as RegisterName;
}
