import { randomBytes, randomUUID } from 'node:crypto';
import type { HsmContents, HsmKey, HsmUser } from './hsm-contents.ts';
import { HsmUserError } from './hsm-users.ts';

/** key_mgmt_util's key types: -t 16 generic secret, 21 triple DES, 31 AES. */
const SYMMETRIC_TYPES: Readonly<Record<number, { name: string; sizes: (bytes: number) => boolean }>> = {
  16: { name: 'GENERIC_SECRET', sizes: (bytes) => bytes >= 1 && bytes <= 800 },
  21: { name: 'DES3', sizes: (bytes) => bytes === 24 },
  31: { name: 'AES', sizes: (bytes) => bytes === 16 || bytes === 24 || bytes === 32 },
};

/** A key as syncKey carries it between clusters of one lineage: users by name, material sealed by the caller. */
export interface PortableKey {
  origin: string;
  owner: string;
  sharedWith: string[];
  attributes: HsmKey['attributes'];
  material: Buffer;
}

function keyOf(contents: HsmContents, handle: number): HsmKey {
  const key = contents.keys.find((k) => k.handle === handle);
  if (!key) throw new HsmUserError(`key handle ${handle} does not exist`);
  return key;
}

const userName = (contents: HsmContents, id: number): string => contents.users.find((u) => u.id === id)?.name ?? '';

/** Only crypto users make keys; the maker owns the key (genSymKey). */
export function generateSymmetricKey(
  contents: HsmContents,
  actor: HsmUser,
  options: { type: number; bytes: number; label: string; extractable?: boolean; token?: boolean },
): HsmKey {
  if (actor.type !== 'CU') throw new HsmUserError('only a crypto user creates keys');
  const type = SYMMETRIC_TYPES[options.type];
  if (!type) throw new HsmUserError(`key type ${options.type} is not a symmetric key type (16, 21, 31)`);
  if (!type.sizes(options.bytes)) throw new HsmUserError(`a ${type.name} key cannot have ${options.bytes} bytes`);
  const key: HsmKey = {
    handle: contents.nextHandle++,
    origin: randomUUID(),
    owner: actor.id,
    sharedWith: [],
    attributes: {
      label: options.label,
      class: 'SECRET_KEY',
      keyType: type.name,
      valueLen: options.bytes,
      extractable: options.extractable ?? true,
      token: options.token ?? true,
    },
    material: randomBytes(options.bytes).toString('base64'),
  };
  contents.keys.push(key);
  return key;
}

/** findAllKeys: the handles a user owns (o) or is shared (s), in handle order. */
export function keysOf(contents: HsmContents, userId: number): { handle: number; relation: 'o' | 's' }[] {
  return contents.keys
    .filter((key) => key.owner === userId || key.sharedWith.includes(userId))
    .sort((a, b) => a.handle - b.handle)
    .map((key) => ({ handle: key.handle, relation: key.owner === userId ? 'o' : 's' }));
}

/** shareKey: only the owner shares a key or stops sharing it, and only with crypto users. */
export function shareKey(contents: HsmContents, actor: HsmUser, handle: number, userIds: number[], share: boolean): void {
  const key = keyOf(contents, handle);
  if (key.owner !== actor.id) throw new HsmUserError(`only the owner of key ${handle} shares it`);
  for (const id of userIds) {
    if (contents.users.find((u) => u.id === id)?.type !== 'CU') throw new HsmUserError(`user ${id} is not a crypto user`);
  }
  key.sharedWith = share ? [...new Set([...key.sharedWith, ...userIds])] : key.sharedWith.filter((id) => !userIds.includes(id));
}

/**
 * The source half of syncKey: a crypto officer may take any key, a crypto user only one it
 * owns. Users travel by name, so the destination maps them to its own IDs.
 */
export function exportKey(contents: HsmContents, actor: HsmUser, handle: number): PortableKey {
  const key = keyOf(contents, handle);
  if (actor.type === 'CU' && key.owner !== actor.id)
    throw new HsmUserError(`key ${handle} is not owned by ${actor.name}; a crypto user syncs only its own keys`);
  if (actor.type !== 'CU' && actor.type !== 'CO' && actor.type !== 'PCO') throw new HsmUserError('only crypto officers and crypto users sync keys');
  return {
    origin: key.origin,
    owner: userName(contents, key.owner),
    sharedWith: key.sharedWith.map((id) => userName(contents, id)),
    attributes: key.attributes,
    material: Buffer.from(key.material, 'base64'),
  };
}

/**
 * The destination half of syncKey: the key keeps its attributes, owner and sharing, under a
 * handle of this cluster; a key synced before is found again by its origin, so syncing twice
 * changes nothing. Returns the handle here.
 */
export function importKey(contents: HsmContents, key: PortableKey): number {
  const known = contents.keys.find((k) => k.origin === key.origin);
  if (known) return known.handle;
  const idOf = (name: string): number => {
    const user = contents.users.find((u) => u.name === name);
    if (!user) throw new HsmUserError(`user ${name} does not exist on the destination: the clusters' users differ`);
    return user.id;
  };
  const handle = contents.nextHandle++;
  contents.keys.push({
    handle,
    origin: key.origin,
    owner: idOf(key.owner),
    sharedWith: key.sharedWith.map(idOf),
    attributes: key.attributes,
    material: key.material.toString('base64'),
  });
  return handle;
}
