import { useState } from 'preact/hooks';
import type { KeySpec, KeyUsageType } from '../src/kms/index.ts';
import { kms } from './api.ts';
import { ErrorMessage, useAction } from './components.tsx';

/** The usages each key spec allows, as AWS KMS documents them; the first is the default. */
const USAGES: Record<string, KeyUsageType[]> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
};

export function CreateKeyPage() {
  const [spec, setSpec] = useState('SYMMETRIC_DEFAULT');
  const [usage, setUsage] = useState<KeyUsageType>('ENCRYPT_DECRYPT');
  const [description, setDescription] = useState('');
  const [alias, setAlias] = useState('');
  const [multiRegion, setMultiRegion] = useState(false);
  const action = useAction();
  const usages = USAGES[spec]!;
  return (
    <form
      class="panel form"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const { KeyMetadata } = await kms('CreateKey', {
            KeySpec: spec as KeySpec,
            KeyUsage: usage,
            Description: description,
            MultiRegion: multiRegion,
          });
          const keyId = KeyMetadata!.KeyId;
          if (alias) await kms('CreateAlias', { AliasName: `alias/${alias}`, TargetKeyId: keyId });
          location.hash = `#/keys/${encodeURIComponent(keyId)}`;
        });
      }}
    >
      <label for="key-spec">Key spec</label>
      <select
        id="key-spec"
        value={spec}
        onChange={(event) => {
          setSpec(event.currentTarget.value);
          setUsage(USAGES[event.currentTarget.value]![0]!);
        }}
      >
        {Object.keys(USAGES).map((s) => (
          <option key={s}>{s}</option>
        ))}
      </select>
      <fieldset>
        <legend>Key usage</legend>
        {usages.map((u) => (
          <label key={u} class="inline">
            <input
              type="radio"
              name="usage"
              value={u}
              checked={usage === u}
              onChange={() => {
                setUsage(u);
              }}
            />{' '}
            {u}
          </label>
        ))}
      </fieldset>
      <label for="description">Description</label>
      <input
        id="description"
        value={description}
        maxLength={8192}
        onInput={(event) => {
          setDescription(event.currentTarget.value);
        }}
      />
      <label for="alias">Alias (optional, without alias/)</label>
      <input
        id="alias"
        value={alias}
        maxLength={250}
        pattern="[a-zA-Z0-9:/_\-]+"
        onInput={(event) => {
          setAlias(event.currentTarget.value);
        }}
      />
      <label class="inline">
        <input
          type="checkbox"
          checked={multiRegion}
          onChange={(event) => {
            setMultiRegion(event.currentTarget.checked);
          }}
        />{' '}
        Multi-Region key
      </label>
      {action.error && <ErrorMessage error={action.error} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Creating…' : 'Create key'}
        </button>
        <a class="button" href="#/keys">
          Cancel
        </a>
      </div>
    </form>
  );
}
